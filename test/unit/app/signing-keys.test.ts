import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { APPROVAL_AUDIENCE, ApprovalTokens } from '../../../src/adapters/api/approval-tokens';
import { newSigningKeyMaterial } from '../../../src/adapters/api/stored-signing-keys';
import { InMemoryStore } from '../../../src/adapters/store/in-memory-store';
import {
  loadOrCreateSigningKeys,
  watchSigningKeys,
  type LoadedSigningKeys,
  type SigningKeyOptions,
} from '../../../src/app/signing-keys';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import type { Store, StoredSigningKey } from '../../../src/ports/store';
import { FakeClock } from '../../helpers/fake-clock';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ISSUER = 'https://timebox.contoso.com';

/** Fast made-up keys for the bookkeeping tests; real ones where a token is signed. */
let made = 0;
const fakeGenerate = async () => {
  made++;
  return {
    kid: `k${made}`,
    privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: `d${made}`, alg: 'ES256' },
  };
};
const options = (extra: Partial<SigningKeyOptions> = {}): SigningKeyOptions => ({
  rotateAfterMs: 30 * DAY,
  retainMs: 8 * HOUR,
  activateAfterMs: HOUR,
  generate: fakeGenerate,
  ...extra,
});

const kids = (loaded: LoadedSigningKeys) => loaded.keys.map((k) => [k.kid, k.retiredAt ?? 'signs']);

let store: InMemoryStore;
let clock: FakeClock;
beforeEach(async () => {
  made = 0;
  store = new InMemoryStore();
  await store.open();
  clock = new FakeClock();
});
afterEach(() => store.close());

