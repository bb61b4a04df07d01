import type { Activity } from 'botbuilder';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { validTimeZone } from '../../domain/time-zone';
import type { Person } from '../../domain/request';
import type { Directory } from '../../ports/directory';

/**
 * Who is acting, from the authenticated activity only: `from.aadObjectId`, enriched from the
 * directory (never from a card, never from the display name the client sent).
 */
export async function actorOf(
  activity: Activity,
  directory: Directory,
  expectedTenantId?: string,
): Promise<Person> {
  assertTenant(activity, expectedTenantId);
  const id = activity.from?.aadObjectId;
  if (!id) {
    throw new DomainError(
      ErrorCodes.UNAUTHENTICATED,
      'Timebox only works for signed-in Microsoft Entra users (no aadObjectId on this message).',
    );
  }
  const user = await directory.findUser(id);
  if (!user) {
    throw new DomainError(
      ErrorCodes.DIRECTORY_USER_NOT_FOUND,
      "Your account was not found in the directory; ask an admin to check Timebox's Graph permissions.",
    );
  }
  return { id: user.id, name: user.displayName, upn: user.userPrincipalName };
}

/** Refuses an activity from any tenant but `expectedTenantId` (MicrosoftAppTenantId), when set. */
export function assertTenant(activity: Activity, expectedTenantId?: string): void {
  if (!expectedTenantId) return;
  // NB: only conversation.tenantId is believed (Teams sets it); channelData's copy must agree.
  const tenantId = activity.conversation?.tenantId;
  // Teams sets both; an activity whose two tenant fields disagree is refused too.
  const fromChannelData = (activity.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  if (
    tenantId !== expectedTenantId ||
    (fromChannelData !== undefined && fromChannelData !== expectedTenantId)
  ) {
    throw new DomainError(
      ErrorCodes.WRONG_TENANT,
      'Timebox serves only its own organization; this message came from another tenant.',
      { tenantId: String(tenantId).slice(0, 64) },
    );
  }
}

/** Who an activity says it is from, for the audit of a refusal when no actor could be established (clipped). */
export function claimedIdentity(activity: Activity): Record<string, unknown> {
  const clip = (value: unknown, max: number) => (typeof value === 'string' ? value.slice(0, max) : undefined);
  return {
    claimed: {
      aadObjectId: clip(activity.from?.aadObjectId, 64),
      name: clip(activity.from?.name, 80),
      tenantId: clip(tenantOf(activity), 64),
    },
  };
}

export function tenantOf(activity: Activity): string | undefined {
  return (
    activity.conversation?.tenantId ??
    (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id
  );
}

/**
 * The sender's time zone, when Teams tells it (`localTimezone`, an IANA name, on messages and
 * invokes) and it is a real zone; anything else is the sender's text and is ignored.
 */
export function timeZoneOf(activity: Activity): string | undefined {
  return validTimeZone(activity.localTimezone as unknown);
}
