import {
  CardFactory,
  type CloudAdapter,
  type ConversationReference,
  type Activity,
  type TurnContext,
} from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type {
  ChannelTarget,
  MessageRef,
  Notifier,
  OutgoingMessage,
  PersonalChat,
} from '../../ports/notifier';

/** Teams errors that retrying cannot fix (the app was removed, blocked or disabled). */
const PERMANENT_CODES = [
  'BotNotInConversationRoster',
  'ConversationBlockedByUser',
  'BotDisabledByAdmin',
  'ConversationNotFound',
];
/** Statuses the Bot Connector documents as "try again" (429/412/502/504), and their kin. */
const TRANSIENT_STATUS = [408, 412, 429, 500, 502, 503, 504];

export interface ConnectorRetryPolicy {
  /** Attempts of one call in all, the first included (1 = no retry here). */
  maxAttempts: number;
  /** First backoff; doubles on each retry, with jitter ("equal jitter": half to all of it). */
  baseDelayMs: number;
  /**
   * Longest wait inside one call. A longer Retry-After is not slept through: the call fails
   * as CONNECTOR_FAILED with `details.retryAfterMs`, and the outbox tries again after it.
   */
  maxDelayMs: number;
}

const defaultConnectorRetry: ConnectorRetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 5_000 };

