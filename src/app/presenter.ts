import type { NoticeKind } from '../cards/notice';
import type { AccessRequest, ListCardRef } from '../domain/request';
import type { OutgoingMessage } from '../ports/notifier';

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
}
