import { currentDelegations, delegationsOf } from '../../app/delegations';
import type { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TurnContext } from 'botbuilder';
import { z } from 'zod';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { formatDuration, parseDuration } from '../../domain/duration';
import { parseStartTime } from '../../domain/start-time';
import {
  DECISION_SUBJECT_PATTERN,
  describeStatus,
  sameId,
  type AccessRequest,
  type DecisionSubject,
  type Person,
} from '../../domain/request';
import { normalizeId } from '../../domain/ids';
import type { SubmitResult } from '../../app/access-service';
import { channelTimeZone, personTimeZone } from '../../app/presenter';
import { statusOf } from '../../app/queries';
import { auditIfRefused } from '../../app/refusals';
import {
  CardVerb,
  renderApprovalCard,
  renderReceiptCard,
  renderRequestForm,
  renderStatusCard,
  renderMessageCard,
  type Viewer,
} from '../../cards';
import type { BotDeps } from './bot-deps';
import { actorOf, claimedIdentity, tenantOf } from './actor';
import { splitTicket } from './command-parser';
import { userMessageOf } from './replies';
import { withSuggestion } from './did-you-mean';
import { renderList } from './list-cards';
import { filedElsewhereReply, overlapReply } from './extension-reply';

const text = (max: number) => z.string().max(max).optional();

/** Which list card a click came from: it is answered with that list, rendered again for the clicker. */
const listSchema = z.enum(['pending', 'status']).optional();

/**
 * What a card click may carry. The verb, the request id and, on a decision button, the
 * decision it is for (`subject`: `request` or `extension:<n>`) identify the action; `list`
 * says which list card it came from; the rest are the values of the card's own inputs. Who
 * may act, and on what state, is decided from the store and the activity's sender — never
 * from this data.
 */
const invokeSchema = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: z.enum(Object.values(CardVerb) as [CardVerb, ...CardVerb[]]),
    data: z
      .object({
        requestId: z
          .string()
          .max(20)
          .regex(/^[A-Za-z0-9-]+$/)
          .optional(),
        subject: z.string().regex(DECISION_SUBJECT_PATTERN).optional(),
        list: listSchema,
        reason: text(1000),
        duration: text(20),
        group: text(200),
        justification: text(1000),
        ticket: text(100),
        start: text(40),
      })
      .passthrough()
      .optional(),
  }),
  trigger: z.enum(['manual', 'automatic']).optional(),
});

type Click = z.infer<typeof invokeSchema>;

/** The envelope alone (a known verb, a well-formed request id): enough to answer with the current card. */
const envelopeSchema = z.object({
  action: z.object({
    type: z.literal('Action.Execute'),
    verb: invokeSchema.shape.action.shape.verb,
    data: z
      .object({
        requestId: z
          .string()
          .max(20)
          .regex(/^[A-Za-z0-9-]+$/)
          .optional(),
        list: listSchema.catch(undefined),
      })
      .optional(),
  }),
  trigger: invokeSchema.shape.trigger,
});

/** What to fix in a known action whose inputs are out of bounds (too long, wrong type). */
function describeInvalid(error: z.ZodError): string {
  const issue = error.issues.find(
    (i) => i.path[0] === 'action' && i.path[1] === 'data' && typeof i.path[2] === 'string',
  );
  const field = issue ? String(issue.path[2]) : undefined;
  if (issue?.code === 'too_big')
    return `The ${field} is too long: keep it under ${String((issue as { maximum?: unknown }).maximum)} characters. Nothing was changed.`;
  if (field) return `The ${field} is not valid. Nothing was changed.`;
  return 'That action is not one Timebox knows; nothing was changed.';
}

/** Card input values clipped to what the form may show back. */
function clippedValues(value: unknown): Record<string, string | undefined> {
  const data = ((value as { action?: { data?: Record<string, unknown> } } | undefined)?.action?.data ??
    {}) as Record<string, unknown>;
  const clip = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : undefined);
  return {
    group: clip(data.group, 200),
    duration: clip(data.duration, 20),
    justification: clip(data.justification, 1000),
    ticket: clip(data.ticket, 100),
    start: clip(data.start, 40),
  };
}

export function cardResponse(card: object): AdaptiveCardInvokeResponse {
  return {
    statusCode: 200,
    type: 'application/vnd.microsoft.card.adaptive',
    value: card as Record<string, unknown>,
  };
}

export class InvokeHandler {
  constructor(private readonly deps: BotDeps) {}