describe('loadOrCreateSigningKeys', () => {
  it('with none stored, makes one that signs at once and saves it; the next load only reads', async () => {
    const first = await loadOrCreateSigningKeys(store, clock, options());
    expect(kids(first)).toEqual([['k1', 'signs']]);
    expect(first.version).toBe(1);
    expect(first.nextChangeAt).toBe(clock.now() + 30 * DAY);
    const again = await loadOrCreateSigningKeys(store, clock, options());
    expect(again).toEqual(first);
    expect(made).toBe(1);
    expect((await store.getSigningKeys())!.keys[0]).toMatchObject({
      kid: 'k1',
      createdAt: clock.now(),
      activatesAt: clock.now(),
    });
  });

  it('rotates a key that has signed rotateAfterMs: the new one is published an hour before it signs', async () => {
    const t0 = clock.now();
    await loadOrCreateSigningKeys(store, clock, options());
    await clock.advance(30 * DAY);
    const rotated = await loadOrCreateSigningKeys(store, clock, options());
    const activation = t0 + 30 * DAY + HOUR;
    // The old key still signs; the new one is published (as "retired" until it activates).
    expect(kids(rotated)).toEqual([
      ['k1', 'signs'],
      ['k2', activation],
    ]);
    expect(rotated.nextChangeAt).toBe(activation);
    // Loading again meanwhile rotates nothing more.
    await clock.advance(HOUR / 2);
    expect(kids(await loadOrCreateSigningKeys(store, clock, options()))).toEqual(kids(rotated));
    expect(made).toBe(2);

    await clock.advanceTo(activation);
    const switched = await loadOrCreateSigningKeys(store, clock, options());
    expect(kids(switched)).toEqual([
      ['k2', 'signs'],
      ['k1', activation],
    ]);
    expect(switched.version).toBe(2); // the switch is a matter of time, not of a save
    expect(switched.nextChangeAt).toBe(activation + 8 * HOUR);

    await clock.advanceTo(activation + 8 * HOUR);
    const dropped = await loadOrCreateSigningKeys(store, clock, options());
    expect(kids(dropped)).toEqual([['k2', 'signs']]);
    expect(dropped.version).toBe(3);
    expect((await store.getSigningKeys())!.keys.map((k) => k.kid)).toEqual(['k2']);
  });

  it('a key never used for long is rotated once, not once per missed period', async () => {
    await loadOrCreateSigningKeys(store, clock, options());
    await clock.advance(400 * DAY);
    const loaded = await loadOrCreateSigningKeys(store, clock, options());
    expect(loaded.keys).toHaveLength(2);
    expect(made).toBe(2);
  });

  it('two replicas starting at once on one store end with one key set, the same for both', async () => {
    const [a, b] = await Promise.all([
      loadOrCreateSigningKeys(store, clock, options()),
      loadOrCreateSigningKeys(store, clock, options()),
    ]);
    expect(a).toEqual(b);
    expect((await store.getSigningKeys())!.keys).toHaveLength(1);
    await clock.advance(30 * DAY);
    const [c, d] = await Promise.all([
      loadOrCreateSigningKeys(store, clock, options()),
      loadOrCreateSigningKeys(store, clock, options()),
    ]);
    expect(c).toEqual(d);
    expect((await store.getSigningKeys())!.keys).toHaveLength(2);
  });

  it('a lost save (STORE_CONFLICT) is read again; another failure is thrown; a conflict storm gives up', async () => {
    let conflicts = 1;
    const racing: Pick<Store, 'getSigningKeys' | 'saveSigningKeys'> = {
      getSigningKeys: () => store.getSigningKeys(),
      saveSigningKeys: async (keys, expected) => {
        if (conflicts-- > 0) {
          // Another replica saves first, between our read and our save.
          await store.saveSigningKeys(
            [{ ...(await fakeGenerate()), createdAt: clock.now(), activatesAt: clock.now() }],
            null,
          );
          throw new DomainError(ErrorCodes.STORE_CONFLICT, 'changed meanwhile');
        }
        return store.saveSigningKeys(keys, expected);
      },
    };
    const loaded = await loadOrCreateSigningKeys(racing, clock, options());
    expect(kids(loaded)).toEqual([['k2', 'signs']]); // the other replica's key, not ours (k1)

    const down: Pick<Store, 'getSigningKeys' | 'saveSigningKeys'> = {
      getSigningKeys: async () => undefined,
      saveSigningKeys: async () => {
        throw new DomainError(ErrorCodes.STORE_UNAVAILABLE, 'down');
      },
    };
    await expect(loadOrCreateSigningKeys(down, clock, options())).rejects.toMatchObject({
      code: ErrorCodes.STORE_UNAVAILABLE,
    });
    const storm: Pick<Store, 'getSigningKeys' | 'saveSigningKeys'> = {
      getSigningKeys: async () => undefined,
      saveSigningKeys: async () => {
        throw new DomainError(ErrorCodes.STORE_CONFLICT, 'changed meanwhile');
      },
    };
    await expect(loadOrCreateSigningKeys(storm, clock, options())).rejects.toMatchObject({
      code: ErrorCodes.STORE_CONFLICT,
    });
  });

  it('refuses options under which a key would sign before it is published, or be rotated before it signs', async () => {
    await expect(
      loadOrCreateSigningKeys(store, clock, options({ rotateAfterMs: HOUR, activateAfterMs: HOUR })),
    ).rejects.toThrow(/rotateAfterMs/);
    await expect(loadOrCreateSigningKeys(store, clock, options({ retainMs: -1 }))).rejects.toThrow(
      /retainMs/,
    );
  });

  it('keys stored out of order (edited by hand) are read by activation, newest first', async () => {
    const key = (kid: string, at: number): StoredSigningKey => ({
      kid,
      privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: kid },
      createdAt: at,
      activatesAt: at,
    });
    const now = clock.now();
    await store.saveSigningKeys([key('old', now - 2 * HOUR), key('new', now - HOUR)], null);
    expect(kids(await loadOrCreateSigningKeys(store, clock, options()))).toEqual([
      ['new', 'signs'],
      ['old', now - HOUR],
    ]);
  });
});

