import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  startLocalDirectory,
  type LocalDirectoryHandle,
  type LocalDirectorySeed,
} from '../../src/dev/local-directory/server';
import { startTimebox, type Overrides, type RunningTimebox } from '../../src/main';
import { loadConfig } from '../../src/config';
import type { PolicyInput } from '../../src/domain/policy';
import { silentLogger } from '../../src/ports/logger';
import type { AccessRequest } from '../../src/domain/request';
import type { AuditRecord } from '../../src/ports/store';
import { FakeConnector, waitFor } from './fake-connector';
import { TeamsClient, TENANT, users, type TeamsUser } from './teams-client';

/** UPNs as in examples/demo.directory.json. */
const upnOf = (key: string) =>
  ({
    alex: 'alex@example.com',
    megan: 'meganb@example.com',
    adele: 'adelev@example.com',
    isaiah: 'isaiah@example.com',
    patti: 'patti@example.com',
    lynne: 'lynner@example.com',
  })[key];

export const CHANNEL = { teamId: '19:team@thread.tacv2', channelId: '19:ops@thread.tacv2' };

export const GROUPS = {
  sandbox: 'b2000000-0000-4000-8000-000000000001',
  dbRead: 'b2000000-0000-4000-8000-000000000002',
  prodAdmin: 'b2000000-0000-4000-8000-000000000003',
  sre: 'b2000000-0000-4000-8000-000000000011',
  oncall: 'b2000000-0000-4000-8000-000000000012',
};

/** The demo directory (examples/demo.directory.json) plus an on-call group for auto-approve. */
export function testSeed(): LocalDirectorySeed {
  const seed = JSON.parse(
    readFileSync(path.join(__dirname, '../../examples/demo.directory.json'), 'utf8'),
  ) as LocalDirectorySeed;
  seed.groups.push({
    id: GROUPS.oncall,
    displayName: 'On-call',
    members: ['a1000000-0000-4000-8000-000000000004'],
  });
  return seed;
}

export function testPolicy(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    approverChannels: { ops: CHANNEL },
    admins: { users: ['patti@example.com'], groups: [] },
    defaults: {
      defaultDuration: '1h',
      maxDuration: '8h',
      pendingTimeout: '1h',
      remindAfter: '15m',
      expiryWarning: '1m',
      approvals: 1,
      requireJustification: true,
    },
    groups: {
      sandbox: {
        groupId: GROUPS.sandbox,
        displayName: 'Sandbox',
        approverChannel: 'ops',
        approvers: { users: ['alex@example.com'] },
        allowSelfApproval: true,
      },
      'db-read': {
        groupId: GROUPS.dbRead,
        displayName: 'Production DB (read)',
        approverChannel: 'ops',
        approvers: { groups: [GROUPS.sre] },
        maxDuration: '4h',
      },
      'prod-admin': {
        groupId: GROUPS.prodAdmin,
        displayName: 'Production admin',
        approverChannel: 'ops',
        approvers: { users: ['meganb@example.com', 'adelev@example.com', 'isaiah@example.com'] },
        approvals: 2,
        requireTicket: true,
        ticketPattern: '^INC-[0-9]+$',
        breakGlass: { maxDuration: '30m' },
        autoApprove: { requesterInGroups: [GROUPS.oncall], maxDuration: '30m' },
      },
    },
    ...overrides,
  };
}

export interface Harness {
  bot: RunningTimebox;
  connector: FakeConnector;
  directory: LocalDirectoryHandle;
  teams: TeamsClient;
  dataDir: string;
  /** Stops the bot (keeping data) and starts it again on the same data. */
  restart(overrides?: Overrides): Promise<void>;
  /**
   * Another bot process on the same configuration (with DATABASE_URL: a second replica on the
   * same database), the same connector and directory; stopped by `close`.
   */
  replica(overrides?: Overrides): Promise<RunningTimebox>;
  close(): Promise<void>;
  /** The audit log as the store reads it back. */
  audit(): Promise<AuditRecord[]>;
  /** `who` says `text` (a request) in chat; resolves with the open request once its approval card is posted. */
  ask(who: TeamsUser, text: string): Promise<AccessRequest>;
  /** `who` clicks `verb` on `request`'s approval card, as Teams sends it (the card's conversation and message). */
  clickOnCard(
    who: TeamsUser,
    verb: string,
    request: AccessRequest,
    data?: Record<string, unknown>,
  ): ReturnType<TeamsClient['click']>;
}

/**
 * The real bot over HTTP, with a fake Bot Connector and the local directory server as real
 * HTTP servers, wired by base URL as in production.
 */
export async function startHarness(
  options: {
    policy?: PolicyInput;
    seed?: LocalDirectorySeed;
    overrides?: Overrides;
    env?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'timebox-it-'));
  const policyFile = path.join(dataDir, 'policy.yaml');
  writeFileSync(policyFile, stringify(options.policy ?? testPolicy()));
  const connector = await new FakeConnector().start();
  connector.members = Object.entries(users).map(([key, u]) => ({
    id: u.id,
    name: u.name,
    aadObjectId: u.aadObjectId,
    userPrincipalName: upnOf(key),
  }));
  const directory = await startLocalDirectory({ seed: options.seed ?? testSeed() });
  const env = {
    TIMEBOX_DEV: '1',
    PORT: '0',
    TIMEBOX_POLICY: policyFile,
    TIMEBOX_DATA_DIR: path.join(dataDir, 'data'),
    GRAPH_BASE_URL: directory.url,
    LOG_LEVEL: 'silent',
    TIMEBOX_SHARED_CARD_BUTTONS: '0',
    ...options.env,
  };
  const start = (overrides?: Overrides) =>
    startTimebox(loadConfig(env), {
      logger: silentLogger,
      env,
      worker: { baseDelayMs: 50, maxDelayMs: 500 },
      ...options.overrides,
      ...overrides,
    });
  const replicas: RunningTimebox[] = [];
  const harness: Harness = {
    bot: await start(),
    connector,
    directory,
    teams: undefined as unknown as TeamsClient,
    dataDir,
    async restart(overrides) {
      await harness.bot.stop();
      harness.bot = await start(overrides);
      harness.teams = new TeamsClient(harness.bot.url, connector.url, TENANT);
    },
    async replica(overrides) {
      const replica = await start(overrides);
      replicas.push(replica);
      return replica;
    },
    async close() {
      await Promise.all(replicas.map((r) => r.stop()));
      await harness.bot.stop();
      await connector.stop();
      await directory.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async audit() {
      const records: AuditRecord[] = [];
      for await (const record of harness.bot.store.readAudit()) records.push(record);
      return records;
    },
    async ask(who, text) {
      await harness.teams.say(who, text);
      return waitFor(
        async () => (await harness.bot.store.listOpen()).find((r) => r.approvalCard),
        'approval card posted',
      );
    },
    clickOnCard(who, verb, request, data = {}) {
      const card = request.approvalCard!;
      return harness.teams.click(
        who,
        verb,
        { requestId: request.id, ...data },
        { conversationId: card.conversationId, replyToId: card.activityId },
      );
    },
  };
  harness.teams = new TeamsClient(harness.bot.url, connector.url, TENANT);
  return harness;
}
