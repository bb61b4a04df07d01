import { DomainError, ErrorCodes } from '../domain/errors';
import type { Clock } from '../ports/clock';
import type { Store, StoredJwk, StoredSigningKey, StoredSigningKeys } from '../ports/store';

/**
 * The approval-token signing keys kept in the store (§11), so that every replica signs with
 * and publishes the same keys. Which key signs is a function of the stored keys and the time
 * alone, so replicas that read the same set agree without talking to each other:
 * - the first key ever signs at once (no token exists yet that another key could verify);
 * - a rotation adds a key that *activates* `activateAfterMs` later: until then every replica
 *   publishes it (each refreshes more often than that) but none signs with it, so a verifier
 *   holding any replica's JWKS (cached, `max-age`) already knows it when the first token comes;
 * - a key stops signing when the next one activates, and is still published for `retainMs`
 *   after that (the longest an approval token lives), then dropped from the store.
 * Races between replicas are the store's: saves are conditional, and a conflict means another
 * replica saved first — read again and use (or rotate) what it saved.
 */

/** A key as `ApprovalTokens` (adapters/api/approval-tokens.ts) takes it: no `retiredAt` = the one that signs. */
export interface SigningKeyView {
  kid: string;
  privateJwk: StoredJwk;
  createdAt: number;
  /**
   * Published, not signing: since when (the activation of the key after it), or for a key not
   * active yet, its activation (so that it is published from now until well past it).
   */
  retiredAt?: number;
}

export interface SigningKeyOptions {
  /** Rotates once the signing key has signed this long (e.g. 30 days). */
  rotateAfterMs: number;
  /** How long a key stays published after it stopped signing: the longest an approval token lives. */
  retainMs: number;
  /**
   * How long a new key is published before it signs (default 1 h): more than the replicas'
   * refresh interval plus the JWKS cache lifetime (`Cache-Control: max-age`), so every
   * replica, and every verifier's cache, has it in time.
   */
  activateAfterMs?: number;
  /** Makes a new ES256 key (adapters/api/stored-signing-keys.ts `newSigningKeyMaterial`: jose stays in adapters). */
  generate: () => Promise<{ kid: string; privateJwk: StoredJwk }>;
}

export interface LoadedSigningKeys {
  /** The signing key first, then the published ones: what `new ApprovalTokens(keys, …)` takes. */
  keys: SigningKeyView[];
  /** The stored version they were read at. */
  version: number;
  /** When this view changes by itself (an activation, a drop, a rotation due): load again by then. */
  nextChangeAt?: number;
}

export const DEFAULT_ACTIVATE_AFTER_MS = 60 * 60_000;
/** Saves lost to other replicas before giving up (each loss means someone else made progress). */
const MAX_CONFLICTS = 5;

/**
 * Reads the signing keys (creating the first one when there is none), rotates the signing key
 * when it is `rotateAfterMs` old, drops keys whose tokens have all expired, and returns the
 * keys to sign with and publish now. Call it at start-up and again before `nextChangeAt`
 * (`watchSigningKeys` does). Keys given in the environment (TIMEBOX_APPROVAL_KEYS) are the
 * caller's to prefer: this function is for when there are none.
 */
export async function loadOrCreateSigningKeys(
  store: Pick<Store, 'getSigningKeys' | 'saveSigningKeys'>,
  clock: Pick<Clock, 'now'>,
  options: SigningKeyOptions,
): Promise<LoadedSigningKeys> {
  const activateAfterMs = options.activateAfterMs ?? DEFAULT_ACTIVATE_AFTER_MS;
  if (!(options.rotateAfterMs > activateAfterMs) || !(options.retainMs >= 0))
    throw new Error(
      `signing keys: rotateAfterMs (${options.rotateAfterMs}) must be longer than activateAfterMs (${activateAfterMs}), and retainMs at least 0`,
    );
  for (let conflicts = 0; ; conflicts++) {
    const now = clock.now();
    const stored = await store.getSigningKeys();
    let wanted: StoredSigningKey[] | undefined;
    if (!stored || stored.keys.length === 0) {
      wanted = [{ ...(await options.generate()), createdAt: now, activatesAt: now }];
    } else {
      const plan = planKeys(stored.keys, now, options.rotateAfterMs, options.retainMs);
      if (plan.rotate)
        wanted = [
          { ...(await options.generate()), createdAt: now, activatesAt: now + activateAfterMs },
          ...plan.keep,
        ];
      else if (plan.keep.length < stored.keys.length) wanted = plan.keep;
    }
    let current: StoredSigningKeys | undefined = stored;
    if (wanted) {
      try {
        current = await store.saveSigningKeys(wanted, stored?.version ?? null);
      } catch (error) {
        if (isStoreConflict(error) && conflicts < MAX_CONFLICTS) continue; // another replica saved first
        throw error;
      }
    }
    return viewOf(current!, now, options.rotateAfterMs, options.retainMs);
  }
}

export interface SigningKeyWatch {
  stop(): void;
}

