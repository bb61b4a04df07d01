import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import { placeEffect } from '../../src/app/effects';
import { verifyAuditFile } from '../../src/adapters/store/audit-verify';
import * as lifecycle from '../../src/domain/request';
import { buildBot, freePort, spawnBot } from '../chaos/bot-process';
import { startHarness, testPolicy, GROUPS, type Harness } from '../helpers/harness';
import { aRequest } from '../helpers/domain-builders';
import { cardText, waitFor } from '../helpers/fake-connector';
import { personalChatOf, users } from '../helpers/teams-client';

/**
 * PRODUCT.md §7: a corrupt or unreadable store stops the bot with a message that names the
 * file, and is never overwritten; a write that fails (disk full) means the person is told that
 * nothing happened, and nothing did.
 */

const contentOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** Every file under a directory with its hash: "nothing was written" means this does not change. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    out[name] = statSync(file).isDirectory()
      ? 'dir'
      : (() => {
          try {
            return sha(file);
          } catch (error) {
            return `unreadable: ${(error as NodeJS.ErrnoException).code}`;
          }
        })();
  }
  return out;
}

describe('a corrupt or unreadable store stops `timebox serve`, names the file, and is left as it is', () => {
  let root: string;
  let bundle: string;
  beforeAll(async () => {
    bundle = await buildBot();
  });
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'timebox-store-faults-'));
    chmodSync(root, 0o755);
    writeFileSync(path.join(root, 'policy.yaml'), stringify(testPolicy()));
    chmodSync(path.join(root, 'policy.yaml'), 0o644);
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** A real store with closed requests in history.jsonl (three lines) and one open request. */
  async function realStore(dir: string): Promise<void> {
    const store = new LowdbStore(dir);
    await store.open();
    const now = Date.now();
    for (const id of ['R-AAAAA1', 'R-AAAAA2', 'R-AAAAA3']) {
      const created = await store.commit({
        request: aRequest({ id, version: 0, createdAt: now, updatedAt: now }),
        expectedVersion: null,
        events: [],
      });
      const cancelled = lifecycle.cancel(created, created.requester, now + 1);
      await store.commit({
        request: cancelled.request,
        expectedVersion: created.version,
        events: cancelled.events,
      });
    }
    await store.commit({
      request: aRequest({ id: 'R-OPEN01', version: 0, createdAt: now, updatedAt: now }),
      expectedVersion: null,
      events: [],
    });
    await store.close();
  }

  async function serveOn(dataDir: string, as?: number) {
    const port = await freePort();
    const bot = spawnBot({
      bundle,
      port,
      uid: as,
      env: {
        TIMEBOX_DEV: '1',
        TIMEBOX_POLICY: path.join(root, 'policy.yaml'),
        TIMEBOX_DATA_DIR: dataDir,
        GRAPH_BASE_URL: 'http://127.0.0.1:9/v1.0',
        LOG_LEVEL: 'silent',
        TIMEBOX_RECONCILE_INTERVAL: 'off',
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      bot.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          bot.child.kill('SIGKILL');
          reject(new Error(`the bot did not stop:\n${bot.output()}`));
        }, 20_000);
      }),
    ]).finally(() => clearTimeout(timer));
    return { ...exit, output: bot.output() };
  }

  it('garbage in timebox.json', async () => {
    const data = path.join(root, 'data');
    mkdirSync(data);
    const hot = path.join(data, 'timebox.json');
    writeFileSync(hot, '{"formatVersion":1,"requests":{"R-1": {"id": "R-1", "status": "act'); // cut mid-write, by hand
    const before = snapshot(data);
    const result = await serveOn(data);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(hot);
    expect(result.output).toMatch(/cannot be read|left as it is/i);
    expect(result.output).not.toMatch(/\n\s+at .*\.(ts|js):\d+/); // a message, not a stack trace
    expect(snapshot(data)).toEqual(before);
  });

  it('a corrupt line in the middle of history.jsonl', async () => {
    const data = path.join(root, 'data');
    await realStore(data);
    const history = path.join(data, 'history.jsonl');
    const lines = readFileSync(history, 'utf8').split('\n');
    expect(lines.filter(Boolean)).toHaveLength(3);
    // Damaged after its header (which start-up reads with a pattern): the checksum catches it.
    const line = lines[1]!;
    lines[1] = line.slice(0, line.length - 60) + '#garbage#' + line.slice(line.length - 51);
    writeFileSync(history, lines.join('\n'));
    const before = snapshot(data);
    const result = await serveOn(data);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(history);
    expect(result.output).toMatch(/corrupt line 2/);
    expect(snapshot(data)).toEqual(before);
  });

  it('timebox.json without read permission', async () => {
    const data = path.join(root, 'data');
    await realStore(data);
    chmodSync(data, 0o755);
    const hot = path.join(data, 'timebox.json');
    const before = snapshot(data);
    chmodSync(hot, 0o000);
    // NB: root reads any file whatever its mode (CI runs as root): the bot then runs as nobody.
    const asRoot = process.getuid?.() === 0;
    const result = await serveOn(data, asRoot ? 65534 : undefined);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(hot);
    expect(result.output).toMatch(/EACCES|permission denied/i);
    expect(statSync(hot).mode & 0o777).toBe(0);
    chmodSync(hot, 0o644);
    expect(snapshot(data)).toEqual(before);
  });

  it('timebox.json that is not a file', async () => {
    const data = path.join(root, 'data');
    mkdirSync(path.join(data, 'timebox.json'), { recursive: true });
    const result = await serveOn(data);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(path.join(data, 'timebox.json'));
    expect(statSync(path.join(data, 'timebox.json')).isDirectory()).toBe(true);
  });
});

