import { TeamsInfo, TurnContext } from 'botbuilder';
import { DelegationService } from '../../app/delegations';
import { formatIn } from '../../cards/time';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { isAction, Status, type ListCardRef, type ListKind, type Person } from '../../domain/request';
import { trackListCard } from '../../app/list-cards';
import { auditIfRefused } from '../../app/refusals';
import { normalizeId } from '../../domain/ids';
import { parseStartTime } from '../../domain/start-time';
import { renderHelpCard, renderRequestForm } from '../../cards';
import { renderReportCard } from '../../cards/report-card';
import { buildReport } from '../../app/report';
import { formatDuration, parseDuration } from '../../domain/duration';
import type { BotDeps } from './bot-deps';
import { actorOf, assertTenant, claimedIdentity, tenantOf, timeZoneOf } from './actor';
import { personTimeZone } from '../../app/presenter';
import { parseCommand, splitTicket, type Command } from './command-parser';
import { replyCard, replyCardAt, replyText, userMessageOf } from './replies';
import { renderList } from './list-cards';
import { withSuggestion } from './did-you-mean';
import {
  extendedElsewhereReply,
  extensionAskedReply,
  filedElsewhereReply,
  overlapReply,
  releaseReply,
} from './extension-reply';

/** Chat commands (PRODUCT.md §3), in personal chat or by @mention in a channel or group chat. */
export class MessageHandler {
  private readonly delegations: DelegationService;

  constructor(private readonly deps: BotDeps) {
    this.delegations =
      deps.delegations ??
      new DelegationService({
        store: deps.store,
        directory: deps.directory,
        authorizer: deps.service.authorizer,
        clock: deps.clock,
      });
  }

  async handle(context: TurnContext): Promise<void> {
    const activity = context.activity;
    const text = TurnContext.removeRecipientMention(activity) ?? activity.text ?? '';
    let actor: Person | undefined;
    let command: Command | undefined;
    try {
      // NB: the tenant first: another tenant's message gets the same answer whatever it says.
      assertTenant(activity, this.deps.tenantId);
      command = parseCommand(text);
      actor = await actorOf(activity, this.deps.directory, this.deps.tenantId);
      await this.run(context, command, actor);
    } catch (error) {
      const requestId = command?.name === 'cancel' ? normalizeId(command.requestId) : undefined;
      await auditIfRefused(this.deps.service, this.deps.logger, {
        action: command?.name ?? 'message',
        error,
        requestId,
        actor,
        detail: actor ? {} : claimedIdentity(activity),
      });
      await replyText(
        context,
        userMessageOf(withSuggestion(error, this.deps.service.policy), this.deps.logger),
      );
    }
  }

  private async run(context: TurnContext, command: Command, actor: Person): Promise<void> {
    const { service } = this.deps;
    const personal = context.activity.conversation?.conversationType === 'personal';
    switch (command.name) {
      case 'request': {
        const groups = await service.requestableGroups(actor);
        if (!command.group || (command.durationMs === undefined && command.rest.length === 0)) {
          const group = command.group ? service.resolveGroup(command.group).alias : undefined;
          return replyCard(context, renderRequestForm({ groups, values: { group } }));
        }
        const rules = service.resolveGroup(command.group);
        const { justification, ticket } = splitTicket(command.rest, rules.ticketPattern);
        // "at 02:00" is 02:00 where the person is: the zone their Teams tells.
        const startsAt =
          command.startText === undefined
            ? undefined
            : parseStartTime(command.startText, this.deps.clock.now(), await this.zoneOf(context, actor));
        const result = await service.submit({
          startsAt,
          requester: actor,
          tenantId: tenantOf(context.activity),
          group: rules.alias,
          durationMs: command.durationMs,
          justification,
          ticket,
          breakGlass: command.breakGlass,
        });
        const r = result.request;
        if (result.outcome === 'extension')
          return replyText(context, overlapReply(r, await this.zoneOf(context, actor)));
        if (!personal) return replyText(context, filedElsewhereReply(r));
        return; // the receipt card comes from the worker, and updates live
      }
      case 'extend': {
        const grant = await this.activeGrant(actor, command.group);
        const r = await service.extend({
          requestId: grant.id,
          actor,
          addedMs: command.durationMs,
          reason: command.reason,
        });
        // One answer per command: an extension made at once is told by the worker's "Access
        // extended" card in personal chat, so only a channel (where that card does not go) gets a line.
        if (r.pendingExtension) return replyText(context, extensionAskedReply(r));
        if (!personal)
          return replyText(context, extendedElsewhereReply(r, await this.zoneOf(context, actor)));
        return;
      }
      case 'release': {
        const grant = await this.activeGrant(actor, command.group);
        const r = await service.release(grant.id, actor);
        return replyText(context, releaseReply(r, personal));
      }
      case 'cancel': {
        const r = await service.cancel(normalizeId(command.requestId), actor);
        return replyText(context, `Cancelled ${r.id} (${r.group.alias}).`);
      }
      case 'status':
      case 'pending':
        return this.postList(context, command.name, actor);
      case 'help':
        return replyCard(context, renderHelpCard({ groups: await service.requestableGroups(actor) }));
      case 'delegate': {
        const zone = await this.zoneOf(context, actor);
        const to = command.to ?? (await this.mentionedPerson(context));
        const { delegation, replaced, notDelegable } = await this.delegations.delegate(
          actor,
          to,
          command.untilText,
          zone,
        );
        const who = delegation.to.upn ? `${delegation.to.name} (${delegation.to.upn})` : delegation.to.name;
        return replyText(
          context,
          [
            `Your approvals go to ${who} until ${formatIn(delegation.until, zone)}: they may approve and deny for you meanwhile (never their own requests).`,
            replaced ? `This replaces your delegation to ${replaced.to.name}.` : '',
            notDelegable.length
              ? `Not for ${notDelegable.join(', ')}: the policy there does not allow delegation.`
              : '',
            'Say "delegate off" to take them back earlier.',
          ]
            .filter(Boolean)
            .join(' '),
        );
      }
      case 'report':
        return this.report(context, command, actor);
      case 'undelegate': {
        const ended = await this.delegations.off(actor);
        return replyText(
          context,
          ended
            ? `Your approvals are yours again: the delegation to ${ended.to.name} has ended.`
            : 'You have no delegation to end: your approvals are yours.',
        );
      }
    }
  }

