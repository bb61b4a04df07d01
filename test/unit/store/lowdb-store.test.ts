import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import path from 'node:path';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { encodeHistoryLine } from '../../../src/adapters/store/history';
import { insightRecordOf, type InsightRecord } from '../../../src/domain/insights';
import { verifyAuditFile } from '../../../src/adapters/store/audit-verify';
import * as lifecycle from '../../../src/domain/request';
import type { AccessRequest, RequestEvent } from '../../../src/domain/request';
import { aPerson, aRequest } from '../../helpers/domain-builders';
import { placeEffect } from '../../../src/app/effects';
import type { NewEffect } from '../../../src/ports/store';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
/** Effects placed in their lane and queue, as the app does (app/effects.ts). */
const placed = (request: AccessRequest, ...effects: NewEffect[]) =>
  effects.map((e) => placeEffect(e, request));
const megan = aPerson('megan');

describe('LowdbStore', () => {
  let dir: string;
  let store: LowdbStore;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-store-'));
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(): Promise<LowdbStore> {
    const s = new LowdbStore(dir);
    await s.open();
    return s;
  }

  // One requester per request unless a test says otherwise: the store allows one open request per person and group.
  const submitted = (id: string, overrides: Partial<AccessRequest> = {}) => ({
    ...aRequest({ id, version: 0, requester: { ...aPerson('alex'), id: `alex-${id}` }, ...overrides }),
  });
  const event = (requestId: string, type: RequestEvent['type'] = 'submitted'): RequestEvent => ({
    type,
    requestId,
    at: T0,
  });

  async function create(id: string, overrides: Partial<AccessRequest> = {}): Promise<AccessRequest> {
    return store.commit({
      request: submitted(id, overrides),
      expectedVersion: null,
      events: [event(id)],
      effects: placed(submitted(id, overrides), { kind: 'card.post' }),
    });
  }

  async function close(request: AccessRequest): Promise<AccessRequest> {
    const denied = lifecycle.castVote(request, megan, 'deny', T0 + 1, 'no');
    return store.commit({ request: denied.request, expectedVersion: request.version, events: denied.events });
  }

  it('writes conditionally: a stale version or a second create is a REQUEST_CONFLICT', async () => {
    const created = await create('R-AAAA01');
    expect(created.version).toBe(1);
    await expect(create('R-AAAA01')).rejects.toMatchObject({ code: 'REQUEST.CONFLICT' });
    const next = await store.commit({
      request: { ...created, justification: 'changed' },
      expectedVersion: 1,
      events: [],
    });
    expect(next.version).toBe(2);
    await expect(
      store.commit({ request: { ...created, justification: 'stale' }, expectedVersion: 1, events: [] }),
    ).rejects.toMatchObject({ code: 'REQUEST.CONFLICT' });
    expect((await store.get('R-AAAA01'))!.justification).toBe('changed');
  });

  it('keeps closed requests out of the file it rewrites, and finds them in history after a restart', async () => {
    const open1 = await create('R-AAAA01');
    await create('R-AAAA02');
    await close(open1);
    await store.close(); // compacts the journal into the snapshot
    const hot = JSON.parse(readFileSync(path.join(dir, 'timebox.json'), 'utf8'));
    expect(Object.keys(hot.requests)).toEqual(['R-AAAA02']);
    expect(readFileSync(path.join(dir, 'journal.jsonl'), 'utf8')).toBe('');
    store = await open();
    expect(await store.get('R-AAAA01')).toMatchObject({ status: 'denied', version: 2 });
    expect((await store.listOpen()).map((r) => r.id)).toEqual(['R-AAAA02']);
    expect((await store.listRecentClosed(open1.requester.id, 5)).map((r) => r.id)).toEqual(['R-AAAA01']);
  });

  it('history holding a version the journal lost (a hand-restored journal): the open state wins', async () => {
    const created = await create('R-AAAA01');
    // What that leaves: the closed version in history, the journal without its commit.
    const journalBefore = readFileSync(path.join(dir, 'journal.jsonl'), 'utf8');
    await close(created);
    writeFileSync(path.join(dir, 'journal.jsonl'), journalBefore);
    store = await open(); // the old instance is dropped, as by a crash
    const reopened = await store.get('R-AAAA01');
    expect(reopened).toMatchObject({ status: 'pending', version: 1 });
    const cancelled = lifecycle.cancel(reopened!, reopened!.requester, T0 + 2);
    await store.commit({ request: cancelled.request, expectedVersion: 1, events: cancelled.events });
    await store.close();
    store = await open();
    expect(await store.get('R-AAAA01')).toMatchObject({ status: 'cancelled', version: 2 });
  });

  it('cuts a torn last history line at start, so the next append starts on its own line', async () => {
    await close(await create('R-AAAA01'));
    await store.close();
    appendFileSync(path.join(dir, 'history.jsonl'), '{"id":"R-TORN01","requester":"x","gro');
    store = await open();
    await close(await create('R-AAAA02'));
    await store.close();
    store = await open();
    expect(await store.get('R-AAAA02')).toMatchObject({ status: 'denied' });
    expect(await store.get('R-TORN01')).toBeUndefined();
    expect(readFileSync(path.join(dir, 'history.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('reads history lines written before the line header existed', async () => {
    await store.close();
    const old = { ...aRequest({ id: 'R-OLD001', status: 'cancelled' }), resolution: { at: T0 } };
    writeFileSync(path.join(dir, 'history.jsonl'), JSON.stringify(old) + '\n');
    store = await open();
    expect(await store.get('R-OLD001')).toMatchObject({ status: 'cancelled' });
  });

  it('reads the insight records of history lines of every format: none, the header alone, the header and the record', async () => {
    await store.close();
    const closed = (id: string, n: number): AccessRequest => ({
      ...aRequest({ id, requester: aPerson('alex'), createdAt: T0 + n, updatedAt: T0 + n, status: 'denied' }),
      group: { alias: `g${n}`, id: `b2000000-0000-4000-8000-00000000000${n}`, displayName: 'G' },
      resolution: { at: T0 + n + 1 },
    });
    const [bare, headed, current] = [closed('R-FMT001', 1), closed('R-FMT002', 2), closed('R-FMT003', 3)];
    const body = JSON.stringify(headed);
    const headedLine = `{"id":"R-FMT002","requester":${JSON.stringify(headed.requester.id)},"group":${JSON.stringify(headed.group.id)},"holds":false,"crc":${crc32(body)},"request":${body}}`;
    writeFileSync(
      path.join(dir, 'history.jsonl'),
      `${JSON.stringify(bare)}\n${headedLine}\n${encodeHistoryLine(current)}`,
    );
    store = await open();
    const records: InsightRecord[] = [];
    for await (const batch of store.scanInsights(T0, T0 + 10)) records.push(...batch);
    records.sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(records).toEqual([bare, headed, current].map(insightRecordOf));
    expect((await store.listCreatedBetween(T0, T0 + 10)).map((r) => r.id)).toEqual([
      'R-FMT001',
      'R-FMT002',
      'R-FMT003',
    ]);
    expect(await store.get('R-FMT003')).toEqual(current);
  });

  it('stops at start on a history line whose insight record was damaged, naming the file and line', async () => {
    await store.close();
    const line = encodeHistoryLine({
      ...aRequest({ id: 'R-FMT004' }),
      status: 'cancelled',
      resolution: { at: T0 },
    });
    const file = path.join(dir, 'history.jsonl');
    writeFileSync(file, line.replace('"status":"cancelled"', '"status":"cancellex"'));
    const broken = new LowdbStore(dir);
    await expect(broken.open()).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringContaining(`${file} has a corrupt line 1`),
    });
    writeFileSync(file, line);
    store = await open();
  });

  it('stops at start on a corrupt hot file, naming it and leaving it as it is', async () => {
    await store.close();
    const file = path.join(dir, 'timebox.json');
    writeFileSync(file, '{"formatVersion":1,"requests":');
    const broken = new LowdbStore(dir);
    await expect(broken.open()).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringContaining(file),
    });
    expect(readFileSync(file, 'utf8')).toBe('{"formatVersion":1,"requests":');
    writeFileSync(
      file,
      JSON.stringify({
        formatVersion: 1,
        requests: {},
        effects: [],
        auditQueue: [],
        nextEffectSeq: 1,
        nextAuditSeq: 1,
        personalChats: {},
        serviceUrls: {},
      }),
    );
    store = await open();
  });

  it('appends each audit event exactly once, in order, across a failed append and a restart; the chain verifies', async () => {
    await create('R-AAAA01');
    await store.appended();
    const audit = path.join(dir, 'audit.jsonl');
    // The audit file cannot be appended to for a while (here: something else is in its place).
    rmSync(audit);
    mkdirSync(audit);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    await create('R-AAAA02');
    await create('R-AAAA03');
    await store.appended();
    warn.mockRestore();
    rmSync(audit, { recursive: true });
    // Both events wait in the hot file's queue; the next commit appends them before its own.
    await store.close();
    store = await open();
    await create('R-AAAA04');
    const records = [];
    for await (const r of store.readAudit()) records.push(r);
    expect(records.map((r) => [r.seq, r.requestId])).toEqual([
      [2, 'R-AAAA02'],
      [3, 'R-AAAA03'],
      [4, 'R-AAAA04'],
    ]);
    expect(await verifyAuditFile(audit)).toMatchObject({ ok: true });
  });

  it('cuts a torn last audit record at start and continues the chain', async () => {
    await create('R-AAAA01');
    await store.close();
    const audit = path.join(dir, 'audit.jsonl');
    const before = statSync(audit).size;
    appendFileSync(audit, '{"seq":2,"at":"2026-');
    store = await open();
    expect(statSync(audit).size).toBe(before);
    await create('R-AAAA02');
    expect(await verifyAuditFile(audit)).toMatchObject({ ok: true, records: 2 });
  });

  it('runs the membership changes of one person and group one at a time, across requests; Teams effects per request', async () => {
    const a = await store.commit({
      // Closed already (its add still queued): a second open request of the same person and group is refused.
      request: submitted('R-AAAA01', { requester: aPerson('alex'), status: 'cancelled' }),
      expectedVersion: null,
      events: [],
      effects: placed(
        submitted('R-AAAA01', { requester: aPerson('alex') }),
        { kind: 'directory.add' },
        { kind: 'card.update' },
      ),
    });
    await store.commit({
      request: submitted('R-AAAA02', { group: a.group, requester: a.requester }),
      expectedVersion: null,
      events: [],
      effects: placed(
        submitted('R-AAAA02', { requester: a.requester }),
        { kind: 'directory.remove' },
        { kind: 'card.update' },
      ),
    });
    await store.commit({
      request: submitted('R-AAAA03', { requester: megan }),
      expectedVersion: null,
      events: [],
      effects: placed(submitted('R-AAAA03', { requester: megan }), { kind: 'directory.add' }),
    });
    const due = await store.claim('w', T0 + 1, 60_000, 10);
    const kinds = due.map((e) => `${e.requestId}:${e.kind}`).sort();
    // R-AAAA02's removal waits for R-AAAA01's add (same person, same group); Megan's add does not.
    expect(kinds).toEqual([
      'R-AAAA01:card.update',
      'R-AAAA01:directory.add',
      'R-AAAA02:card.update',
      'R-AAAA03:directory.add',
    ]);
    const add = due.find((e) => e.requestId === 'R-AAAA01' && e.kind === 'directory.add')!;
    await store.completeEffect(add.id, add.lease.token);
    expect((await store.claim('w', T0 + 1, 60_000, 10)).map((e) => `${e.requestId}:${e.kind}`)).toContain(
      'R-AAAA02:directory.remove',
    );
  });

  it('lists the requests that may hold a membership, open or closed', async () => {
    const a = await create('R-AAAA01');
    const approved = lifecycle.castVote(a, megan, 'approve', T0).request;
    const looked = await store.commit({
      request: { ...approved, standingMember: false },
      expectedVersion: 1,
      events: [],
    });
    expect((await store.listHolding(a.requester.id, a.group.id)).map((r) => r.id)).toEqual(['R-AAAA01']);
    const revoked = lifecycle.revoke(looked, megan, T0, 'x').request;
    const closed = await store.commit({ request: revoked, expectedVersion: looked.version, events: [] });
    await store.close();
    store = await open();
    expect((await store.listHolding(a.requester.id.toUpperCase(), a.group.id)).map((r) => r.id)).toEqual([
      'R-AAAA01',
    ]);
    await store.commit({
      request: { ...closed, membershipRemovedAt: T0 },
      expectedVersion: closed.version,
      events: [],
    });
    expect(await store.listHolding(a.requester.id, a.group.id)).toEqual([]);
    await store.close();
    store = await open();
    expect(await store.listHolding(a.requester.id, a.group.id)).toEqual([]);
  });
});
