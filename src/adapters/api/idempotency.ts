import { createHash } from 'node:crypto';
import { newRequestId } from '../../domain/ids';
import type { AccessRequest } from '../../domain/request';
import type { ApiRequestBody } from './request-body';
import type { Problem } from './problem';

/** How many ids one key may try: each step past 0 is a random collision with another request. */
const MAX_COUNTER = 8;
const MAX_KEY_LENGTH = 200;
/** Printable ASCII, as an HTTP structured-field string allows; anything else is refused, not cleaned. */
const PRINTABLE = /^[\x20-\x7e]+$/;

type KeyCheck = { ok: true; key?: string } | { ok: false; problem: Problem };

/** The `Idempotency-Key` header: absent, or 1–200 printable ASCII characters. */
export function idempotencyKeyOf(header: string | string[] | undefined): KeyCheck {
  if (header === undefined) return { ok: true };
  const key = Array.isArray(header) ? header.join(', ') : header;
  if (key.length >= 1 && key.length <= MAX_KEY_LENGTH && PRINTABLE.test(key)) return { ok: true, key };
  return {
    ok: false,
    problem: {
      status: 400,
      code: 'idempotency.key_invalid',
      title: 'The Idempotency-Key header is not valid',
      detail: `Give 1 to ${MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID, the same for every retry of one request.`,
    },
  };
}

/**
 * A hash of what the body asks for, once parsed: "30m" and "PT30M" are the same ask, and the
 * order of keys does not matter.
 */
export function bodyHashOf(body: ApiRequestBody): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The request id a client's key maps onto: sha256(appId, key, counter) drawn onto the request
 * id alphabet (32 letters: a byte mod 32 is unbiased). Deterministic, so that every replica,
 * and a retry after a crash, finds the request a first attempt filed — with no table of keys.
 */
export function idempotentRequestId(appId: string, key: string, counter: number): string {
  const digest = createHash('sha256').update(`${appId.toLowerCase()}\n${counter}\n${key}`).digest();
  let at = 0;
  return newRequestId((n) => digest[at++]! % n);
}

export type IdempotencyLookup =
  /** The key's request: the same body, so a retry. */
  | { kind: 'replay'; request: AccessRequest }
  /** The key's request was filed with another body. */
  | { kind: 'reused'; request: AccessRequest }
  /** Nothing filed under the key yet: file it with this id. */
  | { kind: 'free'; id: string };

/**
 * Where a key stands: the first of its ids (counter 0, 1, …) that is free or holds this
 * client's request for this key. An id held by an unrelated request (a random id that
 * happened to match) is skipped.
 */
export async function lookUpKey(
  get: (id: string) => Promise<AccessRequest | undefined>,
  appId: string,
  key: string,
  bodyHash: string,
): Promise<IdempotencyLookup> {
  for (let counter = 0; counter < MAX_COUNTER; counter++) {
    const id = idempotentRequestId(appId, key, counter);
    const found = await get(id);
    if (!found) return { kind: 'free', id };
    if (found.client?.appId.toLowerCase() !== appId.toLowerCase() || found.idempotency?.key !== key) continue;
    return found.idempotency.bodyHash === bodyHash
      ? { kind: 'replay', request: found }
      : { kind: 'reused', request: found };
  }
  throw new Error(`Idempotency-Key: ${MAX_COUNTER} ids in a row are taken by other requests`);
}
