import { CardFactory, type CloudAdapter, type ConversationReference, type Activity, type TurnContext } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { ChannelTarget, MessageRef, Notifier, OutgoingMessage, PersonalChat } from '../../ports/notifier';

/** Teams errors that retrying cannot fix (the app was removed, blocked or disabled). */
const PERMANENT_CODES = ['BotNotInConversationRoster', 'ConversationBlockedByUser', 'BotDisabledByAdmin', 'ConversationNotFound'];
const TRANSIENT_STATUS = [408, 412, 429, 500, 502, 503, 504];

/**
 * Sends through the Bot Connector with botbuilder's CloudAdapter (proactively: outside of any
 * incoming turn). Connector errors become CONNECTOR_FAILED (retryable) or CONNECTOR_PERMANENT.
 */
export class TeamsNotifier implements Notifier {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    /** The bot's Teams id (28:...), used when starting conversations. */
    private botId: () => string,
  ) {}

  async postToChannel(channel: ChannelTarget, message: OutgoingMessage): Promise<MessageRef> {
    let result: MessageRef | undefined;
    await this.continueIn(channel.serviceUrl, channel.channelId, channel.tenantId, async (context) => {
      const client = context.turnState.get<ConnectorClient>(context.adapter.ConnectorClientKey);
      // NB: createConversation, not TeamsInfo.sendMessageToTeamsChannel: we need both the new
      // thread's conversation id and its first message's id to update the card later.
      const created = await client.conversations.createConversation({
        isGroup: true,
        bot: { id: this.botId(), name: 'Timebox' },
        tenantId: channel.tenantId,
        channelData: { channel: { id: channel.channelId }, team: { id: channel.teamId }, ...(channel.tenantId ? { tenant: { id: channel.tenantId } } : {}) },
        activity: toActivity(message) as Activity,
        members: [],
      });
      result = { serviceUrl: channel.serviceUrl, conversationId: created.id!, activityId: created.activityId ?? created.id! };
    });
    return result!;
  }

  async updateCard(ref: MessageRef, card: object): Promise<void> {
    await this.continueIn(ref.serviceUrl, ref.conversationId, undefined, async (context) => {
      await context.updateActivity({ id: ref.activityId, type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
    });
  }

  async replyInThread(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    const threadId = ref.conversationId.includes(';messageid=') ? ref.conversationId : `${ref.conversationId};messageid=${ref.activityId}`;
    await this.continueIn(ref.serviceUrl, threadId, undefined, async (context) => {
      await context.sendActivity(toActivity(message));
    });
  }

  async sendToPerson(chat: PersonalChat, message: OutgoingMessage): Promise<MessageRef> {
    let id = '';
    await this.continueIn(chat.serviceUrl, chat.conversationId, chat.tenantId, async (context) => {
      id = (await context.sendActivity(toActivity(message)))?.id ?? '';
    }, chat.botId);
    return { serviceUrl: chat.serviceUrl, conversationId: chat.conversationId, activityId: id };
  }

  private async continueIn(serviceUrl: string, conversationId: string, tenantId: string | undefined, logic: (context: TurnContext) => Promise<void>, botId?: string): Promise<void> {
    const reference: Partial<ConversationReference> = {
      channelId: 'msteams',
      serviceUrl,
      conversation: { id: conversationId, isGroup: false, conversationType: '', name: '', ...(tenantId ? { tenantId } : {}) },
      bot: { id: botId ?? this.botId(), name: 'Timebox' },
    };
    try {
      // An empty app id, not undefined, in local mode: undefined breaks continueConversationAsync.
      await this.adapter.continueConversationAsync(this.appId, reference, logic);
    } catch (error) {
      throw toDomainError(error);
    }
  }
}

/** Card-only activities where a card is sent: text beside a card loses the message id. */
export function toActivity(message: OutgoingMessage): Partial<Activity> {
  const entities = (message.mentions ?? []).map((m) => ({
    type: 'mention',
    text: `<at>${m.name}</at>`,
    mentioned: { id: m.id, name: m.name },
  }));
  if (message.card) {
    return { type: 'message', attachments: [CardFactory.adaptiveCard(message.card)], ...(entities.length ? { entities } : {}) };
  }
  return { type: 'message', text: message.text ?? '', textFormat: entities.length ? 'xml' : 'plain', ...(entities.length ? { entities } : {}) };
}

function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string; body?: { error?: { code?: string } } };
  const code = e.body?.error?.code ?? e.code ?? '';
  const status = e.statusCode ?? 0;
  const message = `Bot Connector: ${status || ''} ${code} ${e.message ?? String(error)}`.replace(/\s+/g, ' ').trim();
  if (PERMANENT_CODES.includes(code) || (status >= 400 && status < 500 && !TRANSIENT_STATUS.includes(status))) {
    return new DomainError(ErrorCodes.CONNECTOR_PERMANENT, message, { status, code });
  }
  return new DomainError(ErrorCodes.CONNECTOR_FAILED, message, { status, code });
}
