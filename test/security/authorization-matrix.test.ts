import { startHarness, GROUPS, CHANNEL, type Harness } from '../helpers/harness';
import { cardText } from '../helpers/fake-connector';
import { TeamsClient, TENANT, users, personalChatOf, type TeamsUser } from '../helpers/teams-client';
import { aRequestIn } from '../helpers/builders';
import type { AccessRequest, Person } from '../../src/domain/request';
import type { AuditRecord } from '../../src/ports/store';
import { isBackground } from './background';

/**
 * Every verb × every actor × every state, through the real bot over HTTP: exactly the allowed
 * cells change the request; every other cell changes nothing, answers with the current card and
 * a short reason, and is audited as refused.
 *
 * The allowed cells are written out below from PRODUCT.md §2–§4 (and the lifecycle's documented
 * choices: a requester may release a grant still being added; a requester who is an approver may
 * deny or revoke their own request, never approve, claim or acknowledge it).
 */

const OTHER_TENANT = 'f0000000-0000-4000-8000-00000000bad1';

const VERBS = ['approve', 'deny', 'cancel', 'extend', 'release', 'revoke', 'acknowledge', 'claim'] as const;
type Verb = (typeof VERBS)[number];

const ACTORS = [
  'requester',
  'approver',
  'admin',
  'bystander',
  'other tenant',
  'requester who is an approver',
] as const;
type Actor = (typeof ACTORS)[number];

const STATES = [
  'pending',
  'pending, 1 of 2 (approver voted)',
  'approved',
  'active',
  'active, extension asked',
  'active break-glass',
  'expired',
  'expired break-glass',
  'released',
  'revoked',
  'denied',
  'cancelled',
  'timed_out',
  'failed',
] as const;
type State = (typeof STATES)[number];

/** The allowed cells, and the audit event each one writes. Everything else is refused. */
const ALLOWED: Record<Verb, Array<{ actors: Actor[]; states: State[]; event: string }>> = {
  approve: [
    { actors: ['approver'], states: ['pending'], event: 'approved' },
    { actors: ['approver'], states: ['active, extension asked'], event: 'extended' },
  ],
  deny: [
    { actors: ['approver', 'requester who is an approver'], states: ['pending'], event: 'denied' },
    {
      actors: ['approver', 'requester who is an approver'],
      states: ['active, extension asked'],
      event: 'extension_denied',
    },
  ],
  cancel: [
    {
      actors: ['requester', 'requester who is an approver'],
      states: ['pending', 'pending, 1 of 2 (approver voted)'],
      event: 'cancelled',
    },
  ],
  extend: [
    {
      actors: ['requester', 'requester who is an approver'],
      states: ['active', 'active break-glass'],
      event: 'extension_requested',
    },
  ],
  release: [
    {
      actors: ['requester', 'requester who is an approver'],
      states: ['approved', 'active', 'active, extension asked', 'active break-glass'],
      event: 'released',
    },
  ],
  revoke: [
    {
      actors: ['approver', 'admin', 'requester who is an approver'],
      states: ['approved', 'active', 'active, extension asked', 'active break-glass'],
      event: 'revoked',
    },
  ],
  acknowledge: [
    {
      actors: ['approver', 'admin'],
      states: ['active break-glass', 'expired break-glass'],
      event: 'acknowledged',
    },
  ],
  claim: [
    { actors: ['approver'], states: ['pending', 'pending, 1 of 2 (approver voted)'], event: 'claimed' },
  ],
};

function allowedEvent(verb: Verb, actor: Actor, state: State): string | undefined {
  return ALLOWED[verb].find((rule) => rule.actors.includes(actor) && rule.states.includes(state))?.event;
}

const person = (u: TeamsUser, upn: string): Person => ({ id: u.aadObjectId, name: u.name, upn });
const ALEX = person(users.alex, 'alex@example.com');
const MEGAN = person(users.megan, 'meganb@example.com');

/** Who clicks, as whom, from which tenant. megan is an approver of db-read (SRE group); patti an admin. */
const CLICKER: Record<Actor, { user: TeamsUser; tenant: string }> = {
  requester: { user: users.alex, tenant: TENANT },
  approver: { user: users.megan, tenant: TENANT },
  admin: { user: users.patti, tenant: TENANT },
  bystander: { user: users.lynne, tenant: TENANT },
  // The strongest case: an approver's own object id, sent from another tenant.
  'other tenant': { user: users.megan, tenant: OTHER_TENANT },
  'requester who is an approver': { user: users.megan, tenant: TENANT },
};

