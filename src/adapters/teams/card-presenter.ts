import type { Presenter } from '../../app/presenter';
import type { AccessRequest } from '../../domain/request';
import type { Clock } from '../../ports/clock';
import { renderApprovalCard, renderNotice, renderReceiptCard, type NoticeKind } from '../../cards';

/** The worker's view of the cards: what everyone in the channel and the requester see. */
export class CardPresenter implements Presenter {
  constructor(private readonly deps: { clock: Clock }) {}

  approvalCard(request: AccessRequest): object {
    return renderApprovalCard({ request, viewer: 'other', now: this.deps.clock.now() });
  }

  receiptCard(request: AccessRequest): object {
    return renderReceiptCard({ request, now: this.deps.clock.now() });
  }

  notice(template: string, request: AccessRequest, audience: 'channel' | 'requester') {
    return renderNotice(template as NoticeKind, { request, now: this.deps.clock.now(), audience });
  }
}
