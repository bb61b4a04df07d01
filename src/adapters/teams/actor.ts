import type { Activity } from 'botbuilder';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { Person } from '../../domain/request';
import type { Directory } from '../../ports/directory';

/**
 * Who is acting, from the authenticated activity only: `from.aadObjectId`, enriched from the
 * directory (never from a card, never from the display name the client sent).
 */
export async function actorOf(activity: Activity, directory: Directory, expectedTenantId?: string): Promise<Person> {
  const tenantId = tenantOf(activity);
  if (expectedTenantId && tenantId !== expectedTenantId) {
    throw new DomainError(ErrorCodes.WRONG_TENANT, 'Timebox serves only its own organization; this message came from another tenant.', { tenantId });
  }
  const id = activity.from?.aadObjectId;
  if (!id) {
    throw new DomainError(ErrorCodes.UNAUTHENTICATED, 'Timebox only works for signed-in Microsoft Entra users (no aadObjectId on this message).');
  }
  const user = await directory.findUser(id);
  if (!user) {
    throw new DomainError(ErrorCodes.DIRECTORY_USER_NOT_FOUND, 'Your account was not found in the directory; ask an admin to check Timebox\'s Graph permissions.');
  }
  return { id: user.id, name: user.displayName, upn: user.userPrincipalName };
}

export function tenantOf(activity: Activity): string | undefined {
  return activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
}
