import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT_CHAIN_BROKEN, registerAuditCommands } from '../../src/cli/audit';
import { runCli } from '../helpers/cli-runner';
import { replyInChat } from '../helpers/chat-replies';
import { cardText, waitFor } from '../helpers/fake-connector';
import { useEmbeddedPostgres } from '../helpers/embedded-postgres';
import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { users } from '../helpers/teams-client';

/**
 * Issue 13: the real bot (startTimebox over HTTP, fake Bot Connector, local directory) with
 * DATABASE_URL on an embedded PostgreSQL: the whole path, the audit verified through the CLI
 * with the key, and the database going away and coming back under a running bot.
 */
const pg = useEmbeddedPostgres();
const KEY = randomBytes(32).toString('hex');

async function readyz(h: Harness): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${h.bot.url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** `timebox audit <args>` in this process (as cli-store-port.test.ts runs it): its exit code and output. */
const audit = (args: string[], env: Record<string, string>) =>
  runCli(registerAuditCommands, ['audit', ...args], env);

describe('the bot on PostgreSQL', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('request → approve → member added → expiry → member removed; the audit verifies against the database, signatures included', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    const env = { DATABASE_URL: db.url, TIMEBOX_AUDIT_KEY: KEY, TIMEBOX_AUDIT_CHECKPOINT_EVERY: '2' };
    h = await startHarness({ env });
    const bot = h;
    const request = await bot.ask(users.alex, 'request sandbox for 2s because trying it on PostgreSQL');
    const click = await bot.clickOnCard(users.alex, 'approve', request);
    expect(click.status).toBe(200);
    await waitFor(
      () => bot.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership added',
    );
    await waitFor(
      () => !bot.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership removed',
      8000,
    );
    const expired = await waitFor(async () => {
      const r = await bot.bot.store.get(request.id);
      return r?.status === 'expired' && r.membershipRemovedAt ? r : undefined;
    }, 'request expired');
    expect(expired.membershipRemovedAt! - expired.expiresAt!).toBeLessThan(1500);
    await bot.bot.settled();
    const types = (await bot.audit()).map((r) => r.type);
    expect(types).toEqual(
      expect.arrayContaining(['submitted', 'approved', 'granted', 'expired', 'member_removed']),
    );
    // Next to the running bot, as an admin would run it: chain and signatures, from the database.
    const cliEnv = { ...env, TIMEBOX_DATA_DIR: `${bot.dataDir}/data` };
    const verified = await audit(['verify', '--key'], cliEnv);
    expect(verified.out).toMatch(/chain verified/);
    expect(verified.out).toMatch(/Signatures: [1-9]\d* checkpoint\(s\) verified/);
    expect(verified.out).not.toContain(new URL(db.url).password);
    expect(verified.code).toBe(0);
    const otherKey = { ...cliEnv, TIMEBOX_AUDIT_KEY: randomBytes(32).toString('hex') };
    // Another key vouches for nothing: the signatures are really checked.
    expect((await audit(['verify', '--key'], otherKey)).code).toBe(EXIT_CHAIN_BROKEN);
    const out = path.join(bot.dataDir, 'export.json');
    expect(await audit(['export', '--format', 'json', '--out', out], cliEnv)).toMatchObject({ code: 0 });
    const exported = JSON.parse(readFileSync(out, 'utf8')) as Array<{ type: string }>;
    expect(exported.map((r) => r.type)).toEqual(types);
  }, 30_000);

  it('/readyz is 503 while the database is away and 200 again once it is back, without a restart; a command or click meanwhile is told to try again, and nothing is half-done', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    h = await startHarness({ env: { DATABASE_URL: db.url } });
    const bot = h;
    const asked = await bot.ask(users.alex, 'request db-read for 1h because filed before the outage');
    await bot.bot.settled();
    const pending = (await bot.bot.store.get(asked.id))!;
    expect(await readyz(bot)).toMatchObject({ status: 200 });
    await pg.pause();
    try {
      await waitFor(async () => (await readyz(bot)).status === 503, 'not ready', 8000);
      expect((await readyz(bot)).body).toMatchObject({ reason: 'store unavailable' });
      expect((await fetch(`${bot.bot.url}/healthz`)).status).toBe(200);
      // A scrape meanwhile answers: not ready, and the gauges read from the database unknown
      // (NaN; prom-client writes "Nan", which Prometheus parses), never a reassuring 0.
      const scrape = await fetch(`${bot.bot.url}/metrics`);
      expect(scrape.status).toBe(200);
      const metrics = await scrape.text();
      expect(metrics).toMatch(/^timebox_ready 0$/m);
      expect(metrics).toMatch(/^timebox_overdue_grants Nan$/im);
      expect(metrics).toMatch(/^timebox_outbox_oldest_due_seconds Nan$/im);
      expect(metrics).toMatch(/^timebox_outbox_depth\{lane="directory"\} Nan$/im);
      expect(metrics).toMatch(/^timebox_requests_open\{status="pending"\} Nan$/im);
      const reply = await replyInChat(
        bot,
        users.alex,
        'request sandbox for 1h because the database is down',
        (s) => s.activity.text,
        'a reply to the command',
        10_000,
      );
      expect(String(reply.activity.text)).toMatch(/could not record that.*nothing was changed\. Try again/);
      const click = await bot.clickOnCard(users.megan, 'approve', pending);
      expect(click.status).toBe(200);
      expect(cardText(click.body.value)).toMatch(/could not record that.*nothing was changed\. Try again/);
    } finally {
      await pg.resume();
    }
    await waitFor(async () => (await readyz(bot)).status === 200, 'ready again', 10_000);
    // Nothing was half-done: no sandbox request, the db-read one as it was (no vote, no new version).
    const open = await bot.bot.store.listOpen();
    expect(open.map((r) => [r.id, r.status, r.version])).toEqual([[pending.id, 'pending', pending.version]]);
    await bot.teams.say(users.alex, 'request sandbox for 1h because the database is back');
    const filed = await waitFor(
      async () => (await bot.bot.store.listOpen()).find((r) => r.group.alias === 'sandbox'),
      'request filed',
      10_000,
    );
    expect(filed.justification).toBe('the database is back');
    const click = await bot.clickOnCard(users.megan, 'approve', pending);
    expect(click.status).toBe(200);
    await waitFor(
      () => bot.directory.members(GROUPS.dbRead).includes(users.alex.aadObjectId),
      'membership added once the database is back',
    );
  }, 40_000);

  it('started while the database is away: up (/healthz 200) but not ready, refusing activities with 503, until the database comes', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    await pg.pause();
    try {
      h = await startHarness({ env: { DATABASE_URL: db.url } });
      const bot = h;
      expect((await fetch(`${bot.bot.url}/healthz`)).status).toBe(200);
      expect(await readyz(bot)).toMatchObject({ status: 503, body: { reason: 'store unavailable' } });
      const activity = await bot.teams.say(users.alex, 'request sandbox for 1h because too early');
      expect(activity.status).toBe(503);
      expect(await activity.json()).toEqual({ error: 'starting' });
    } finally {
      await pg.resume();
    }
    const bot = h!;
    await waitFor(async () => (await readyz(bot)).status === 200, 'ready once the database is up', 20_000);
    const request = await bot.ask(users.alex, 'request sandbox for 1h because now it is up');
    expect(request.status).toBe('pending');
  }, 60_000);
});
