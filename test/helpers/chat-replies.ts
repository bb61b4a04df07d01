import { firstCard, waitFor, type SentActivity } from './fake-connector';
import type { Harness } from './harness';
import { personalChatOf, type TeamsUser } from './teams-client';

/**
 * `who` says `text` in personal chat; resolves with the first message the bot sent there since
 * that `matches` (messages sent before `text` are never taken for its answer).
 */
export async function replyInChat(
  h: Pick<Harness, 'connector' | 'teams'>,
  who: TeamsUser,
  text: string,
  matches: (sent: SentActivity) => unknown,
  what = `the reply to "${text}"`,
  timeoutMs?: number,
): Promise<SentActivity> {
  const chat = personalChatOf(who);
  const before = h.connector.sentTo(chat).length;
  await h.teams.say(who, text);
  return waitFor(() => h.connector.sentTo(chat).slice(before).find(matches), what, timeoutMs);
}

/** `who` says `text` in personal chat; resolves with the card the bot answered with there. */
export function cardReplyTo(
  h: Pick<Harness, 'connector' | 'teams'>,
  who: TeamsUser,
  text: string,
): Promise<SentActivity> {
  return replyInChat(h, who, text, (s) => firstCard(s.activity), `${text} card`);
}
