import {
  TeamsActivityHandler,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type InvokeResponse,
} from 'botbuilder';
import { renderMessageCard } from '../../cards';
import { DomainError } from '../../domain/errors';
import type { BotDeps } from './bot-deps';
import { assertTenant, tenantOf } from './actor';
import { MessageHandler } from './message-handler';
import { InvokeHandler, cardResponse } from './invoke-handler';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isGuid = (value: unknown): value is string => typeof value === 'string' && GUID.test(value);

/** The Teams entry point: messages become commands, card clicks become decisions. */
export class TimeboxBot extends TeamsActivityHandler {
  private readonly messages: MessageHandler;
  private readonly invokes: InvokeHandler;

  constructor(private readonly deps: BotDeps) {
    super();
    this.messages = new MessageHandler(deps);
    this.invokes = new InvokeHandler(deps);
    this.onMessage(async (context, next) => {
      await this.remember(context);
      await this.messages.handle(context);
      await next();
    });
  }

  /**
   * Timebox answers only `adaptiveCard/action` invokes. botbuilder answers any other invoke name
   * with a 501 and throws a TypeError on a card action whose value is not an object; both would
   * read as outages. A card action that is not one gets the usual "not an action" card; any other
   * invoke a 400.
   */
  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name !== 'adaptiveCard/action')
      return { status: 400, body: { error: 'Timebox answers only adaptiveCard/action invokes.' } };
    const value = context.activity.value as { action?: unknown } | undefined;
    if (
      !value ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      !value.action ||
      typeof value.action !== 'object' ||
      Array.isArray(value.action)
    ) {
      const response = cardResponse(
        renderMessageCard('That action is not one Timebox knows; nothing was changed.', 'attention'),
      );
      return { status: 200, body: response };
    }
    return super.onInvokeActivity(context);
  }

  protected override async onAdaptiveCardInvoke(
    context: TurnContext,
    value: AdaptiveCardInvokeValue,
  ): Promise<AdaptiveCardInvokeResponse> {
    await this.remember(context);
    return this.invokes.handle(context, value);
  }

  /** Learns how to reach this tenant and this person later (proactive messages). */
  private async remember(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const tenantId = tenantOf(activity);
    try {
      assertTenant(activity, this.deps.tenantId);
    } catch {
      return; // refused later; learn nothing from it
    }
    try {
      if (activity.recipient?.id) this.deps.onBotId?.(activity.recipient.id);
      // NB: tenant and user ids become keys of the store's maps: only Entra ids (GUIDs) are
      // remembered, never "__proto__" or anything else a local caller may send.
      if (isGuid(tenantId) && activity.serviceUrl)
        await this.deps.store.saveServiceUrl(tenantId, activity.serviceUrl);
      const userId = activity.from?.aadObjectId;
      if (isGuid(userId) && activity.conversation?.conversationType === 'personal') {
        await this.deps.store.savePersonalChat(userId, {
          serviceUrl: activity.serviceUrl,
          tenantId,
          conversationId: activity.conversation.id,
          userId: activity.from.id,
          botId: activity.recipient.id,
        });
      }
    } catch (error) {
      // Not fatal for this turn: the command still runs; only proactive messages may miss.
      this.deps.logger.warn(
        { err: error instanceof DomainError ? error.message : error },
        'could not remember the conversation',
      );
    }
  }
}
