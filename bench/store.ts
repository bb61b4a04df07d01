/**
 * Store benchmark: what a decision costs with 1,000 and with 100,000 closed requests in
 * history, and how long start-up takes with each. The criterion: a decision with 100,000
 * costs at most twice what it costs with 1,000.
 *
 *   npx tsx bench/store.ts [--samples 400] [--small 1000] [--large 100000]
 *
 * A decision is `AccessService.decide` on a real LowdbStore in a temp dir: read the request,
 * check the approver, one conditional commit with its outbox effects and audit events (an
 * approval keeps the request open; a deny closes it into history). History and audit files
 * are seeded directly, with requests shaped like real closed ones.
 */
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AccessService } from '../src/app/access-service';
import { LowdbStore } from '../src/adapters/store/lowdb-store';
import { GENESIS_HASH, toAuditRecord } from '../src/adapters/store/audit-log';
import { encodeHistoryLine } from '../src/adapters/store/history';
import { validatePolicy } from '../src/domain/policy';
import type { AccessRequest, RequestEvent } from '../src/domain/request';
import { systemClock } from '../src/ports/clock';
import type { Directory } from '../src/ports/directory';

const arg = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const SAMPLES = arg('samples', 400);
const SMALL = arg('small', 1_000);
const LARGE = arg('large', 100_000);
const REQUESTERS = 500;

// Heap figures are taken after a full collection, so they show what the store keeps.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const GROUP_ID = 'b2000000-0000-4000-8000-000000000002';
const approver = {
  id: 'a1000000-0000-4000-8000-00000000b001',
  name: 'Megan Bowen',
  upn: 'meganb@example.com',
};
const policy = validatePolicy({
  approverChannels: { ops: { teamId: '19:team@thread.tacv2', channelId: '19:ops@thread.tacv2' } },
  groups: {
    'db-read': {
      groupId: GROUP_ID,
      displayName: 'Production DB (read)',
      approverChannel: 'ops',
      approvers: { users: [approver.upn] },
      maxDuration: '4h',
    },
  },
});

/** A directory that answers at once: the benchmark is about the store. */
const directory: Directory = {
  findUser: async () => undefined,
  findServicePrincipal: async () => undefined,
  revokeSignInSessions: async () => undefined,
  automaticReplies: async () => 'unknown' as const,
  isMember: async () => false,
  memberGroups: async () => [],
  addMember: async () => 'added',
  removeMember: async () => undefined,
  listMembers: async () => [],
  assignTimeBound: async () => undefined,
  extendTimeBound: async () => undefined,
  removeTimeBound: async () => undefined,
};

const requesterOf = (i: number) => ({
  id: `a1000000-0000-4000-8000-${String(i % REQUESTERS).padStart(12, '0')}`,
  name: `Person ${i % REQUESTERS}`,
  upn: `person${i % REQUESTERS}@example.com`,
});
const card = (n: number) => ({
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  conversationId: `19:ops@thread.tacv2;messageid=17000000${n}`,
  activityId: `17000000${n}`,
});

/** A closed request as a real expired one looks: votes, resolution, card locations, grant times. */
function closedRequest(i: number, at: number): AccessRequest {
  const createdAt = at - 3 * 3_600_000;
  const grantedAt = createdAt + 5 * 60_000;
  return {
    id: `R-B${String(i).padStart(7, '0')}`,
    version: 9,
    tenantId: 'c0000000-0000-4000-8000-000000000001',
    requester: requesterOf(i),
    group: { alias: 'db-read', id: GROUP_ID, displayName: 'Production DB (read)' },
    approverChannel: 'ops',
    durationMs: 3_600_000,
    justification:
      'Investigating INC-4711: slow checkout queries since the 13:30 deploy, need to read the orders table.',
    ticket: 'INC-4711',
    kind: 'standard',
    status: 'expired',
    createdAt,
    updatedAt: grantedAt + 3_600_000,
    approvalsRequired: 1,
    votes: [{ by: approver, decision: 'approve', at: grantedAt - 2_000 }],
    resolution: { at: grantedAt + 3_600_000, reason: 'The time was up.' },
    grantedAt,
    expiresAt: grantedAt + 3_600_000,
    standingMember: false,
    extensions: [],
    warnedAt: grantedAt + 3_000_000,
    membershipRemovedAt: grantedAt + 3_600_000,
    approvalCard: card(i),
    receiptCard: card(i + 1),
  };
}

