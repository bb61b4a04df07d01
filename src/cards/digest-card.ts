import type { DigestContent, DigestItem } from '../domain/digest';
import type { MessageLocation } from '../domain/request';
import { formatDuration } from './format';
import { groupWithAlias, personName } from './request-view';
import { plain } from './sanitize';
import { expand } from './template';
import { formatIn, formatShortIn } from './time';

/** Items shown per section; the rest is counted ("…and 4 more"). */
export const MAX_DIGEST_ITEMS = 10;

export interface DigestCardView {
  content: DigestContent;
  /** The approver channel's Teams id (19:…@thread.tacv2), for the links to the approval cards. */
  channelId: string;
  /** The zone the digest's times are shown in (the digest's, else the channel's; UTC when absent). */
  timeZone?: string;
}

// A Bot Connector activity id of a channel post is digits; anything else gets no link.
const ACTIVITY_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const CHANNEL_ID = /^19:[A-Za-z0-9._:@-]{1,200}$/;

/**
 * A Teams deep link to an approval card in its channel:
 * `https://teams.microsoft.com/l/message/<channelId>/<messageId>` (Microsoft Learn, "Deep link
 * to Teams chat": the parent message of a channel conversation). Always https, both parts
 * URL-encoded, and only for ids of the expected shape; undefined otherwise.
 */
export function approvalCardLink(channelId: string, card: MessageLocation | undefined): string | undefined {
  if (!card || !ACTIVITY_ID.test(card.activityId) || !CHANNEL_ID.test(channelId)) return undefined;
  const message = encodeURIComponent(card.activityId);
  return `https://teams.microsoft.com/l/message/${encodeURIComponent(channelId)}/${message}?parentMessageId=${message}`;
}

type SectionKey = 'waiting' | 'granted' | 'extended' | 'ended' | 'failed';

const SECTIONS: Array<{ key: SectionKey; heading: string; color: string }> = [
  { key: 'waiting', heading: 'Waiting for a decision', color: 'Default' },
  { key: 'granted', heading: 'Granted', color: 'Default' },
  { key: 'extended', heading: 'Extended', color: 'Default' },
  { key: 'ended', heading: 'Ended', color: 'Default' },
  { key: 'failed', heading: 'Failed', color: 'Default' },
];

const ENDED_VERB: Record<string, string> = { expired: 'expired', released: 'released', revoked: 'revoked' };

function detailOf(key: SectionKey, item: DigestItem, at: (ms: number) => string): string {
  const r = item.request;
  switch (key) {
    case 'waiting':
      return r.status === 'pending'
        ? `asked at ${at(item.at)} for ${formatDuration(r.durationMs)}`
        : `extension by ${formatDuration(r.pendingExtension?.addedMs ?? 0)} asked at ${at(item.at)}`;
    case 'granted':
      return `granted at ${at(item.at)} for ${formatDuration(r.durationMs)}`;
    case 'extended': {
      const recent = r.extensions.filter((e) => e.at <= item.at);
      const last = recent[recent.length - 1];
      return `extended by ${formatDuration(last?.addedMs ?? 0)} at ${at(item.at)}`;
    }
    case 'ended':
      return `${ENDED_VERB[r.status] ?? 'ended'} at ${at(item.at)}`;
    case 'failed':
      return `failed at ${at(item.at)}: ${plain(r.failure?.message ?? r.resolution?.reason, 160) || 'no reason recorded'}`;
  }
}

/** "3 waiting · 2 granted · 1 failed": the sections that have something, counted. */
export function digestSummary(content: DigestContent): string {
  const parts = SECTIONS.filter((s) => content[s.key].length > 0).map(
    (s) => `${content[s.key].length} ${s.key === 'waiting' ? 'waiting' : s.heading.toLowerCase()}`,
  );
  return parts.join(' · ');
}

/**
 * The daily digest of an approver channel (PRODUCT.md §13): one section per kind of news with
 * its count and up to MAX_DIGEST_ITEMS requests (id, who, group, when), the waiting ones with
 * an "Open card" link to their approval card. No button acts: the digest only points.
 */
export function renderDigestCard(view: DigestCardView): object {
  const { content, timeZone } = view;
  const at = (ms: number) => formatShortIn(ms, content.until, timeZone);
  const sections = SECTIONS.filter((s) => content[s.key].length > 0).map((s) => {
    const items = content[s.key];
    const shown = items.slice(0, MAX_DIGEST_ITEMS);
    const hidden = items.length - shown.length;
    return {
      heading: `${s.heading} (${items.length})`,
      color: s.color,
      items: shown.map((item) => ({
        text: `${plain(item.request.id, 64)} · ${personName(item.request.requester)} · ${groupWithAlias(item.request)}`,
        detail: detailOf(s.key, item, at),
        link: (s.key === 'waiting' && approvalCardLink(view.channelId, item.request.approvalCard)) || '',
      })),
      more: hidden > 0 ? `…and ${hidden} more` : '',
    };
  });
  return expand('digest', {
    title: `Daily digest · ${plain(content.channel, 80)}`,
    subtitle: `Since ${formatIn(content.since, timeZone)}: ${digestSummary(content)}`,
    sections,
    footer: `Timebox · ${formatIn(content.until, timeZone)} · type pending to act on what waits`,
  });
}
