import { pendingDecision, Status, type AccessRequest, type Person } from '../domain/request';
import type { Store } from '../ports/store';
import type { AccessService } from './access-service';

/**
 * The read models: what a person is shown, read from the store as it is now. Every list card,
 * click answer and refresh asks here, so that "pending" and "status" mean one thing everywhere.
 */
export interface QueryDeps {
  store: Store;
  service: Pick<AccessService, 'authorizer' | 'rulesOf'>;
}

/** How many of a person's closed requests `status` shows. */
export const RECENT_CLOSED_SHOWN = 5;

/** "Pending for me": what `viewer` may decide now, pending requests and waiting extensions of groups they approve. */
export async function pendingFor(deps: QueryDeps, viewer: Person): Promise<AccessRequest[]> {
  const { store, service } = deps;
  const open = await store.listOpen({ statuses: [Status.PENDING, Status.ACTIVE] });
  const mine: AccessRequest[] = [];
  for (const r of open) {
    if (pendingDecision(r) && (await service.authorizer.isApprover(service.rulesOf(r), viewer))) mine.push(r);
  }
  return mine;
}

export interface PersonStatus {
  /** The person's open requests (pending, approved, active). */
  open: AccessRequest[];
  /** Their newest closed requests, at most RECENT_CLOSED_SHOWN. */
  recent: AccessRequest[];
}

/** "Status": a person's own open requests and their recent closed ones. */
export async function statusOf(store: Store, person: Person): Promise<PersonStatus> {
  const open = await store.listOpen({ requesterId: person.id });
  const recent = await store.listRecentClosed(person.id, RECENT_CLOSED_SHOWN);
  return { open, recent };
}