  async handle(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    // NB: botbuilder's parsed value drops `trigger`; read it from the activity itself, since an
    // automatic refresh must never change state.
    const raw = context.activity.value as { trigger?: unknown } | undefined;
    const parsed = invokeSchema.safeParse({ ...value, trigger: raw?.trigger });
    if (!parsed.success) return this.invalid(context, { ...value, trigger: raw?.trigger }, parsed.error);
    const click = parsed.data;
    let actor: Person | undefined;
    try {
      actor = await actorOf(context.activity, this.deps.directory, this.deps.tenantId);
      return await this.dispatch(context, click, actor);
    } catch (error) {
      const requestId = click.action.data?.requestId ? normalizeId(click.action.data.requestId) : undefined;
      await auditIfRefused(this.deps.service, this.deps.logger, {
        action: click.action.verb,
        error,
        requestId,
        actor,
        detail: actor ? {} : claimedIdentity(context.activity),
      });
      const message = userMessageOf(error, this.deps.logger);
      // NB: the card is re-read from the store; when the store is what failed (the database is
      // away: "could not record that, try again") the message alone is the answer.
      return await this.answer(context, click, actor, message).catch(() =>
        cardResponse(renderMessageCard(message, 'attention')),
      );
    }
  }

  private async dispatch(
    context: TurnContext,
    click: Click,
    actor: Person,
  ): Promise<AdaptiveCardInvokeResponse> {
    const { service } = this.deps;
    const data = click.action.data ?? {};
    const verb = click.action.verb;
    // NB: an automatic refresh only ever renders; changing state on it would loop.
    if (verb === CardVerb.REFRESH || click.trigger === 'automatic') return this.answer(context, click, actor);
    if (verb === CardVerb.OPEN_REQUEST_FORM)
      return cardResponse(renderRequestForm({ groups: await service.requestableGroups(actor) }));
    if (verb === CardVerb.SUBMIT_REQUEST) return this.submit(context, data, actor);
    const id = requireId(data.requestId);
    switch (verb) {
      case CardVerb.APPROVE:
        await service.decide(id, actor, 'approve', data.reason, subjectOf(data.subject));
        break;
      case CardVerb.DENY:
        await service.decide(id, actor, 'deny', data.reason, subjectOf(data.subject));
        break;
      case CardVerb.CANCEL:
        await service.cancel(id, actor);
        break;
      case CardVerb.RELEASE:
        await service.release(id, actor);
        break;
      case CardVerb.REVOKE:
        await service.revoke(id, actor, data.reason);
        break;
      case CardVerb.EXTEND:
        await service.extend({
          requestId: id,
          actor,
          addedMs: parseDuration(data.duration ?? ''),
          reason: data.reason,
        });
        break;
      case CardVerb.CLAIM:
        await service.claim(id, actor);
        break;
      case CardVerb.ACKNOWLEDGE:
        await service.acknowledge(id, actor);
        break;
    }
    return this.answer(context, click, actor);
  }

  private async submit(
    context: TurnContext,
    data: NonNullable<Click['action']['data']>,
    actor: Person,
  ): Promise<AdaptiveCardInvokeResponse> {
    const { service } = this.deps;
    const values = {
      group: data.group,
      duration: data.duration,
      justification: data.justification,
      ticket: data.ticket,
      start: data.start,
    };
    try {
      if (!data.group) throw new DomainError(ErrorCodes.COMMAND_INVALID, 'Pick a group.');
      const rules = service.resolveGroup(data.group);
      const durationMs = data.duration ? parseDuration(data.duration) : undefined;
      // The start is read in the person's zone, as "request … at" in chat.
      const start = data.start?.trim();
      const startsAt = start
        ? parseStartTime(start, this.deps.clock.now(), await personTimeZone(this.deps.store, actor.id))
        : undefined;
      const fromText = splitTicket(
        (data.justification ?? '').split(/\s+/).filter(Boolean),
        rules.ticketPattern,
      );
      const result = await service.submit({
        requester: actor,
        tenantId: tenantOf(context.activity),
        group: rules.alias,
        durationMs,
        justification: data.justification ?? '',
        ticket: data.ticket || fromText.ticket,
        startsAt,
      });
      // NB: not the receipt. The worker sends the receipt as a message of its own and keeps that
      // one up to date; a receipt in place of the form would say "Waiting for approval" forever.
      const personal = context.activity.conversation?.conversationType === 'personal';
      const timeZone = await personTimeZone(this.deps.store, actor.id);
      return cardResponse(renderMessageCard(submittedText(result, personal, timeZone), 'good'));
    } catch (error) {
      await auditIfRefused(service, this.deps.logger, { action: CardVerb.SUBMIT_REQUEST, error, actor });
      // The form comes back with what the person typed and what to fix.
      return cardResponse(
        renderRequestForm({
          groups: await service.requestableGroups(actor),
          values,
          error: userMessageOf(withSuggestion(error, service.policy), this.deps.logger),
        }),
      );
    }
  }

  /**
   * A click that does not fit the schema. An unknown verb or a malformed request id gets a short
   * message; a known action with an input out of bounds gets its card back with what to fix
   * (the form keeps what the person typed, clipped).
   */
  private async invalid(
    context: TurnContext,
    value: unknown,
    error: z.ZodError,
  ): Promise<AdaptiveCardInvokeResponse> {
    const envelope = envelopeSchema.safeParse(value);
    const message = describeInvalid(error);
    if (!envelope.success)
      return cardResponse(
        renderMessageCard('That action is not one Timebox knows; nothing was changed.', 'attention'),
      );
    try {
      const actor = await actorOf(context.activity, this.deps.directory, this.deps.tenantId);
      if (envelope.data.action.verb === CardVerb.SUBMIT_REQUEST) {
        return cardResponse(
          renderRequestForm({
            groups: await this.deps.service.requestableGroups(actor),
            values: clippedValues(value),
            error: message,
          }),
        );
      }
      return await this.answer(context, envelope.data as Click, actor, message);
    } catch (e) {
      return cardResponse(renderMessageCard(userMessageOf(e, this.deps.logger), 'attention'));
    }
  }

