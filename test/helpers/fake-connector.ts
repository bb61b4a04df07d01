import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentActivity {
  conversationId: string;
  /** The activity id the connector gave it. */
  id: string;
  replyToId?: string;
  activity: Record<string, unknown> & {
    type?: string;
    text?: string;
    attachments?: Array<{ contentType: string; content: Record<string, unknown> }>;
  };
}

export interface CreatedConversation {
  id: string;
  activityId: string;
  params: Record<string, unknown> & {
    channelData?: { channel?: { id?: string } };
    activity?: SentActivity['activity'];
  };
}

/**
 * A Bot Connector (Teams' side of the Bot Framework REST API) as a real HTTP server: what
 * the bot's botbuilder client calls to post, reply and update. It records everything.
 */
export class FakeConnector {
  readonly created: CreatedConversation[] = [];
  readonly sent: SentActivity[] = [];
  readonly updates: SentActivity[] = [];
  /**
   * Status codes to answer with before succeeding, per route ("create", "send", "update"); an
   * entry may carry a Retry-After (seconds) as `{ status, retryAfter }`.
   */
  readonly failNext: Record<string, Array<number | { status: number; retryAfter?: number }>> = {
    create: [],
    send: [],
    update: [],
  };
  /** Random failures (the chaos harness): each call of `routes` fails with `status` at `probability`. */
  chaos: { probability: number; status: number; routes: string[] } = {
    probability: 0,
    status: 502,
    routes: ['create', 'send', 'update'],
  };
  random: () => number = Math.random;
  /** Calls of the three routes, and how many of them were failed on purpose. */
  readonly stats = { calls: 0, failed: 0 };
  /** The Authorization header of every call ('' when none): production mode signs each one. */
  readonly authorizations: string[] = [];
  /** The roster `GET /v3/conversations/{team}/pagedmembers` answers with (Teams' member shape). */
  members: Array<{ id: string; name: string; aadObjectId: string; userPrincipalName?: string }> = [];
  private server?: Server;
  private counter = 1000;
  url = '';

  async start(): Promise<this> {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use((req, _res, next) => {
      this.authorizations.push(req.headers.authorization ?? '');
      next();
    });
    const fail = (route: string, res: express.Response): boolean => {
      this.stats.calls++;
      const next = this.failNext[route]!.shift();
      const planned = typeof next === 'number' ? { status: next } : next;
      const status =
        planned?.status ??
        (this.chaos.probability > 0 &&
        this.chaos.routes.includes(route) &&
        this.random() < this.chaos.probability
          ? this.chaos.status
          : undefined);
      if (status === undefined) return false;
      this.stats.failed++;
      if (planned?.retryAfter !== undefined) res.set('Retry-After', String(planned.retryAfter));
      res.status(status).json({
        error: {
          code: status === 403 ? 'BotNotInConversationRoster' : 'ServiceError',
          message: 'injected',
        },
      });
      return true;
    };
    app.post('/v3/conversations', (req, res) => {
      if (fail('create', res)) return;
      const activityId = String(this.counter++);
      const channelId = req.body?.channelData?.channel?.id ?? 'conv';
      const created = { id: `${channelId};messageid=${activityId}`, activityId, params: req.body };
      this.created.push(created);
      res.status(201).json({ id: created.id, activityId });
    });
    const send = (req: express.Request, res: express.Response) => {
      if (fail('send', res)) return;
      const id = String(this.counter++);
      this.sent.push({
        conversationId: String(req.params.conversationId),
        id,
        replyToId: req.params.activityId as string | undefined,
        activity: req.body,
      });
      res.status(200).json({ id });
    };
    app.post('/v3/conversations/:conversationId/activities', send);
    app.post('/v3/conversations/:conversationId/activities/:activityId', send);
    app.get('/v3/conversations/:conversationId/pagedmembers', (_req, res) => {
      res.status(200).json({ members: this.members });
    });
    // One member (TeamsInfo.getMember: who an @mention is), from the same roster; 404 when not in it.
    app.get('/v3/conversations/:conversationId/members/:memberId', (req, res) => {
      const member = this.members.find((m) => m.id === req.params.memberId);
      if (member) res.status(200).json(member);
      else res.status(404).json({ error: { code: 'MemberNotFoundInConversation', message: 'not a member' } });
    });
    app.put('/v3/conversations/:conversationId/activities/:activityId', (req, res) => {
      if (fail('update', res)) return;
      this.updates.push({
        conversationId: String(req.params.conversationId),
        id: String(req.params.activityId),
        activity: req.body,
      });
      res.status(200).json({ id: req.params.activityId });
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Everything sent into a conversation (personal chat or a channel thread). */
  sentTo(conversationId: string): SentActivity[] {
    return this.sent.filter((s) => s.conversationId === conversationId);
  }

  lastUpdateOf(activityId: string): SentActivity | undefined {
    return [...this.updates].reverse().find((u) => u.id === activityId);
  }
}

/** Text of every TextBlock/FactSet in a card, for assertions on what people see. */
export function cardText(card: unknown): string {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n.text === 'string') out.push(n.text);
    if (typeof n.title === 'string') out.push(n.title);
    if (typeof n.value === 'string' && n.type === 'Fact') out.push(n.value);
    Object.values(n).forEach(walk);
  };
  walk(card);
  return out.join('\n');
}

export function firstCard(
  activity: SentActivity['activity'] | undefined,
): Record<string, unknown> | undefined {
  return activity?.attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')
    ?.content;
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