let seq = 0;
function fixture(state: State, requester: Person): AccessRequest {
  const id = `R-MX${(seq++).toString(36).toUpperCase().padStart(4, '0')}`;
  const base = {
    id,
    tenantId: TENANT,
    requester,
    createdAt: Date.now() - 10 * 60_000,
    justification: 'matrix fixture: checking the orders table',
  };
  const group = { alias: 'db-read', id: GROUPS.dbRead, displayName: 'Production DB (read)' };
  const status = state.split(/[ ,]/)[0] as AccessRequest['status'];
  const request = aRequestIn(status, { ...base, group, ticket: undefined });
  request.version = 0;
  if (state === 'pending, 1 of 2 (approver voted)')
    Object.assign(request, {
      approvalsRequired: 2,
      votes: [{ by: MEGAN, decision: 'approve', at: Date.now() - 60_000 }],
    });
  if (state === 'active, extension asked')
    request.pendingExtension = {
      by: requester,
      at: Date.now() - 60_000,
      addedMs: 30 * 60_000,
      reason: 'need a bit longer',
      votes: [],
      n: 1,
    };
  if (state.includes('break-glass'))
    Object.assign(request, {
      kind: 'break_glass',
      votes: [],
      resolution: { at: request.createdAt, reason: request.justification },
    });
  return request;
}

const DATA: Record<Verb, Record<string, string>> = {
  approve: {},
  deny: { reason: 'matrix says no' },
  cancel: {},
  extend: { duration: '30m', reason: 'matrix wants more' },
  release: {},
  revoke: { reason: 'matrix revokes' },
  acknowledge: {},
  claim: {},
};

/** The audit log without the reconciler's background records (they may land at any time). */
async function auditOf(h: Harness): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const record of h.bot.store.readAudit()) if (!isBackground(record)) out.push(record);
  return out;
}

/** The store's view of a request without the bookkeeping the worker may add later. */
const snapshot = (r: AccessRequest | undefined) => JSON.stringify(r);

interface Observation {
  verb: Verb;
  actor: Actor;
  state: State;
  changed: boolean;
}
const observed: Observation[] = [];

/** The store allows one open request per person and group: close what a cell left open before the next one is seeded. */
async function closeOpen(h: Harness): Promise<void> {
  for (const r of await h.bot.store.listOpen()) {
    await h.bot.store.commit({
      request: { ...r, status: 'cancelled' as AccessRequest['status'] },
      expectedVersion: r.version,
      events: [],
      effects: [],
    });
  }
}

describe.each(VERBS)('authorization matrix: %s', (verb) => {
  let h: Harness;
  const clients = new Map<string, TeamsClient>();

  beforeAll(async () => {
    h = await startHarness({ env: { MicrosoftAppTenantId: TENANT } });
  });
  afterAll(async () => {
    await h.close();
  });

  const cells = ACTORS.flatMap((actor) => STATES.map((state) => [actor, state] as const));

  it.each(cells)(`${verb} by %s on a request that is %s`, async (actor, state) => {
    const requester = actor === 'requester who is an approver' ? MEGAN : ALEX;
    await closeOpen(h);
    const seeded = await h.bot.store.commit({
      request: fixture(state, requester),
      expectedVersion: null,
      events: [],
      effects: [],
    });
    const before = snapshot(await h.bot.store.get(seeded.id));
    const auditBefore = (await auditOf(h)).length;
    const { user, tenant } = CLICKER[actor];
    const key = `${tenant}`;
    if (!clients.has(key)) clients.set(key, new TeamsClient(h.bot.url, h.connector.url, tenant));
    const teams = clients.get(key)!;
    const personal = verb === 'cancel' || verb === 'extend' || verb === 'release';
    const where = personal
      ? { conversationId: personalChatOf(user), personal: true }
      : { conversationId: CHANNEL.channelId };

    // A decision button names the decision its card showed: the one pending in that state (a
    // button for another one is refused whoever clicks it: see stale-decisions.test.ts).
    const subject =
      verb === 'approve' || verb === 'deny'
        ? { subject: state === 'active, extension asked' ? 'extension:1' : 'request' }
        : {};
    const res = await teams.click(user, verb, { requestId: seeded.id, ...DATA[verb], ...subject }, where);
    await h.bot.settled();

    expect(res.status).toBe(200);
    expect(res.body.statusCode).toBe(200);
    expect(res.body.type).toBe('application/vnd.microsoft.card.adaptive');
    const text = cardText(res.body.value);
    const after = await h.bot.store.get(seeded.id);
    const newAudit = (await auditOf(h)).slice(auditBefore);
    const expected = allowedEvent(verb, actor, state);
    observed.push({ verb, actor, state, changed: snapshot(after) !== before });

    if (expected) {
      expect(snapshot(after)).not.toBe(before);
      expect(after!.version).toBeGreaterThan(seeded.version);
      expect(
        newAudit.filter(
          (r) => r.requestId === seeded.id && r.type === expected && r.actor?.id === user.aadObjectId,
        ),
      ).toHaveLength(1);
      expect(newAudit.filter((r) => r.type === 'refused')).toEqual([]);
      return;
    }
    // Refused: nothing changed...
    expect(snapshot(after)).toBe(before);
    // ...exactly one audit record says who was refused what, and why...
    expect(newAudit).toHaveLength(1);
    const [refusal] = newAudit;
    expect(refusal).toMatchObject({ type: 'refused', requestId: seeded.id, detail: { action: verb } });
    expect(refusal!.reason).toBeTruthy();
    if (actor === 'other tenant') {
      expect(refusal!.actor).toBeUndefined();
      expect(refusal!.detail).toMatchObject({
        code: 'AUTH.WRONG_TENANT',
        claimed: { aadObjectId: user.aadObjectId, tenantId: OTHER_TENANT },
      });
      // ...another tenant learns nothing about the request...
      expect(text).toMatch(/another tenant/i);
      expect(text).not.toContain('matrix fixture');
      expect(text).not.toContain(requester.name);
    } else if (actor === 'bystander' && personal) {
      // ...a bystander clicking from their own chat (not the channel's card) learns only the status (finding 5 of issue 19).
      expect(refusal!.actor?.id).toBe(user.aadObjectId);
      expect(text).toContain(refusal!.reason!.slice(0, 40));
      expect(text).toContain(`Request ${seeded.id} is `);
      expect(text).not.toContain('matrix fixture');
      expect(text).not.toContain(requester.name);
    } else {
      expect(refusal!.actor?.id).toBe(user.aadObjectId);
      // ...and the answer is the current card with a short reason.
      expect(text).toContain(refusal!.reason!.slice(0, 40));
      expect(refusal!.reason!.length).toBeLessThan(300);
      expect(text).toMatch(/Production DB \(read\)|db-read/);
    }
  });
});

