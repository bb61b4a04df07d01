import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildBot, freePort, spawnBot } from '../chaos/bot-process';
import { startHarness, testPolicy, GROUPS, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';

/**
 * The reconciler (src/app/reconciler.ts): the store against the directory, at start and on a
 * schedule — lost adds and removals queued again, members no grant explains reported or removed.
 */
describe('reconciler', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const audit = () => h.audit();
  /** A membership added behind Timebox's back (an admin in the Entra portal). */
  const addBehindTheBack = async (groupId: string, userId: string) => {
    const res = await fetch(`${h.directory.url}/groups/${groupId}/members/$ref`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` }),
    });
    expect(res.status).toBe(204);
  };
  const baselines = () =>
    waitFor(
      async () => (await audit()).filter((r) => r.type === 'baseline_recorded').length === 3,
      'baselines recorded at start',
    );
  const alerts = () =>
    h.connector.created
      .filter((c) => typeof c.params.activity?.text === 'string')
      .map((c) => String(c.params.activity!.text));

  it('reports a member no grant explains once (audit + channel alert); standing members and grants are explained', async () => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    await baselines();
    // Lynne was in prod-admin when Timebox first saw it: standing. Alex holds sandbox by a grant.
    const request = await h.ask(users.alex, 'request sandbox for 1h because reconciler test');
    await h.clickOnCard(users.alex, 'approve', request);
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'active', 'grant active');
    // Megan is added to sandbox by someone else.
    await addBehindTheBack(GROUPS.sandbox, users.megan.aadObjectId);

    const report = await h.bot.reconciler.runOnce();
    expect(report.errors).toEqual([]);
    const drift = report.findings.filter((f) => f.kind.startsWith('drift'));
    expect(drift).toEqual([
      expect.objectContaining({
        kind: 'drift-report',
        group: 'sandbox',
        userId: users.megan.aadObjectId,
        fresh: true,
      }),
    ]);
    expect(report.groups.find((g) => g.alias === 'sandbox')).toMatchObject({
      members: 2,
      granted: 1,
      unexplained: 1,
    });
    expect(report.groups.find((g) => g.alias === 'prod-admin')).toMatchObject({
      members: 1,
      standing: 1,
      unexplained: 0,
    });
    const detected = (await audit()).filter((r) => r.type === 'drift_detected');
    expect(detected).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({
          group: 'sandbox',
          userId: users.megan.aadObjectId,
          enforce: 'report',
        }),
      }),
    ]);
    await waitFor(
      () => alerts().some((t) => t.includes('Megan Bowen') && t.includes('no Timebox grant explains')),
      'channel alert',
    );
    expect(h.directory.members(GROUPS.sandbox)).toContain(users.megan.aadObjectId); // reported, not removed

    // Reported once: the next pass knows it, audits nothing new and alerts nobody.
    const alertsBefore = alerts().length;
    const again = await h.bot.reconciler.runOnce();
    expect(again.findings.filter((f) => f.kind === 'drift-report')).toEqual([
      expect.objectContaining({ fresh: false }),
    ]);
    expect((await audit()).filter((r) => r.type === 'drift_detected')).toHaveLength(1);
    expect(alerts()).toHaveLength(alertsBefore);
  });

  it('removes such a member where the policy says enforce: remove', async () => {
    const policy = testPolicy();
    policy.groups.sandbox = { ...policy.groups.sandbox!, enforce: 'remove' };
    h = await startHarness({ policy, env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    await baselines();
    // A request in the tenant: how a local bot (no MicrosoftAppTenantId) learns where to post the alert.
    await h.teams.say(users.alex, 'request db-read for 1h because teaching the tenant');
    await waitFor(async () => (await h.bot.store.listOpen()).length === 1, 'request filed');
    await addBehindTheBack(GROUPS.sandbox, users.megan.aadObjectId);
    const report = await h.bot.reconciler.runOnce();
    expect(report.findings.filter((f) => f.kind.startsWith('drift'))).toEqual([
      expect.objectContaining({ kind: 'drift-remove', userId: users.megan.aadObjectId }),
    ]);
    expect(h.directory.members(GROUPS.sandbox)).not.toContain(users.megan.aadObjectId);
    expect((await audit()).filter((r) => r.type === 'drift_removed')).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({ group: 'sandbox', userId: users.megan.aadObjectId }),
      }),
    ]);
    await waitFor(() => alerts().some((t) => t.includes('Removed Megan Bowen')), 'channel alert');
  });

  it('a standing member holding a grant when a group is first seen stays standing (never removed by enforce: remove)', async () => {
    const policy = testPolicy();
    policy.groups['prod-admin'] = { ...policy.groups['prod-admin']!, enforce: 'remove' };
    h = await startHarness({ policy, env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    await baselines();
    // Lynne is in prod-admin from the start, asks for it anyway: her grant records her as standing.
    const request = await h.ask(users.lynne, 'request prod-admin for 1h because INC-7 standing test');
    await h.clickOnCard(users.megan, 'approve', request);
    await h.clickOnCard(users.adele, 'approve', request);
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'active', 'grant active');
    expect((await h.bot.store.get(request.id))!.standingMember).toBe(true);
    // The group is first seen now (its baseline lost, or Timebox upgraded): while her grant is open.
    await h.bot.stop();
    const file = path.join(h.dataDir, 'data', 'timebox.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as { baselines?: Record<string, unknown> };
    delete state.baselines;
    writeFileSync(file, JSON.stringify(state));
    await h.restart();
    await waitFor(
      async () => (await audit()).filter((r) => r.type === 'baseline_recorded').length === 6,
      'baselines recorded again',
    );
    expect((await audit()).filter((r) => r.type === 'baseline_recorded').pop()?.detail).toMatchObject({
      group: 'prod-admin',
      members: [users.lynne.aadObjectId],
    });
    await h.clickOnCard(users.megan, 'revoke', request, { reason: 'done' });
    await waitFor(
      async () => (await h.bot.store.get(request.id))?.membershipRemovedAt !== undefined,
      'grant ended',
    );
    const report = await h.bot.reconciler.runOnce();
    expect(report.findings.filter((f) => f.kind.startsWith('drift'))).toEqual([]);
    expect(h.directory.members(GROUPS.prodAdmin)).toContain(users.lynne.aadObjectId);
  });

  /** Stops the bot, drops the outbox entries `drop` picks from timebox.json (a bug that lost them), and starts it again. */
  const loseEffects = async (drop: (effect: { kind: string; requestId: string }) => boolean) => {
    await h.bot.stop();
    const file = path.join(h.dataDir, 'data', 'timebox.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as {
      effects: Array<{ kind: string; requestId: string }>;
    };
    const before = state.effects.length;
    state.effects = state.effects.filter((e) => !drop(e));
    expect(state.effects.length).toBeLessThan(before);
    writeFileSync(file, JSON.stringify(state));
  };

  it('queues a lost add again at start: the approved request is granted', async () => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    // Throttled for a minute: the add waits in the outbox (not under way) when the bot stops.
    h.directory.faults.add({ route: 'POST /groups/*/members/$ref', status: 429, retryAfterSeconds: 60 });
    const request = await h.ask(users.alex, 'request sandbox for 1h because lost add');
    await h.clickOnCard(users.alex, 'approve', request);
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'approved', 'approved');
    await loseEffects((e) => e.kind === 'directory.add');
    h.directory.faults.clear();
    await h.restart();
    await waitFor(
      () => h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership added',
    );
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'active', 'grant active');
    expect((await audit()).filter((r) => r.type === 'reconciled' && r.requestId === request.id)).toEqual([
      expect.objectContaining({ detail: { effect: 'directory.add' } }),
    ]);
  });

  it('queues a lost removal again at start: the ended grant loses its membership', async () => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    const request = await h.ask(users.alex, 'request sandbox for 2s because lost removal');
    // Throttled for a minute: the removal waits in the outbox (not under way) when the bot stops.
    h.directory.faults.add({ route: 'DELETE /groups/*/members/*/$ref', status: 429, retryAfterSeconds: 60 });
    await h.clickOnCard(users.alex, 'approve', request);
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'expired', 'expired', 6000);
    expect(h.directory.members(GROUPS.sandbox)).toContain(users.alex.aadObjectId); // the removal keeps failing
    await loseEffects((e) => e.kind === 'directory.remove');
    h.directory.faults.clear();
    await h.restart();
    await waitFor(
      () => !h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership removed',
    );
    // The store shows the removal as soon as the hot file has it; the audit file a moment later.
    await waitFor(
      async () => (await audit()).some((r) => r.requestId === request.id && r.type === 'member_removed'),
      'removal audited',
    );
    const types = (await audit()).filter((r) => r.requestId === request.id).map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['expired', 'reconciled', 'member_removed']));
  });

  it('`timebox reconcile --dry-run` prints what it would do and changes nothing', async () => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    await baselines();
    await addBehindTheBack(GROUPS.dbRead, users.patti.aadObjectId);
    await h.bot.settled();
    await h.bot.stop();
    const data = path.join(h.dataDir, 'data');
    const hashes = () =>
      Object.fromEntries(
        readdirSync(data).map((f) => [
          f,
          createHash('sha256')
            .update(readFileSync(path.join(data, f)))
            .digest('hex'),
        ]),
      );
    const before = hashes();
    const callsBefore = h.directory.calls.length;

    const bot = spawnBot({
      bundle: await buildBot(),
      port: await freePort(),
      args: ['reconcile', '--dry-run', '--exit-code'],
      env: {
        TIMEBOX_DEV: '1',
        TIMEBOX_POLICY: path.join(h.dataDir, 'policy.yaml'),
        TIMEBOX_DATA_DIR: data,
        GRAPH_BASE_URL: h.directory.url,
        LOG_LEVEL: 'silent',
      },
    });
    const exit = await bot.exited;
    const out = bot.output();
    expect(out).toMatch(/^Dry run at .*: 1 thing\(s\) to do\./m);
    expect(out).toMatch(
      /would · drift-report: db-read: Patti Fernandez \(patti@example\.com\) is a member no grant explains/,
    );
    expect(out).toMatch(
      /db-read \(b2000000-0000-4000-8000-000000000002\): 1 member\(s\) — 0 by an open grant, 0 being removed, 0 standing, 1 unexplained/,
    );
    expect(exit.code).toBe(4); // --exit-code: something to do
    expect(hashes()).toEqual(before);
    expect(h.directory.calls.slice(callsBefore).every((c) => c.method === 'GET')).toBe(true);
    expect(h.directory.members(GROUPS.dbRead)).toContain(users.patti.aadObjectId);
  });
});
