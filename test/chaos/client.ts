import { activityEnvelope } from '../helpers/teams-client';
import { TENANT, type ChaosUser } from './fixture';

const BOT = { id: '28:timebox-chaos-bot', name: 'Timebox' };

export interface Delivery {
  /** The bot answered (2xx/4xx): Teams would not send it again. */
  delivered: boolean;
  status?: number;
  attempts: number;
  body?: unknown;
  /** The activity's id: in-turn replies carry it as replyToId. */
  activityId: string;
}

/**
 * Sends activities to the bot over HTTP as Teams does, and as Teams does, sends an activity
 * again when the bot is unreachable or answers 5xx (a restart in progress, a 503 while it
 * drains), until `deadlineMs` has passed. The same activity id is kept on every attempt.
 */
export class ChaosTeams {
  /** Attempts that found the bot down or failing (connection refused/reset, 5xx). */
  retried = 0;

  constructor(
    /** The bot's base URL, or with replicas a pick of one per attempt (Teams retries another instance). */
    private readonly botUrl: string | (() => string),
    private readonly serviceUrl: string,
    private readonly deadlineMs = 60_000,
  ) {}

  private base(user: ChaosUser, conversation: Record<string, unknown>) {
    return activityEnvelope({ id: user.teamsId, name: user.name, aadObjectId: user.aadObjectId }, BOT, {
      serviceUrl: this.serviceUrl,
      tenantId: TENANT,
      conversation,
    });
  }

  /** A message in the user's personal chat. */
  say(user: ChaosUser, text: string): Promise<Delivery> {
    return this.post({
      ...this.base(user, { id: personalChat(user), conversationType: 'personal' }),
      type: 'message',
      text,
    });
  }

  /** A click on an Action.Execute button of a card in the approvers' channel. */
  click(
    user: ChaosUser,
    verb: string,
    data: Record<string, unknown>,
    where: { conversationId: string; replyToId: string },
  ): Promise<Delivery> {
    return this.post({
      ...this.base(user, { id: where.conversationId, conversationType: 'channel', isGroup: true }),
      type: 'invoke',
      name: 'adaptiveCard/action',
      replyToId: where.replyToId,
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    });
  }

  private async post(activity: Record<string, unknown>): Promise<Delivery> {
    const end = Date.now() + this.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const bot = typeof this.botUrl === 'string' ? this.botUrl : this.botUrl();
        const res = await fetch(`${bot}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(activity),
          signal: AbortSignal.timeout(25_000),
        });
        const text = await res.text();
        if (res.status < 500)
          return {
            delivered: true,
            status: res.status,
            attempts: attempt,
            body: text ? safeJson(text) : undefined,
            activityId: String(activity.id),
          };
      } catch {
        // down, restarting, or killed while answering
      }
      this.retried++;
      if (Date.now() > end) return { delivered: false, attempts: attempt, activityId: String(activity.id) };
      await new Promise((r) => setTimeout(r, 250 + Math.floor(Math.random() * 500)));
    }
  }
}

export const personalChat = (user: ChaosUser) => `a:chaos-personal-${user.key}`;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The error line an invoke answer's card shows when the click was refused or failed (empty when it took effect). */
export function cardError(body: unknown): string {
  const card = (body as { value?: unknown } | undefined)?.value;
  let found = '';
  const walk = (node: unknown): void => {
    if (found || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    const n = node as Record<string, unknown>;
    // The card's error line: an attention container holding one bold run, attention-coloured or
    // (since the cards' restyle) in the container's colour (banners have the same shape in
    // their own styles, warning or good; the header is a column set).
    const items = n.items as
      | Array<{ type?: string; inlines?: Array<{ color?: string; text?: string; weight?: string }> }>
      | undefined;
    const run = items?.[0]?.type === 'RichTextBlock' ? items[0].inlines?.[0] : undefined;
    const errorRun =
      run !== undefined &&
      (run.color === 'attention' || (run.color === undefined && run.weight === 'Bolder'));
    if (n.type === 'Container' && n.style === 'attention' && errorRun) {
      found = run.text || 'error';
      return;
    }
    Object.values(n).forEach(walk);
  };
  walk(card);
  if (!found && typeof card === 'object' && card && (card as { type?: string }).type !== 'AdaptiveCard')
    found = 'not a card';
  return found;
}
