import { DomainError, ErrorCodes } from '../../../domain/errors';
import { writeFailed } from '../store-core';

/**
 * SQLSTATEs that mean "the database cannot do it now, the same call may work later": lost or
 * refused connections (class 08), a server shutting down or starting (57P01-57P03), too many
 * connections, and the two outcomes of concurrent transactions PostgreSQL itself asks to retry.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);
/** Socket-level failures node-postgres passes on as they are. */
const TRANSIENT_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  // No Entra token for the database now (entra-login.ts): its identity endpoint may answer later.
  'TIMEBOX_ENTRA_LOGIN',
]);

export function isTransientPgError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') || TRANSIENT_SQLSTATES.has(code) || TRANSIENT_ERRNOS.has(code))
  )
    return true;
  // node-postgres reports a dropped connection without a code.
  const message = (error as Error).message ?? '';
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}

/** The port's error for a failure: domain errors as they are, STORE_UNAVAILABLE when transient, else STORE_WRITE_FAILED. */
export function storeError(where: string, error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (isTransientPgError(error)) {
    return new DomainError(
      ErrorCodes.STORE_UNAVAILABLE,
      // NB: what a person whose command hit the outage reads (replies.ts passes DomainError messages on).
      'Timebox could not record that: its database is not answering right now, and nothing was changed. Try again in a moment.',
      { where, cause: (error as Error).message },
    );
  }
  return writeFailed(where, error);
}

/** The name of the unique index or constraint a 23505 (unique_violation) is about, if it is one. */
export function uniqueViolation(error: unknown): string | undefined {
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && typeof e.constraint === 'string' ? e.constraint : undefined;
}
