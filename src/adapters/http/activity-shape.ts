import { z } from 'zod';

/**
 * The shape of a Bot Framework activity, as far as botbuilder and Timebox read it. A body that
 * does not fit is refused with a 400 before anything else runs: wrong types (a `text` that is an
 * object, an `aadObjectId` that is a number) would otherwise surface deep inside botbuilder or
 * the directory client as TypeErrors and 500s. Unknown fields pass; nulls pass where absent
 * would; only types and sizes are checked here — what an activity may do is decided later.
 */
const str = (max: number) => z.string().max(max).nullish();
const account = z
  .object({ id: str(512), name: str(1024), aadObjectId: str(64), role: str(64) })
  .passthrough()
  .nullish();
const record = z.record(z.string(), z.unknown());
/** botbuilder lower-cases every entity's type, and reads a mention's `mentioned.id` and `text`. */
const entity = z
  .object({ type: z.string().max(64) })
  .passthrough()
  .superRefine((e, ctx) => {
    if (e.type.toLowerCase() !== 'mention') return;
    const m = e as { mentioned?: { id?: unknown }; text?: unknown };
    if (!m.mentioned || typeof m.mentioned !== 'object' || typeof m.mentioned.id !== 'string')
      ctx.addIssue({ code: 'custom', message: 'a mention needs mentioned.id' });
    if (typeof m.text !== 'string') ctx.addIssue({ code: 'custom', message: 'a mention needs its text' });
  });

const activityShape = z
  .object({
    type: z.string().min(1).max(64),
    id: str(512),
    name: str(256),
    text: z.string().nullish(),
    textFormat: str(32),
    // Copied into every reply; botbuilder's serializer refuses a reply whose locale is not a string.
    locale: str(64),
    channelId: str(64),
    serviceUrl: z
      .string()
      .max(2048)
      .regex(/^https?:\/\//i, 'serviceUrl must be an http(s) URL')
      .nullish(),
    replyToId: str(512),
    from: account,
    recipient: account,
    conversation: z
      .object({ id: str(1024), tenantId: str(64), conversationType: str(64), isGroup: z.boolean().nullish() })
      .passthrough()
      .nullish(),
    channelData: record.nullish(),
    // Lists botbuilder walks without a null check: absent is fine, null is not.
    entities: z.array(entity).max(256).optional(),
    attachments: z.array(record).max(64).optional(),
    membersAdded: z.array(account).max(1000).nullish(),
    membersRemoved: z.array(account).max(1000).nullish(),
  })
  .passthrough();

/** Teams activities are a few levels deep; a body nested deeper than this is not one. */
const MAX_DEPTH = 32;

/** Depth of a parsed JSON value, without recursion (a hostile body may be nested 100 000 deep). */
function depthOf(value: unknown, limit = MAX_DEPTH + 1): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    if (depth > max) max = depth;
    if (max >= limit) return max;
    for (const child of Object.values(node as Record<string, unknown>))
      if (child && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return max;
}

/** Undefined when the body may go on to botbuilder; otherwise what is wrong with it (for the 400). */
export function activityProblem(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body is not an activity';
  if (depthOf(body) > MAX_DEPTH) return 'the activity is nested too deeply';
  const result = activityShape.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return `${issue.path.join('.') || 'activity'}: ${issue.message}`.slice(0, 200);
  }
  // A message or an invoke is answered in its conversation, to its serviceUrl, from its recipient:
  // without them there is nowhere to answer (and botbuilder fails on the way).
  if (result.data.type === 'message' || result.data.type === 'invoke') {
    if (!result.data.conversation?.id) return 'conversation.id is required';
    if (!result.data.serviceUrl) return 'serviceUrl is required';
    if (!result.data.recipient?.id) return 'recipient.id is required';
    // botbuilder strips the bot's own mention from the text; a mention needs a text to strip it from.
    if (
      typeof result.data.text !== 'string' &&
      result.data.entities?.some((e) => e.type.toLowerCase() === 'mention')
    )
      return 'text is required with a mention';
  }
  return undefined;
}
