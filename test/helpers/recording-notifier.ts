import type {
  ChannelTarget,
  MessageRef,
  Notifier,
  OutgoingMessage,
  PersonalChat,
} from '../../src/ports/notifier';

export type NotifierOp = keyof Notifier;

export interface Sent {
  op: NotifierOp;
  /** The channel, thread, card or chat it went to. */
  to: string;
  message?: OutgoingMessage;
  card?: object;
  ref?: MessageRef;
}

/**
 * The Notifier port in memory: records every post, update, thread reply and personal message
 * (in order, in `sent`), hands out message refs, and fails on demand.
 */
export class RecordingNotifier implements Notifier {
  readonly sent: Sent[] = [];
  private counter = 1;
  private faults: Array<{ op: NotifierOp; error: () => Error; times: number }> = [];

  failNext(op: NotifierOp, error: () => Error, times = 1): void {
    this.faults.push({ op, error, times });
  }

  async postToChannel(channel: ChannelTarget, message: OutgoingMessage): Promise<MessageRef> {
    this.fault('postToChannel');
    const activityId = String(this.counter++);
    const ref = {
      serviceUrl: channel.serviceUrl,
      conversationId: `${channel.channelId};messageid=${activityId}`,
      activityId,
    };
    this.sent.push({ op: 'postToChannel', to: channel.channelId, message, ref });
    return ref;
  }

  async updateCard(ref: MessageRef, card: object): Promise<void> {
    this.fault('updateCard');
    this.sent.push({ op: 'updateCard', to: ref.activityId, card, ref });
  }

  async replyInThread(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    this.fault('replyInThread');
    this.sent.push({ op: 'replyInThread', to: ref.activityId, message, ref });
  }

  async sendToPerson(chat: PersonalChat, message: OutgoingMessage): Promise<MessageRef> {
    this.fault('sendToPerson');
    const ref = {
      serviceUrl: chat.serviceUrl,
      conversationId: chat.conversationId,
      activityId: String(this.counter++),
    };
    this.sent.push({ op: 'sendToPerson', to: chat.conversationId, message, ref });
    return ref;
  }

  /** Thread replies under one approval card (its activity id), as their `text`. */
  repliesUnder(activityId: string | undefined): string[] {
    return this.sent
      .filter((s) => s.op === 'replyInThread' && s.to === activityId)
      .map((s) => s.message?.text ?? '');
  }

  /** Personal messages to one chat, as their `text` (cards without text give ''). */
  messagesTo(conversationId: string): string[] {
    return this.sent
      .filter((s) => s.op === 'sendToPerson' && s.to === conversationId)
      .map((s) => s.message?.text ?? '');
  }

  /** The last card an approval card (or receipt) was updated to. */
  lastCardOf(activityId: string | undefined): object | undefined {
    return [...this.sent].reverse().find((s) => s.op === 'updateCard' && s.to === activityId)?.card;
  }

  count(op: NotifierOp): number {
    return this.sent.filter((s) => s.op === op).length;
  }

  private fault(op: NotifierOp): void {
    const fault = this.faults.find((f) => f.op === op);
    if (!fault) return;
    fault.times -= 1;
    if (fault.times <= 0) this.faults = this.faults.filter((f) => f !== fault);
    throw fault.error();
  }
}