  /**
   * The one person @mentioned in the message (other than the bot), as their Entra object id:
   * from the mention itself when Teams gives it, else from the conversation's roster, else
   * their display name (looked up in the directory).
   */
  private async mentionedPerson(context: TurnContext): Promise<string> {
    const botId = context.activity.recipient?.id;
    const mentions = TurnContext.getMentions(context.activity).filter((m) => m.mentioned?.id !== botId);
    if (mentions.length !== 1)
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        mentions.length === 0
          ? 'To whom? Say "delegate to <their UPN, name or @mention> until <time>".'
          : 'Mention one person only: "delegate to @name until <time>".',
      );
    const mentioned = mentions[0]!.mentioned;
    if (mentioned.aadObjectId) return mentioned.aadObjectId;
    const member = await TeamsInfo.getMember(context, mentioned.id).catch(() => undefined);
    return member?.aadObjectId ?? mentioned.name ?? '';
  }

  /**
   * Posts a list card (`status`: one's own requests; `pending`: what one may decide now) and
   * records on each request it shows where it is, so that the worker updates the card in place
   * whenever one of them changes; Teams also fetches it again (refresh) when its viewer looks.
   */
  private async postList(context: TurnContext, list: ListKind, actor: Person): Promise<void> {
    const userId = context.activity.from?.id;
    const { card, shownIds } = await renderList(this.deps, list, actor, { userId });
    const activityId = await replyCardAt(context, card);
    const serviceUrl = context.activity.serviceUrl;
    const conversationId = context.activity.conversation?.id;
    if (!activityId || !serviceUrl || !conversationId) return;
    const ref: ListCardRef = {
      serviceUrl,
      conversationId,
      activityId,
      list,
      viewer: actor,
      ...(userId ? { userId } : {}),
    };
    // NB: the card is posted; one the store could not note down still refreshes when viewed.
    await trackListCard(this.deps.store, ref, shownIds).catch((e: unknown) =>
      this.deps.logger.warn(
        { err: e },
        'could not record where a list card is; it will not be updated in place',
      ),
    );
  }

  /**
   * `report [group] [since 30d]`: the insights report card (PRODUCT.md §13), for admins only;
   * anyone else gets NOT_ADMIN, which `handle` audits as a refusal.
   */
  private async report(
    context: TurnContext,
    command: Extract<Command, { name: 'report' }>,
    actor: Person,
  ): Promise<void> {
    const { service, store, clock } = this.deps;
    if (!(await service.authorizer.isAdmin(actor)))
      throw new DomainError(ErrorCodes.NOT_ADMIN, 'Only Timebox admins can see the report.');
    const now = clock.now();
    const text = command.since ?? '30d';
    let since: number;
    let periodText: string;
    if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
      since = Date.parse(`${text}T00:00:00Z`);
      periodText = `since ${text}`;
    } else {
      let ms: number;
      try {
        ms = parseDuration(text);
      } catch {
        throw new DomainError(
          ErrorCodes.COMMAND_INVALID,
          `"${text.slice(0, 30)}" is not a period: use a duration back from now (7d, 12h) or a date (2026-11-01), e.g. "report db-read since 7d".`,
        );
      }
      since = now - ms;
      periodText = `last ${formatDuration(ms)}`;
    }
    const group = command.group === undefined ? undefined : service.resolveGroup(command.group).alias;
    const report = await buildReport(store, service.policy, clock, {
      since,
      until: now,
      ...(group !== undefined ? { group } : {}),
    });
    return replyCard(
      context,
      renderReportCard({
        report,
        periodText: group === undefined ? periodText : `${group}, ${periodText}`,
        cli: `timebox report --since ${text}${group === undefined ? '' : ` --group ${group}`}`,
      }),
    );
  }

  /** The zone this activity's Teams client told, else the one learned from the person's earlier ones. */
  private async zoneOf(context: TurnContext, actor: Person): Promise<string | undefined> {
    return timeZoneOf(context.activity) ?? personTimeZone(this.deps.store, actor.id);
  }

  private async activeGrant(actor: Person, groupText: string) {
    let alias: string;
    try {
      alias = this.deps.service.resolveGroup(groupText).alias;
    } catch (error) {
      // A group gone from the policy: one's grant of it can still be released (and is told why it cannot be extended).
      const [orphan] = await this.deps.store.listOpen({
        requesterId: actor.id,
        groupAlias: groupText.trim().toLowerCase(),
        statuses: [Status.ACTIVE],
      });
      if (orphan && !Object.hasOwn(this.deps.service.policy.groups, orphan.group.alias)) return orphan;
      throw error;
    }
    // An action's approval is held while approved (there is no membership to become active).
    const [grant] = (
      await this.deps.store.listOpen({
        requesterId: actor.id,
        groupAlias: alias,
        statuses: [Status.ACTIVE, Status.APPROVED],
      })
    ).filter((r) => r.status === Status.ACTIVE || isAction(r));
    if (!grant)
      throw new DomainError(
        ErrorCodes.GRANT_NOT_FOUND,
        `You have no active grant for ${alias}. "status" shows what you hold.`,
      );
    return grant;
  }
}
