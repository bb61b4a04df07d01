import type { NoticeKind } from '../cards/notice';
import type { AccessRequest, ListCardRef } from '../domain/request';
import type { Policy } from '../domain/policy';
import type { OutgoingMessage } from '../ports/notifier';
import type { Store } from '../ports/store';

/** How the worker turns a request into what people see; built from src/cards in main.ts. */
export interface Presenter {
  /** The approval card as everyone in the channel sees it. */
  approvalCard(request: AccessRequest): Promise<object> | object;
  /** The requester's receipt card in personal chat. */
  receiptCard(request: AccessRequest): Promise<object> | object;
  /** A thread reply (`audience: 'channel'`) or a personal message (`'requester'`). */
  notice(
    template: NoticeKind,
    request: AccessRequest,
    audience: 'channel' | 'requester',
    data?: Record<string, unknown>,
  ): Promise<OutgoingMessage> | OutgoingMessage;
  /** A posted list card (`pending`, `status`) as its viewer's list is now, and the requests it shows. */
  listCard(ref: ListCardRef): Promise<{ card: object; shownIds: string[] }>;
  /**
   * The approvers of a pending request who are away (automatic replies on), of how many the
   * card names; absent where nothing tells (no roster, no directory).
   */
  awayApprovers?(request: AccessRequest): Promise<{ away: string[]; total: number }>;
}

/** The zone a person's cards are shown in: the one their latest activity told (UTC when none). */
export async function personTimeZone(
  store: Pick<Store, 'getPersonalChat'>,
  personId: string,
): Promise<string | undefined> {
  return (await store.getPersonalChat(personId))?.timeZone;
}

/** The zone of the request's approver channel (policy `timeZone`; UTC when none). */
export function channelTimeZone(policy: Policy, request: AccessRequest): string | undefined {
  return policy.approverChannels[request.approverChannel]?.timeZone;
}