/**
 * Loads the keys again before each change of the view (`nextChangeAt`) and at least every
 * `everyMs` (another replica may have rotated), and hands each new view to `onKeys` (rebuild
 * the ApprovalTokens from it). A failure (the store is down) is reported and retried at the
 * next turn: the keys in use stay valid meanwhile.
 */
export function watchSigningKeys(deps: {
  store: Pick<Store, 'getSigningKeys' | 'saveSigningKeys'>;
  clock: Clock;
  options: SigningKeyOptions;
  /** At most this long between two loads (e.g. 10 minutes; well under activateAfterMs). */
  everyMs: number;
  /** The view loaded first, e.g. at start-up. */
  initial: LoadedSigningKeys;
  onKeys: (loaded: LoadedSigningKeys) => void;
  onError?: (error: unknown) => void;
}): SigningKeyWatch {
  const { store, clock, options, everyMs, onKeys, onError } = deps;
  let last = deps.initial;
  let cancel: (() => void) | undefined;
  let stopped = false;
  const arm = () => {
    if (stopped) return;
    const untilChange = last.nextChangeAt === undefined ? everyMs : last.nextChangeAt - clock.now();
    cancel = clock.setTimer(Math.max(0, Math.min(everyMs, untilChange)), () => void turn());
  };
  const turn = async () => {
    try {
      const loaded = await loadOrCreateSigningKeys(store, clock, options);
      if (!stopped && !sameView(loaded, last)) onKeys(loaded);
      last = loaded;
    } catch (error) {
      onError?.(error);
      // NB: not at once again: a view whose change is past would spin while the store is down.
      last = { ...last, nextChangeAt: undefined };
    }
    arm();
  };
  arm();
  return {
    stop() {
      stopped = true;
      cancel?.();
    },
  };
}

interface Plan {
  /** The stored keys to keep, newest first. */
  keep: StoredSigningKey[];
  rotate: boolean;
}

const byActivation = (a: StoredSigningKey, b: StoredSigningKey) =>
  b.activatesAt - a.activatesAt || b.createdAt - a.createdAt;

/** The key that signs at `now`: the last one activated (or, should none be yet, the first to be). */
function signerOf(sorted: StoredSigningKey[], now: number): StoredSigningKey {
  return sorted.find((k) => k.activatesAt <= now) ?? sorted[sorted.length - 1]!;
}

/** Since when each key no longer signs: the activation of the next one that has activated. */
function retirements(sorted: StoredSigningKey[], now: number): Map<StoredSigningKey, number> {
  const signer = signerOf(sorted, now);
  const out = new Map<StoredSigningKey, number>();
  let next: number | undefined;
  for (const key of sorted) {
    if (key.activatesAt > now && key !== signer) continue; // not active yet
    if (key !== signer && next !== undefined) out.set(key, next);
    next = key.activatesAt;
  }
  return out;
}

function planKeys(keys: StoredSigningKey[], now: number, rotateAfterMs: number, retainMs: number): Plan {
  const sorted = [...keys].sort(byActivation);
  const signer = signerOf(sorted, now);
  const retired = retirements(sorted, now);
  const keep = sorted.filter((k) => {
    const since = retired.get(k);
    return since === undefined || now < since + retainMs;
  });
  const pending = sorted.some((k) => k.activatesAt > now && k !== signer);
  return { keep, rotate: !pending && now - signer.activatesAt >= rotateAfterMs };
}

function viewOf(
  stored: StoredSigningKeys,
  now: number,
  rotateAfterMs: number,
  retainMs: number,
): LoadedSigningKeys {
  const sorted = [...stored.keys].sort(byActivation);
  const signer = signerOf(sorted, now);
  const retired = retirements(sorted, now);
  const changes: number[] = [signer.activatesAt + rotateAfterMs];
  const published: SigningKeyView[] = [];
  for (const key of sorted) {
    if (key === signer) continue;
    const since = retired.get(key);
    if (since === undefined) {
      // Not active yet: published from now on, signing from its activation.
      published.push({ ...material(key), retiredAt: key.activatesAt });
      changes.push(key.activatesAt);
    } else if (now < since + retainMs) {
      published.push({ ...material(key), retiredAt: since });
      changes.push(since + retainMs);
    }
  }
  const future = changes.filter((at) => at > now);
  return {
    keys: [material(signer), ...published],
    version: stored.version,
    ...(future.length > 0 ? { nextChangeAt: Math.min(...future) } : {}),
  };
}

function material(key: StoredSigningKey): SigningKeyView {
  return { kid: key.kid, privateJwk: key.privateJwk, createdAt: key.createdAt };
}

function sameView(a: LoadedSigningKeys, b: LoadedSigningKeys): boolean {
  const text = (v: LoadedSigningKeys) => v.keys.map((k) => `${k.kid}:${k.retiredAt ?? '-'}`).join(',');
  return a.version === b.version && text(a) === text(b);
}

function isStoreConflict(error: unknown): boolean {
  return error instanceof DomainError && error.code === ErrorCodes.STORE_CONFLICT;
}