afterAll(() => {
  // The matrix as observed: one line per verb and actor, ✓ where the request changed.
  const lines = VERBS.flatMap((verb) =>
    ACTORS.map(
      (actor) =>
        `${verb.padEnd(12)}${actor.padEnd(30)}${STATES.map((state) => (observed.find((o) => o.verb === verb && o.actor === actor && o.state === state)?.changed ? '✓' : '·')).join(' ')}`,
    ),
  );
  if (process.env.TIMEBOX_PRINT_MATRIX)
    console.log(`${observed.length} cells; states: ${STATES.join(' | ')}\n${lines.join('\n')}`);
});

describe('authorization through chat commands: the same rules, refusals audited', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { MicrosoftAppTenantId: TENANT } });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ['a bystander', users.lynne, false],
    ['an approver', users.megan, false],
    ['an admin', users.patti, false],
    ['the requester', users.alex, true],
  ] as const)('"cancel <id>" by %s', async (_who, user, allowed) => {
    await closeOpen(h);
    const seeded = await h.bot.store.commit({
      request: fixture('pending', ALEX),
      expectedVersion: null,
      events: [],
      effects: [],
    });
    const auditBefore = (await auditOf(h)).length;
    await h.teams.say(user, `cancel ${seeded.id.toLowerCase()}`);
    await h.bot.settled();
    const after = await h.bot.store.get(seeded.id);
    const newAudit = (await auditOf(h)).slice(auditBefore);
    if (allowed) {
      expect(after?.status).toBe('cancelled');
      expect(newAudit.map((r) => r.type)).toContain('cancelled');
    } else {
      expect(after?.status).toBe('pending');
      expect(after?.version).toBe(seeded.version);
      expect(newAudit).toEqual([
        expect.objectContaining({
          type: 'refused',
          requestId: seeded.id,
          actor: expect.objectContaining({ id: user.aadObjectId }),
          detail: expect.objectContaining({ action: 'cancel', code: 'AUTH.NOT_REQUESTER' }),
        }),
      ]);
      const reply = h.connector.sentTo(personalChatOf(user)).at(-1);
      expect(reply?.activity.text).toMatch(/is not yours: only the person who asked for it can cancel it/i);
      expect(reply?.activity.text).not.toMatch(/alex/i); // the refusal names nobody (finding 5 of issue 19)
    }
  });

  it('"release" and "extend" act only on the sender\'s own grant: someone else\'s is out of reach', async () => {
    await closeOpen(h);
    const grant = await h.bot.store.commit({
      request: fixture('active', ALEX),
      expectedVersion: null,
      events: [],
      effects: [],
    });
    for (const text of ['release db-read', 'extend db-read by 30m']) {
      await h.teams.say(users.lynne, text);
      await h.bot.settled();
      expect(h.connector.sentTo(personalChatOf(users.lynne)).at(-1)?.activity.text).toMatch(
        /no active grant for db-read/i,
      );
    }
    expect((await h.bot.store.get(grant.id))?.version).toBe(grant.version);
  });
});