export interface TeamsNotifierOptions {
  retry?: Partial<ConnectorRetryPolicy>;
  /** Test seams. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (event: { attempt: number; delayMs: number; status: number; code: string }) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends through the Bot Connector with botbuilder's CloudAdapter (proactively: outside of any
 * incoming turn). Transient answers (429/412/502/504, 500/503, network errors) are retried
 * here with backoff and jitter, honouring Retry-After; what is still failing after that
 * becomes CONNECTOR_FAILED (the outbox retries it later), and what cannot succeed
 * (403 BotNotInConversationRoster and kin, other 4xx) becomes CONNECTOR_PERMANENT at once.
 *
 * NB: botbuilder's connector client has its own retry policy (3 retries, 1-2-4 s, 5xx only,
 * 429 only with Retry-After, never 412). Each call removes it, so that there is one retry
 * policy, with one budget, that the tests can see: an effect never sits in a hidden backoff.
 */
export class TeamsNotifier implements Notifier {
  private readonly retry: ConnectorRetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    /** The bot's Teams id (28:...), used when starting conversations. */
    private botId: () => string,
    private readonly options: TeamsNotifierOptions = {},
  ) {
    this.retry = { ...defaultConnectorRetry, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  async postToChannel(channel: ChannelTarget, message: OutgoingMessage): Promise<MessageRef> {
    let result: MessageRef | undefined;
    await this.continueIn(channel.serviceUrl, channel.channelId, channel.tenantId, async (context) => {
      const client = connectorOf(context);
      // NB: createConversation, not TeamsInfo.sendMessageToTeamsChannel: we need both the new
      // thread's conversation id and its first message's id to update the card later.
      const created = await client.conversations.createConversation({
        isGroup: true,
        bot: { id: this.botId(), name: 'Timebox' },
        tenantId: channel.tenantId,
        channelData: {
          channel: { id: channel.channelId },
          team: { id: channel.teamId },
          ...(channel.tenantId ? { tenant: { id: channel.tenantId } } : {}),
        },
        activity: toActivity(message) as Activity,
        members: [],
      });
      result = {
        serviceUrl: channel.serviceUrl,
        conversationId: created.id!,
        activityId: created.activityId ?? created.id!,
      };
    });
    return result!;
  }

  async updateCard(ref: MessageRef, card: object): Promise<void> {
    await this.continueIn(ref.serviceUrl, ref.conversationId, undefined, async (context) => {
      connectorOf(context);
      await context.updateActivity({
        id: ref.activityId,
        type: 'message',
        attachments: [CardFactory.adaptiveCard(card)],
      });
    });
  }

  async replyInThread(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    const threadId = ref.conversationId.includes(';messageid=')
      ? ref.conversationId
      : `${ref.conversationId};messageid=${ref.activityId}`;
    await this.continueIn(ref.serviceUrl, threadId, undefined, async (context) => {
      connectorOf(context);
      await context.sendActivity(toActivity(message));
    });
  }

  async sendToPerson(chat: PersonalChat, message: OutgoingMessage): Promise<MessageRef> {
    let id = '';
    await this.continueIn(
      chat.serviceUrl,
      chat.conversationId,
      chat.tenantId,
      async (context) => {
        connectorOf(context);
        id = (await context.sendActivity(toActivity(message)))?.id ?? '';
      },
      chat.botId,
    );
    return { serviceUrl: chat.serviceUrl, conversationId: chat.conversationId, activityId: id };
  }

  /**
   * One Bot Connector operation with this notifier's retries. An attempt that fails after the
   * connector did the work (a 502 after the post landed) is repeated: at least once, as the
   * outbox promises; a duplicate notice beats a lost one.
   */
  private async continueIn(
    serviceUrl: string,
    conversationId: string,
    tenantId: string | undefined,
    logic: (context: TurnContext) => Promise<void>,
    botId?: string,
  ): Promise<void> {
    const reference: Partial<ConversationReference> = {
      channelId: 'msteams',
      serviceUrl,
      // NB: no conversationType: connectors (the Agents Playground among them) reject an empty one.
      conversation: {
        id: conversationId,
        ...(tenantId ? { tenantId } : {}),
      } as ConversationReference['conversation'],
      bot: { id: botId ?? this.botId(), name: 'Timebox' },
    };
    const { maxAttempts, maxDelayMs } = this.retry;
    for (let attempt = 1; ; attempt++) {
      let failure: DomainError;
      try {
        // NB: CloudAdapter runs `logic` as a turn, and a turn's error goes to adapter.onTurnError,
        // which logs it and returns: continueConversationAsync would resolve as if the send had
        // worked (no retry, no record, an empty message id). The error is caught inside the turn
        // instead and thrown here, where the retries and the outbox see it.
        let inTurn: { error: unknown } | undefined;
        // An empty app id, not undefined, in local mode: undefined breaks continueConversationAsync.
        await this.adapter.continueConversationAsync(this.appId, reference, async (context) => {
          try {
            await logic(context);
          } catch (error) {
            inTurn = { error };
          }
        });
        if (!inTurn) return;
        failure = toDomainError(inTurn.error);
      } catch (error) {
        failure = toDomainError(error);
      }
      if (failure.code !== ErrorCodes.CONNECTOR_FAILED || attempt >= Math.max(1, maxAttempts)) throw failure;
      const asked = failure.details.retryAfterMs as number | undefined;
      if (asked !== undefined && asked > maxDelayMs) throw failure; // the outbox waits that long, not this call
      const delayMs = asked ?? this.backoffMs(attempt);
      this.options.onRetry?.({
        attempt,
        delayMs,
        status: Number(failure.details.status) || 0,
        code: String(failure.details.code ?? ''),
      });
      await this.sleep(delayMs);
    }
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }
}

/**
 * The connector client CloudAdapter made for this proactive turn, with botbuilder's built-in
 * retry policy taken out (see the class comment). Every operation calls it before its first
 * request; the client is new for each turn, so nothing else is affected.
 */
function connectorOf(context: TurnContext): ConnectorClient {
  const client = context.turnState.get<ConnectorClient>(context.adapter.ConnectorClientKey);
  const pipeline = (
    client as unknown as { client?: { pipeline?: { removePolicy(options: { name: string }): unknown } } }
  ).client?.pipeline;
  pipeline?.removePolicy({ name: 'defaultRetryPolicy' });
  return client;
}

/** Card-only activities where a card is sent: text beside a card loses the message id. */
export function toActivity(message: OutgoingMessage): Partial<Activity> {
  const entities = (message.mentions ?? []).map((m) => ({
    type: 'mention',
    text: `<at>${m.name}</at>`,
    mentioned: { id: m.id, name: m.name },
  }));
  if (message.card) {
    return {
      type: 'message',
      attachments: [CardFactory.adaptiveCard(message.card)],
      ...(entities.length ? { entities } : {}),
    };
  }
  return {
    type: 'message',
    text: message.text ?? '',
    textFormat: entities.length ? 'xml' : 'plain',
    ...(entities.length ? { entities } : {}),
  };
}

function toDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const e = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    body?: { error?: { code?: string } };
    details?: { error?: { code?: string } };
    response?: { headers?: { get?(name: string): string | undefined | null } };
  };
  // RestError (botbuilder's connector client) carries the parsed body in `details`; a network
  // failure has a code such as REQUEST_SEND_ERROR and no status.
  const code = e.body?.error?.code ?? e.details?.error?.code ?? e.code ?? '';
  const status = e.statusCode ?? 0;
  const retryAfterMs = parseRetryAfter(e.response?.headers?.get?.('retry-after'));
  const message = `Bot Connector: ${status || ''} ${code} ${e.message ?? String(error)}`
    .replace(/\s+/g, ' ')
    .trim();
  const details = { status, code, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (
    PERMANENT_CODES.includes(code) ||
    (status >= 400 && status < 500 && !TRANSIENT_STATUS.includes(status))
  ) {
    return new DomainError(ErrorCodes.CONNECTOR_PERMANENT, message, details);
  }
  return new DomainError(ErrorCodes.CONNECTOR_FAILED, message, details);
}

/** Retry-After as delta-seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