describe('a crash between the hot write and the history append', () => {
  it('finishes the append at the next open: the transition, its outbox change and its audit event stay together', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'timebox-closing-'));
    const a = new LowdbStore(dir);
    try {
      const now = Date.now();
      await a.open();
      const created = await a.commit({
        request: aRequest({ id: 'R-CLOSE1', version: 0, createdAt: now, updatedAt: now }),
        expectedVersion: null,
        events: [],
      });
      const ended = lifecycle.cancel(created, created.requester, now + 1);
      const closed = await a.commit({
        request: { ...ended.request, standingMember: false },
        expectedVersion: created.version,
        events: ended.events,
        effects: [placeEffect({ kind: 'directory.remove' }, ended.request)],
      });
      const [removal] = await a.listEffects(closed.id);
      const history = path.join(dir, 'history.jsonl');
      const historyBefore = existsSync(history) ? readFileSync(history) : undefined;
      const patched = await a.commit({
        request: { ...closed, membershipRemovedAt: now + 2 },
        expectedVersion: closed.version,
        events: [{ type: 'member_removed', requestId: closed.id, at: now + 2 }],
        completedEffectIds: [removal!.id],
      });
      expect(patched.membershipRemovedAt).toBe(now + 2);
      await a.appended();
      // Crash (no close) with the history append lost, as if the process died right after the
      // journal write: the journal has the new version, history.jsonl not.
      if (historyBefore === undefined) rmSync(history, { force: true });
      else writeFileSync(history, historyBefore);

      const b = new LowdbStore(dir);
      await b.open();
      expect(await b.get(closed.id)).toMatchObject({
        version: patched.version,
        membershipRemovedAt: now + 2,
      });
      expect(await b.listEffects(closed.id)).toEqual([]);
      const types: string[] = [];
      for await (const r of b.readAudit()) types.push(r.type);
      expect(types).toEqual(['cancelled', 'member_removed']);
      const lines = readFileSync(history, 'utf8').trim().split('\n');
      expect(JSON.parse(lines[lines.length - 1]!).request).toMatchObject({
        id: closed.id,
        version: patched.version,
      });
      expect(await b.listHolding(closed.requester.id, closed.group.id)).toEqual([]);
      await b.close();
    } finally {
      // The crashed store's open files are let go only now (a dead process's are by the OS), so
      // that none is left to garbage collection ("Closing file descriptor … on garbage collection").
      await a.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a failed write (disk full): the person is told nothing happened, and nothing did', () => {
  let h: Harness;
  let data: string;
  let tmp: string;
  beforeEach(async () => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    data = path.join(h.dataDir, 'data');
    // Every write is appended to journal.jsonl (opened for each batch): the journal moved aside and
    // /dev/full in its place makes every write fail with ENOSPC, as on a full disk.
    tmp = path.join(data, 'journal.jsonl');
  });
  afterEach(async () => {
    diskBack();
    await h.close();
  });
  let aside = false;
  const diskFull = () => {
    if (existsSync(tmp)) {
      renameSync(tmp, `${tmp}.aside`);
      aside = true;
    }
    symlinkSync('/dev/full', tmp);
  };
  const diskBack = () => {
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    if (aside) renameSync(`${tmp}.aside`, tmp);
    aside = false;
  };
  const audit = async () => (await h.audit()).map((r) => `${r.type}:${r.requestId ?? ''}`);
  const lastText = (user: typeof users.alex) =>
    [...h.connector.sentTo(personalChatOf(user))].reverse().find((s) => s.activity.text)?.activity.text ?? '';

  it('a request is refused with "nothing was changed", and works once the disk has room again', async () => {
    diskFull();
    const auditBefore = await audit();
    await h.teams.say(users.alex, 'request sandbox for 1h because disk full test');
    const reply = await waitFor(() => lastText(users.alex), 'the reply');
    expect(reply).toMatch(/could not save that, so nothing was changed/i);
    expect(reply).toMatch(/ENOSPC/);
    expect(reply).not.toContain(data); // no paths for users
    expect(await h.bot.store.listOpen()).toEqual([]);
    expect(await audit()).toEqual(auditBefore);
    expect(contentOf(path.join(data, 'timebox.json'))).not.toContain('disk full test');
    expect(contentOf(`${tmp}.aside`)).not.toContain('disk full test');

    diskBack();
    await h.teams.say(users.alex, 'request sandbox for 1h because disk has room');
    await waitFor(async () => (await h.bot.store.listOpen()).length === 1, 'the request filed');
    expect((await audit()).filter((t) => t.startsWith('submitted:'))).toHaveLength(1);
  });

  it('a decision and a revoke while the disk is full change nothing (no half-done transition)', async () => {
    const pending = await h.ask(users.alex, 'request db-read for 1h because checking orders');
    await h.bot.settled();
    const post = pending.approvalCard!;

    const version = (await h.bot.store.get(pending.id))!.version;
    diskFull();
    const click = await h.teams.click(
      users.megan,
      'approve',
      { requestId: pending.id },
      { conversationId: post.conversationId, replyToId: post.activityId },
    );
    expect(click.status).toBe(200);
    expect(cardText(click.body.value)).toMatch(/could not save that, so nothing was changed/i);
    expect(await h.bot.store.get(pending.id)).toMatchObject({ status: 'pending', version, votes: [] });
    expect(h.directory.members(GROUPS.dbRead)).toEqual([]);

    diskBack();
    await h.teams.click(
      users.megan,
      'approve',
      { requestId: pending.id },
      { conversationId: post.conversationId, replyToId: post.activityId },
    );
    await waitFor(
      () => h.directory.members(GROUPS.dbRead).includes(users.alex.aadObjectId),
      'membership added',
    );
    const active = await waitFor(
      async () =>
        (await h.bot.store.get(pending.id))?.status === 'active' ? h.bot.store.get(pending.id) : undefined,
      'grant active',
    );
    await h.bot.settled();

    // A closing transition writes history.jsonl first: with the hot write failing, that line must go again.
    const history = path.join(data, 'history.jsonl');
    const historyBefore = contentOf(history);
    const auditBefore = await audit();
    diskFull();
    const revoke = await h.teams.click(
      users.megan,
      'revoke',
      { requestId: pending.id, reason: 'disk test' },
      { conversationId: post.conversationId, replyToId: post.activityId },
    );
    expect(cardText(revoke.body.value)).toMatch(/could not save that/i);
    expect(await h.bot.store.get(pending.id)).toMatchObject({ status: 'active', version: active!.version });
    expect(contentOf(history)).toBe(historyBefore);
    expect(await audit()).toEqual(auditBefore);
    expect(h.directory.members(GROUPS.dbRead)).toContain(users.alex.aadObjectId);

    diskBack();
    await h.teams.click(
      users.megan,
      'revoke',
      { requestId: pending.id, reason: 'disk test' },
      { conversationId: post.conversationId, replyToId: post.activityId },
    );
    await waitFor(
      () => !h.directory.members(GROUPS.dbRead).includes(users.alex.aadObjectId),
      'membership removed',
    );
    await waitFor(
      async () => (await h.bot.store.get(pending.id))?.membershipRemovedAt !== undefined,
      'removal recorded',
    );
    await h.bot.settled();
    const types = (await audit()).filter((t) => t.endsWith(`:${pending.id}`)).map((t) => t.split(':')[0]);
    expect(types.filter((t) => t === 'revoked')).toHaveLength(1);
    expect(types.filter((t) => t === 'member_removed')).toHaveLength(1);
    await h.bot.stop();
    const verified = await verifyAuditFile(path.join(data, 'audit.jsonl'));
    expect(verified.ok).toBe(true);
    await h.restart();
    expect(await h.bot.store.get(pending.id)).toMatchObject({ status: 'revoked' });
  });
});
