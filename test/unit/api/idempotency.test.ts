import {
  bodyHashOf,
  idempotencyKeyOf,
  idempotentRequestId,
  lookUpKey,
} from '../../../src/adapters/api/idempotency';
import type { AccessRequest } from '../../../src/domain/request';
import { aRequest } from '../../helpers/domain-builders';

const APP = 'aaaaaaaa-0000-4000-8000-00000000000a';
const OTHER_APP = 'aaaaaaaa-0000-4000-8000-00000000000c';

describe('the Idempotency-Key header', () => {
  it('absent is fine; 1–200 printable ASCII characters are a key', () => {
    expect(idempotencyKeyOf(undefined)).toEqual({ ok: true });
    expect(idempotencyKeyOf('a')).toEqual({ ok: true, key: 'a' });
    expect(idempotencyKeyOf('x'.repeat(200))).toEqual({ ok: true, key: 'x'.repeat(200) });
    expect(idempotencyKeyOf('3f2b1c9e-6a1d-4e0f-9c3b-2f6e7d8a9b0c')).toMatchObject({ ok: true });
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(201)],
    ['a control character', 'abc\u0001'],
    ['a tab', 'a\tb'],
    ['non-ASCII', 'clé'],
    ['a bidi override', 'a\u202eb'],
    ['DEL', 'a\u007f'],
  ])('%s is refused with idempotency.key_invalid (400)', (_what, key) => {
    expect(idempotencyKeyOf(key)).toMatchObject({
      ok: false,
      problem: { status: 400, code: 'idempotency.key_invalid' },
    });
  });
});

describe('ids derived from a key', () => {
  it('are request ids, the same for the same client, key and counter, and differ otherwise', () => {
    const id = idempotentRequestId(APP, 'key-1', 0);
    expect(id).toMatch(/^R-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{6}$/);
    expect(idempotentRequestId(APP.toUpperCase(), 'key-1', 0)).toBe(id);
    expect(
      new Set([
        id,
        idempotentRequestId(APP, 'key-1', 1),
        idempotentRequestId(APP, 'key-2', 0),
        idempotentRequestId(OTHER_APP, 'key-1', 0),
      ]).size,
    ).toBe(4);
  });

  it('spread over the alphabet (no letter is favoured)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++)
      for (const c of idempotentRequestId(APP, `k${i}`, 0).slice(2)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    // 24,000 draws over 32 letters: 750 each on average.
    for (const n of counts.values()) expect(n).toBeGreaterThan(600);
  });
});

describe('the body hash', () => {
  it('depends on what is asked, not on key order or the duration’s spelling', () => {
    const a = bodyHashOf({
      target: 'deploy-prod',
      justification: 'x',
      durationMs: 1_800_000,
      context: { repository: 'r', commit: 'abcdef1' },
    });
    const b = bodyHashOf({
      context: { commit: 'abcdef1', repository: 'r' },
      durationMs: 1_800_000,
      justification: 'x',
      target: 'deploy-prod',
    });
    expect(a).toBe(b);
    expect(bodyHashOf({ target: 'deploy-prod', justification: 'y' })).not.toBe(
      bodyHashOf({ target: 'deploy-prod', justification: 'x' }),
    );
    expect(bodyHashOf({ target: 'deploy-prod', justification: 'x', ticket: undefined })).toBe(
      bodyHashOf({ target: 'deploy-prod', justification: 'x' }),
    );
  });
});

describe('looking a key up', () => {
  const filed = (id: string, appId: string, key: string, bodyHash: string): AccessRequest =>
    aRequest({ id, client: { appId, name: 'c' }, idempotency: { key, bodyHash } });

  function storeOf(...requests: AccessRequest[]) {
    const byId = new Map(requests.map((r) => [r.id, r]));
    return async (id: string) => byId.get(id);
  }

  it('nothing there: the first derived id is free', async () => {
    expect(await lookUpKey(storeOf(), APP, 'k', 'h')).toEqual({
      kind: 'free',
      id: idempotentRequestId(APP, 'k', 0),
    });
  });

  it('this client’s request for the key: a replay with the same body, "reused" with another', async () => {
    const mine = filed(idempotentRequestId(APP, 'k', 0), APP, 'k', 'h');
    expect(await lookUpKey(storeOf(mine), APP, 'k', 'h')).toEqual({ kind: 'replay', request: mine });
    expect(await lookUpKey(storeOf(mine), APP, 'k', 'other')).toEqual({ kind: 'reused', request: mine });
  });

  it('an unrelated request at a derived id (a chat request, another client’s, another key) is skipped', async () => {
    const id0 = idempotentRequestId(APP, 'k', 0);
    const id1 = idempotentRequestId(APP, 'k', 1);
    const id2 = idempotentRequestId(APP, 'k', 2);
    const chat = aRequest({ id: id0 });
    const stranger = filed(id1, OTHER_APP, 'k', 'h');
    expect(await lookUpKey(storeOf(chat, stranger), APP, 'k', 'h')).toEqual({ kind: 'free', id: id2 });
    const mine = filed(id2, APP, 'k', 'h');
    expect(await lookUpKey(storeOf(chat, stranger, mine), APP, 'k', 'h')).toEqual({
      kind: 'replay',
      request: mine,
    });
  });
});