describe('the keys from the store in ApprovalTokens: every replica signs and publishes alike', () => {
  const real = (extra: Partial<SigningKeyOptions> = {}) =>
    options({ generate: newSigningKeyMaterial, ...extra });
  const tokensOf = (loaded: LoadedSigningKeys) =>
    new ApprovalTokens(loaded.keys, { issuer: ISSUER, retainRetiredMs: 8 * HOUR });
  const claims = (now: number) => ({
    requestId: 'R-7KQ2MX',
    subject: 'oid',
    target: 'deploy-prod',
    approvers: ['oid-megan'],
    expiresAt: now + 2 * HOUR,
  });
  const verify = (token: string, jwks: { keys: unknown[] }, now: number) =>
    jwtVerify(token, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]), {
      issuer: ISSUER,
      audience: APPROVAL_AUDIENCE,
      algorithms: ['ES256'],
      currentDate: new Date(now),
    });

  it('a token signed by one replica verifies with the JWKS of another, across a rotation', async () => {
    const a = tokensOf(await loadOrCreateSigningKeys(store, clock, real()));
    const b = tokensOf(await loadOrCreateSigningKeys(store, clock, real()));
    const now = clock.now();
    await verify(await a.sign(claims(now), now), b.jwks(now), now);

    await clock.advance(30 * DAY);
    const rotatedA = await loadOrCreateSigningKeys(store, clock, real());
    const stale = b; // replica b has not loaded the keys again yet
    const fresh = tokensOf(rotatedA);
    const t1 = clock.now();
    // Before the activation: both sign with the old key, and the new one is already published.
    const before = await fresh.sign(claims(t1), t1);
    expect(decodeProtectedHeader(before).kid).toBe(stale.jwks(t1).keys[0]!.kid);
    expect(fresh.jwks(t1).keys).toHaveLength(2);
    await verify(before, stale.jwks(t1), t1);

    await clock.advance(HOUR);
    const t2 = clock.now();
    const after = tokensOf(await loadOrCreateSigningKeys(store, clock, real()));
    const signed = await after.sign(claims(t2), t2);
    expect(decodeProtectedHeader(signed).kid).toBe(rotatedA.keys[1]!.kid);
    // What the others published since the rotation, and still publish, verifies it.
    await verify(signed, fresh.jwks(t2), t2);
    // And a token of the old key, signed just before the switch, still verifies with the new JWKS.
    await verify(before, after.jwks(t2), t2);
  });
});

describe('watchSigningKeys', () => {
  it('loads again at each change of the view and hands on the new keys; stop ends it', async () => {
    const initial = await loadOrCreateSigningKeys(store, clock, options());
    const seen: LoadedSigningKeys[] = [];
    const watch = watchSigningKeys({
      store,
      clock,
      options: options(),
      everyMs: 10 * 60_000,
      initial,
      onKeys: (loaded) => seen.push(loaded),
    });
    await clock.advance(30 * DAY); // every 10 min a load: the rotation is due at 30 days
    expect(seen.map(kids)).toEqual([
      [
        ['k1', 'signs'],
        ['k2', clock.now() + HOUR],
      ],
    ]);
    await clock.advance(HOUR);
    expect(kids(seen[seen.length - 1]!)[0]).toEqual(['k2', 'signs']);
    watch.stop();
    expect(clock.pending()).toEqual([]);
  });

  it('a failed load is reported, and tried again at the next turn', async () => {
    const initial = await loadOrCreateSigningKeys(store, clock, options());
    const errors: unknown[] = [];
    let failing = true;
    const flaky: Pick<Store, 'getSigningKeys' | 'saveSigningKeys'> = {
      getSigningKeys: async () => {
        if (failing) throw new DomainError(ErrorCodes.STORE_UNAVAILABLE, 'down');
        return store.getSigningKeys();
      },
      saveSigningKeys: (keys, expected) => store.saveSigningKeys(keys, expected),
    };
    const seen: LoadedSigningKeys[] = [];
    const watch = watchSigningKeys({
      store: flaky,
      clock,
      options: options(),
      everyMs: 60_000,
      initial,
      onKeys: (loaded) => seen.push(loaded),
      onError: (error) => errors.push(error),
    });
    await clock.advance(3 * 60_000);
    expect(errors).toHaveLength(3);
    failing = false;
    await store.saveSigningKeys([...(await store.getSigningKeys())!.keys], 1); // another replica saved
    await clock.advance(60_000);
    expect(seen).toHaveLength(1);
    watch.stop();
  });
});