/** History and audit files as `count` closed requests leave them (two history lines each, as after expiry). */
function seed(dir: string, count: number): void {
  const now = Date.now();
  const history: string[] = [];
  const audit: string[] = [];
  let prevHash = GENESIS_HASH;
  let seq = 0;
  for (let i = 0; i < count; i++) {
    const request = closedRequest(i, now - (count - i) * 60_000);
    const { membershipRemovedAt: _removed, ...expired } = request;
    history.push(encodeHistoryLine({ ...expired, version: 8 }), encodeHistoryLine(request));
    const events: RequestEvent[] = (
      ['submitted', 'approved', 'granted', 'warned', 'expired', 'member_removed'] as const
    ).map((type) => ({
      type,
      requestId: request.id,
      at: request.updatedAt,
      ...(type === 'approved' ? { actor: approver } : {}),
      ...(type === 'submitted' ? { actor: request.requester, reason: request.justification } : {}),
    }));
    for (const event of events) {
      const record = toAuditRecord(event, ++seq, prevHash);
      prevHash = record.hash;
      audit.push(JSON.stringify(record));
    }
  }
  writeFileSync(path.join(dir, 'history.jsonl'), history.join(''));
  writeFileSync(path.join(dir, 'audit.jsonl'), audit.length ? audit.join('\n') + '\n' : '');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface Result {
  closed: number;
  startMs: number;
  approve: number[];
  deny: number[];
  files: string;
  heap: number;
}

async function scenario(closed: number): Promise<Result> {
  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-bench-'));
  try {
    seed(dir, closed);
    const files = `history ${mb(statSync(path.join(dir, 'history.jsonl')).size)}, audit ${mb(statSync(path.join(dir, 'audit.jsonl')).size)}`;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const store = new LowdbStore(dir);
    await store.open();
    const startMs = performance.now() - t0;
    const service = new AccessService({ store, directory, policy, clock: systemClock });

    const approve: number[] = [];
    const deny: number[] = [];
    const warmUp = 30;
    for (let i = 0; i < SAMPLES + warmUp; i++) {
      const requester = { ...requesterOf(i), id: `a2000000-0000-4000-8000-${String(i).padStart(12, '0')}` };
      const { request } = await service.submit({
        requester,
        group: 'db-read',
        durationMs: 3_600_000,
        justification: 'bench',
      });
      const denying = i % 2 === 1;
      const t = performance.now();
      await service.decide(
        request.id,
        approver,
        denying ? 'deny' : 'approve',
        denying ? 'not now' : undefined,
      );
      const ms = performance.now() - t;
      if (i >= warmUp) (denying ? deny : approve).push(ms);
    }
    gc();
    const heap = process.memoryUsage().heapUsed - heapBefore;
    await store.close();
    return { closed, startMs, approve, deny, files, heap };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function line(r: Result): string {
  const all = [...r.approve, ...r.deny];
  return [
    `${r.closed.toLocaleString('en-US').padStart(7)} closed`,
    `decision median ${median(all).toFixed(2)} ms (p90 ${p90(all).toFixed(2)})`,
    `approve ${median(r.approve).toFixed(2)} ms, deny ${median(r.deny).toFixed(2)} ms`,
    `start-up ${r.startMs.toFixed(0)} ms`,
    `store heap +${mb(r.heap)}`,
    r.files,
  ].join(' | ');
}

async function main(): Promise<void> {
  console.log(
    `Timebox store benchmark: ${SAMPLES} decisions per run (half approvals, half denials), after 30 to warm up`,
  );
  const small = await scenario(SMALL);
  console.log(line(small));
  const large = await scenario(LARGE);
  console.log(line(large));
  const ratio = median([...large.approve, ...large.deny]) / median([...small.approve, ...small.deny]);
  const ok = ratio <= 2;
  console.log(
    `ratio (${LARGE.toLocaleString('en-US')} / ${SMALL.toLocaleString('en-US')}): ${ratio.toFixed(2)}× — criterion ≤ 2×: ${ok ? 'met' : 'NOT met'}`,
  );
  console.log(
    `start-up with ${LARGE.toLocaleString('en-US')} closed requests: ${large.startMs.toFixed(0)} ms`,
  );
  if (!ok) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
