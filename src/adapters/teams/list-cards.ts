import type { AccessService } from '../../app/access-service';
import { personTimeZone } from '../../app/presenter';
import { pendingFor, statusOf } from '../../app/queries';
import { currentDelegations, delegationsOf } from '../../app/delegations';
import type { ListKind, Person } from '../../domain/request';
import type { Clock } from '../../ports/clock';
import type { Store } from '../../ports/store';
import { pendingShown, renderPendingCard, renderStatusCard, statusShown } from '../../cards';

export interface ListDeps {
  store: Store;
  service: AccessService;
  clock: Clock;
}

export interface RenderedList {
  card: object;
  /** Ids of the requests the card shows (and whose buttons it carries). */
  shownIds: string[];
}

/**
 * A list card (`pending`, `status`) for `viewer`, as the store says now: what the command
 * posts, what a click or a refresh on the list answers with, and what the worker updates the
 * posted card to when a request on it changes.
 */
export async function renderList(
  deps: ListDeps,
  list: ListKind,
  viewer: Person,
  options: { userId?: string; error?: string } = {},
): Promise<RenderedList> {
  const now = deps.clock.now();
  // A list is one person's view (refreshed per user), so it reads in that person's zone.
  const timeZone = await personTimeZone(deps.store, viewer.id);
  if (list === 'pending') {
    const requests = await pendingFor(deps, viewer);
    return {
      card: renderPendingCard({
        requests,
        now,
        timeZone,
        refreshUserId: options.userId,
        error: options.error,
      }),
      shownIds: pendingShown(requests).map((r) => r.id),
    };
  }
  const { open, recent } = await statusOf(deps.store, viewer);
  // NB: the list of one's delegations is a nicety on the card: one that cannot be read leaves it out.
  const delegations = await currentDelegations(deps.store, now).catch(() => []);
  return {
    card: renderStatusCard({
      open,
      recent,
      now,
      timeZone,
      delegation: delegationsOf(delegations, viewer, now),
      refreshUserId: options.userId,
      error: options.error,
    }),
    shownIds: statusShown(open).map((r) => r.id),
  };
}
