import {
  TeamsActivityHandler,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
} from 'botbuilder';
import { DomainError } from '../../domain/errors';
import type { BotDeps } from './bot-deps';
import { assertTenant, tenantOf } from './actor';
import { MessageHandler } from './message-handler';
import { InvokeHandler } from './invoke-handler';


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

  protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
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
      if (tenantId && activity.serviceUrl) await this.deps.store.saveServiceUrl(tenantId, activity.serviceUrl);
      const userId = activity.from?.aadObjectId;
      if (userId && activity.conversation?.conversationType === 'personal') {
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
      this.deps.logger.warn({ err: error instanceof DomainError ? error.message : error }, 'could not remember the conversation');
    }
  }
}
