import { startHarness, type Harness } from './harness';
import type { Overrides } from '../../src/main';
import { TeamsClient, TENANT, users } from './teams-client';
import { JwtChannel, LoopbackCredentialsFactory } from './jwt-channel';

export const APP_ID = '0b0b0b0b-1111-4222-8333-444444444444';
export const APP_PASSWORD = 'bot-app-password-S3cr3t-9f8e7d';

/**
 * The real bot in production mode (MicrosoftAppId, SingleTenant, MicrosoftAppTenantId), with
 * botbuilder's endpoints pointed at a JwtChannel on loopback, and a TeamsClient that signs every
 * activity as the Bot Connector would.
 */
export async function startProduction(
  extraEnv: Record<string, string> = {},
  channel?: JwtChannel,
  overrides: Overrides = {},
): Promise<{ h: Harness; channel: JwtChannel; teams: TeamsClient }> {
  const ch = channel ?? (await new JwtChannel().start());
  ch.clients.set(APP_ID, APP_PASSWORD);
  const h = await startHarness({
    env: {
      TIMEBOX_DEV: '',
      HOST: '127.0.0.1',
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      MicrosoftAppType: 'SingleTenant',
      MicrosoftAppTenantId: TENANT,
      ...ch.botEnv(),
      ...extraEnv,
    },
    overrides: { botCredentials: new LoopbackCredentialsFactory(APP_ID, APP_PASSWORD, TENANT), ...overrides },
  });
  const teams = new TeamsClient(h.bot.url, h.connector.url, TENANT, (activity) =>
    ch.token({ appId: APP_ID, serviceUrl: String(activity.serviceUrl) }),
  );
  return { h, channel: ch, teams };
}

export interface Snapshot {
  audit: number;
  directoryCalls: number;
  sent: number;
  created: number;
}

/** What the bot has done so far (background work, e.g. the reconciler's baselines, included). */
export async function snapshot(h: Harness): Promise<Snapshot> {
  await h.bot.settled();
  let audit = 0;
  for await (const _ of h.bot.store.readAudit()) audit++;
  return {
    audit,
    directoryCalls: h.directory.calls.length,
    sent: h.connector.sent.length,
    created: h.connector.created.length,
  };
}

/**
 * Nothing of the activity reached the bot's logic since `before`: no lookup of the sender in the
 * directory, no membership change, no request, no audit record, nothing learned, no reply.
 */
export async function expectNothingStored(h: Harness, before: Snapshot): Promise<void> {
  await h.bot.settled();
  expect(await h.bot.store.listOpen()).toEqual([]);
  const audit = [];
  for await (const record of h.bot.store.readAudit()) audit.push(record);
  // The reconciler audits its own background work (baselines, drift); nothing else may appear.
  expect(
    audit
      .slice(before.audit)
      .filter(
        (r) => !['baseline_recorded', 'drift_detected', 'drift_removed', 'reconciled'].includes(r.type),
      ),
  ).toEqual([]);
  expect(await h.bot.store.getServiceUrl(TENANT)).toBeUndefined();
  expect(await h.bot.store.getPersonalChat(users.alex.aadObjectId)).toBeUndefined();
  // The reconciler reads group members in the background; the sender is never looked up.
  expect(
    h.directory.calls
      .slice(before.directoryCalls)
      .filter((c) => c.method !== 'GET' || c.path.startsWith('/users')),
  ).toEqual([]);
  expect(h.connector.sent.slice(before.sent)).toEqual([]);
  expect(h.connector.created.slice(before.created)).toEqual([]);
}