  /**
   * The answer to a click or a refresh: a list card (`pending`, `status`) is answered with the
   * whole list as it is now for this person, never with one request's card; any other card with
   * the request's card as it is now (`currentCard`).
   */
  private async answer(
    context: TurnContext,
    click: Click,
    actor: Person | undefined,
    error?: string,
  ): Promise<AdaptiveCardInvokeResponse> {
    const list = click.action.data?.list;
    if (!list || !actor) return this.currentCard(context, click, actor, error);
    const { card } = await renderList(this.deps, list, actor, { userId: context.activity.from?.id, error });
    return cardResponse(card);
  }

  /** The card the click came from, as it is now for this person (with a short reason on a refusal). */
  private async currentCard(
    context: TurnContext,
    click: Click,
    actor: Person | undefined,
    error?: string,
  ): Promise<AdaptiveCardInvokeResponse> {
    const id = click.action.data?.requestId;
    const request = id ? await this.deps.store.get(normalizeId(id)) : undefined;
    const now = this.deps.clock.now();
    if (!request || !actor)
      return cardResponse(renderMessageCard(error ?? 'That request no longer exists.', 'attention'));
    const viewer = await this.viewerOf(request, actor);
    // NB: a request's details (who, why, ticket) go only to its requester, its approvers and
    // admins — or back onto the approval card they are already on, in the approvers' channel.
    // Anyone else who names its id (a refresh, a receipt's replyToId) learns only its status.
    if (
      viewer === 'other' &&
      !onItsApprovalCard(context, request) &&
      !(await this.deps.service.authorizer.isAdmin(actor))
    ) {
      return cardResponse(renderMessageCard(bareStatus(request, error), 'default'));
    }
    const replyTo = context.activity.replyToId;
    const timeZone = await personTimeZone(this.deps.store, actor.id);
    if (replyTo && request.receiptCard?.activityId === replyTo && viewer === 'requester')
      return cardResponse(renderReceiptCard({ request, now, error, timeZone }));
    // In personal chat, one's own request answers with one's status (or its receipt, with the refusal).
    if (
      context.activity.conversation?.conversationType === 'personal' &&
      sameId(request.requester.id, actor.id)
    ) {
      if (error) return cardResponse(renderReceiptCard({ request, now, error, timeZone }));
      const delegations = await currentDelegations(this.deps.store, now).catch(() => []);
      return cardResponse(
        renderStatusCard({
          ...(await statusOf(this.deps.store, actor)),
          now,
          timeZone,
          delegation: delegationsOf(delegations, actor, now),
        }),
      );
    }
    const channelZone = channelTimeZone(this.deps.service.policy, request);
    return cardResponse(renderApprovalCard({ request, viewer, now, error, timeZone: channelZone }));
  }

  private async viewerOf(request: AccessRequest, actor: Person): Promise<Viewer> {
    // Approvers, escalation approvers once it escalated, and approvers' delegates.
    if (await this.deps.service.canDecide(request, actor)) return 'approver';
    return sameId(request.requester.id, actor.id) ? 'requester' : 'other';
  }
}

/** Whether a click came from the request's own approval card (its conversation and message). */
function onItsApprovalCard(context: TurnContext, request: AccessRequest): boolean {
  const card = request.approvalCard;
  return (
    !!card &&
    context.activity.conversation?.id === card.conversationId &&
    context.activity.replyToId === card.activityId
  );
}

/** What anyone may know of a request whose id they have: its id and status, nothing about who or why. */
function bareStatus(request: AccessRequest, error?: string): string {
  const status = `Request ${request.id} is ${describeStatus(request.status)}.`;
  return error ? `${error}\n\n${status}` : status;
}

/** What a submitted form turns into: what happened, in the words the typed command answers with. */
function submittedText(result: SubmitResult, personal: boolean, timeZone?: string): string {
  const r = result.request;
  if (result.outcome === 'extension') return overlapReply(r, timeZone);
  return personal
    ? `Sent ${r.id} for ${r.group.alias} (${formatDuration(r.durationMs)}) to the approvers. Your receipt below shows where it stands.`
    : filedElsewhereReply(r);
}

/** What a decision button decides; one from a card without it (posted before subjects existed) is for the request. */
function subjectOf(subject: string | undefined): DecisionSubject {
  return (subject ?? 'request') as DecisionSubject;
}

function requireId(id: string | undefined): string {
  if (!id)
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      'That card action has no request id; nothing was changed.',
    );
  return normalizeId(id);
}
