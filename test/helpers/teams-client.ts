import { randomUUID } from 'node:crypto';

export interface TeamsUser {
  /** Teams id (29:...). */
  id: string;
  name: string;
  aadObjectId: string;
}

export const TENANT = 'c0000000-0000-4000-8000-000000000001';
export const BOT = { id: '28:timebox-test-bot', name: 'Timebox' };

export const users = {
  alex: { id: '29:alex', name: 'Alex Wilber', aadObjectId: 'a1000000-0000-4000-8000-000000000001' },
  megan: { id: '29:megan', name: 'Megan Bowen', aadObjectId: 'a1000000-0000-4000-8000-000000000002' },
  adele: { id: '29:adele', name: 'Adele Vance', aadObjectId: 'a1000000-0000-4000-8000-000000000003' },
  isaiah: { id: '29:isaiah', name: 'Isaiah Langer', aadObjectId: 'a1000000-0000-4000-8000-000000000004' },
  patti: { id: '29:patti', name: 'Patti Fernandez', aadObjectId: 'a1000000-0000-4000-8000-000000000005' },
  lynne: { id: '29:lynne', name: 'Lynne Robbins', aadObjectId: 'a1000000-0000-4000-8000-000000000006' },
} satisfies Record<string, TeamsUser>;

export const personalChatOf = (user: TeamsUser) => `a:personal-${user.id.slice(3)}`;

/** What every activity Teams posts to a bot carries: a fresh id, the sender, the bot, the conversation and tenant. */
export function activityEnvelope(
  from: TeamsUser,
  bot: { id: string; name: string },
  where: { serviceUrl: string; tenantId: string; conversation: Record<string, unknown> },
) {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: where.serviceUrl,
    from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId },
    recipient: bot,
    conversation: { tenantId: where.tenantId, ...where.conversation },
    channelData: { tenant: { id: where.tenantId } },
  };
}

/**
 * Sends activities to the bot the way Teams does (HTTP POST to /api/messages), from a given
 * user, with the fake connector as serviceUrl.
 */
export class TeamsClient {
  constructor(
    private readonly botUrl: string,
    private readonly serviceUrl: string,
    private readonly tenantId = TENANT,
    /** Signs each activity as the Bot Connector does (Authorization: Bearer <jwt>); none in local mode. */
    private readonly bearer?: (activity: Record<string, unknown>) => string | undefined,
  ) {}

  private base(user: TeamsUser, conversation: Record<string, unknown>) {
    return activityEnvelope(user, BOT, {
      serviceUrl: this.serviceUrl,
      tenantId: this.tenantId,
      conversation,
    });
  }

  /** A message in the user's personal chat with the bot. */
  say(user: TeamsUser, text: string): Promise<Response> {
    return this.post({
      ...this.base(user, { id: personalChatOf(user), conversationType: 'personal' }),
      type: 'message',
      text,
    });
  }

  /** A message that @mentions the bot in a channel. */
  sayInChannel(user: TeamsUser, channelId: string, text: string): Promise<Response> {
    return this.post({
      ...this.base(user, { id: channelId, conversationType: 'channel', isGroup: true }),
      type: 'message',
      text: `<at>Timebox</at> ${text}`,
      entities: [{ type: 'mention', text: '<at>Timebox</at>', mentioned: BOT }],
    });
  }

  /** A click on an Action.Execute button: returns the invoke response body. */
  async click(
    user: TeamsUser,
    verb: string,
    data: Record<string, unknown>,
    where: { conversationId: string; replyToId?: string; personal?: boolean },
    trigger: 'manual' | 'automatic' = 'manual',
  ): Promise<{ status: number; body: { statusCode?: number; type?: string; value?: unknown } }> {
    const conversation = where.personal
      ? { id: where.conversationId, conversationType: 'personal' }
      : { id: where.conversationId, conversationType: 'channel', isGroup: true };
    const res = await this.post({
      ...this.base(user, conversation),
      type: 'invoke',
      name: 'adaptiveCard/action',
      replyToId: where.replyToId,
      value: { action: { type: 'Action.Execute', verb, data }, trigger },
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  }

  post(activity: Record<string, unknown>, options: { token?: string } = {}): Promise<Response> {
    const token = options.token ?? this.bearer?.(activity);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
    return fetch(`${this.botUrl}/api/messages`, { method: 'POST', headers, body: JSON.stringify(activity) });
  }

  /** The activity `say` would send, for tests that post it themselves (signed, unsigned, altered). */
  message(user: TeamsUser, text: string): Record<string, unknown> {
    return {
      ...this.base(user, { id: personalChatOf(user), conversationType: 'personal' }),
      type: 'message',
      text,
    };
  }
}
