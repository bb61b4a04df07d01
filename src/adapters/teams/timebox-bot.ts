import {
  CardFactory,
  TeamsActivityHandler,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type InvokeResponse,
} from 'botbuilder';
import { renderMessageCard } from '../../cards';
import { renderWelcomeCard, type ServedChannel } from '../../cards/welcome-card';
import { DomainError } from '../../domain/errors';
import { rulesFor, type Policy } from '../../domain/policy';
import type { BotDeps } from './bot-deps';
import { actorOf, assertTenant, tenantOf, timeZoneOf } from './actor';
import { MessageHandler } from './message-handler';
import { InvokeHandler, cardResponse } from './invoke-handler';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isGuid = (value: unknown): value is string => typeof value === 'string' && GUID.test(value);
/** A Teams team (or channel) thread id, as the policy names them: nothing else becomes a store key. */
const TEAM_ID = /^19:[A-Za-z0-9_.@:-]{1,200}$/;

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
    // NB: Teams sends both on an install (installationUpdate, and conversationUpdate naming the
    // bot among membersAdded); the store's welcome record makes it one welcome, and never again.
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.welcome(context);
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      const bot = context.activity.recipient?.id;
      // NB: read defensively: a hostile caller may send anything as a member.
      const added: unknown[] = Array.isArray(context.activity.membersAdded)
        ? context.activity.membersAdded
        : [];
      if (bot && added.some((member) => (member as { id?: unknown } | null)?.id === bot))
        await this.welcome(context);
      await next();
    });
  }

  /**
   * The welcome after an install, once per person (personal chat) or team (a team's channel).
   * Group chats get none: no policy setting is about them. A failure is logged, never thrown:
   * Teams would retry the install event.
   */
  private async welcome(context: TurnContext): Promise<void> {
    const activity = context.activity;
    try {
      assertTenant(activity, this.deps.tenantId);
      await this.remember(context);
      const type = activity.conversation?.conversationType;
      const teamId = (activity.channelData as { team?: { id?: unknown } } | undefined)?.team?.id;
      const userId = activity.from?.aadObjectId;
      let key: string;
      let card: object;
      if (type === 'personal' && isGuid(userId)) {
        const actor = await actorOf(activity, this.deps.directory, this.deps.tenantId);
        key = `person:${userId.toLowerCase()}`;
        card = renderWelcomeCard({
          scope: 'personal',
          groups: await this.deps.service.requestableGroups(actor),
        });
      } else if (type === 'channel' && typeof teamId === 'string' && TEAM_ID.test(teamId)) {
        key = `team:${teamId.toLowerCase()}`;
        card = renderWelcomeCard({
          scope: 'team',
          teamId,
          channels: channelsServedBy(this.deps.service.policy, teamId),
        });
      } else {
        return;
      }
      // Marked before it is sent: a lost welcome (a send that fails) beats two of them.
      if (!(await this.deps.store.markWelcomed(key, this.deps.clock.now()))) return;
      await context.sendActivity({ type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
    } catch (error) {
      this.deps.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'could not send the welcome',
      );
    }
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
          // An activity without a zone (some invokes) keeps the one learned before.
          timeZone: timeZoneOf(activity) ?? (await this.deps.store.getPersonalChat(userId))?.timeZone,
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

/** The policy's approver channels in team `teamId`, each with the groups whose requests go there. */
export function channelsServedBy(policy: Policy, teamId: string): ServedChannel[] {
  const aliases = Object.keys(policy.groups);
  return Object.entries(policy.approverChannels)
    .filter(([, channel]) => channel.teamId.toLowerCase() === teamId.toLowerCase())
    .map(([name]) => ({
      name,
      groups: aliases.filter((alias) => rulesFor(policy, alias).approverChannel === name),
    }));
}
