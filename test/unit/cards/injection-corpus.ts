import {
  NOTICE_KINDS,
  renderApprovalCard,
  renderHelpCard,
  renderMessageCard,
  renderNotice,
  renderPendingCard,
  renderReceiptCard,
  renderRequestForm,
  renderStatusCard,
} from '../../../src/cards';
import { Status, type AccessRequest, type Person } from '../../../src/domain/request';
import { aGroupRules, aRequestIn, HOUR, MINUTE, T0 } from '../../helpers/builders';
import type { CatalogEntry } from './card-catalog';

/** Starts every hostile string, so a test can tell where user text ended up on a card. */
export const MARK = 'Zq9';

/** 24 combining marks, above and below a letter; ten times over, the 240 of a "Zalgo" tower. */
const MARKS =
  '\u030D\u030E\u0304\u0305\u033F\u0311\u0306\u0310\u0352\u0357\u0351\u0307\u0316\u0317\u0318\u0319\u031C\u031D\u031E\u031F\u0320\u0324\u0325\u0326';
export const COMBINING_TOWER = MARKS.repeat(10);

/** Hostile text a requester, approver or admin could type into any field Timebox shows. */
export const PAYLOADS: Record<string, string> = {
  template: '${requester.name} ${justification}',
  root: '${$root} ${$root.requestId} ${string(1)} ${if(true, 1, 2)}',
  nestedTemplate: '$${{x}} ${ ${x} } $\u200B{x}',
  dateFunction: '{{DATE(2017-02-14T06:08:39Z, SHORT)}} {{TIME(2017-02-14T06:08:39Z)}}',
  markdownLink: '[x](https://evil.example/login) [click](javascript:alert(1)) <https://evil.example>',
  markdownEmphasis: '**bold** __b__ *it* _it_ ~~strike~~\n# Heading\n- item\n1. item\n> quote\n`code`',
  mention: '<at>Bob</at> <at id="0">Everyone</at>',
  script: '<script>alert(1)</script>',
  imgOnError: '<img src=x onerror=alert(1)>',
  htmlEntities: '&lt;at&gt;Bob&lt;/at&gt; &#60;script&#62;',
  controlChars: 'a\u0000b\u0007c\u001bd\u007fe\u0085f\u009bg',
  bidi: 'invoice\u202Egpj.exe\u202C \u2066x\u2069 \u200Ey\u200F \u061Cz \u202Atext\u202B\u202D',
  invisible: 'zero\u200Bwidth\uFEFFnbsp\u2060join\u00ADsoft',
  emojiHomoglyphs: '👩‍💻 Аda Lоvеlаcе 🇺🇦 ＄｛x｝ ＜at＞',
  newlines: 'line1\r\n\r\n\r\n\r\nline2\u2028line3\u2029line4\tTab',
  huge: 'A'.repeat(100_000),
  hugeTemplate: '${x}'.repeat(20_000),
  hugeUnicode: '😀'.repeat(50_000),
  // Text that draws something other than itself: a fake timeline line, blanks that pass for a
  // reason, characters that carry hidden data, and a tower of marks over the facts above.
  fakeTimeline:
    'Need the logs\n✔ Approved by Ana Approver · 10:02\r\n● Membership added · 10:02\u2028✔ Approved',
  hangulFiller: '\u3164\u3164\u3164',
  brailleBlank: '\u2800\u2800\u2800',
  tagCharacters: 'tags\u{E0001}\u{E0069}\u{E0067}\u{E006E}\u{E006F}\u{E0072}\u{E0065}\u{E007F}',
  variationSelectors: 'vs\uFE00\uFE0E\u{E0100}\u{E01EF}a\uFE0F',
  graphemeJoiner: 'c\u034Fg\u034F\u034Fj',
  khmerInvisible: 'k\u17B4\u17B5h\u17B4',
  combiningTower: `Z${COMBINING_TOWER}algo`,
};

export const poisoned = (payload: string): string => `${MARK}${payload}`;

function hostilePerson(text: string, id: string): Person {
  return { id, name: text, upn: text };
}

/** A request with `text` in every field a person can influence. */
export function hostileRequest(
  status: AccessRequest['status'],
  text: string,
  kind: AccessRequest['kind'] = 'standard',
): AccessRequest {
  const base = aRequestIn(status, { kind });
  const approver = hostilePerson(text, 'approver-1');
  return {
    ...base,
    requester: hostilePerson(text, 'requester-1'),
    group: { alias: text, id: base.group.id, displayName: text },
    justification: text,
    ticket: text,
    approvalsRequired: 2,
    votes: base.votes.map((v) => ({ ...v, by: approver, reason: text })),
    resolution: base.resolution && { ...base.resolution, by: approver, reason: text },
    claimedBy: status === Status.PENDING ? approver : undefined,
    acknowledgedBy: kind === 'break_glass' ? approver : undefined,
    extensions: status === Status.ACTIVE ? [{ by: approver, at: T0, addedMs: HOUR, reason: text }] : [],
    pendingExtension:
      status === Status.ACTIVE
        ? { by: approver, at: T0, addedMs: 30 * MINUTE, reason: text, votes: [] }
        : undefined,
    failure: status === Status.FAILED ? { code: text, message: text } : undefined,
  };
}

const ALL_STATUSES = Object.values(Status);

/** Every card, in every state, with `text` in every text field. */
export function hostileCards(text: string): CatalogEntry[] {
  const rules = aGroupRules({ alias: text, displayName: text, ticketPattern: text, requireTicket: true });
  const out: CatalogEntry[] = [];
  for (const status of ALL_STATUSES) {
    for (const kind of ['standard', 'break_glass'] as const) {
      const request = hostileRequest(status, text, kind);
      for (const viewer of ['approver', 'requester', 'other'] as const) {
        out.push({
          name: `approval-${status}-${kind}-${viewer}`,
          card: renderApprovalCard({
            request,
            viewer,
            now: T0,
            error: text,
            refreshUserIds: [text, '29:ok'],
          }),
        });
      }
      out.push({
        name: `receipt-${status}-${kind}`,
        card: renderReceiptCard({ request, now: T0, error: text, rules }),
      });
    }
  }
  for (const kind of NOTICE_KINDS) {
    for (const audience of ['channel', 'requester'] as const) {
      const request = hostileRequest(
        kind === 'reminder' ? Status.PENDING : Status.ACTIVE,
        text,
        kind === 'break_glass' || kind === 'acknowledged' ? 'break_glass' : 'standard',
      );
      const message = renderNotice(kind, {
        request,
        now: T0,
        audience,
        mentions: [
          { id: text, name: text },
          { id: '29:x', name: text },
        ],
        rules,
      });
      out.push({ name: `notice-${kind}-${audience}`, card: message.card! });
    }
  }
  const requests = ALL_STATUSES.map((s) => hostileRequest(s, text));
  out.push({
    name: 'status',
    card: renderStatusCard({
      open: requests.slice(0, 3),
      recent: requests.slice(3),
      now: T0,
      rules: { [text]: rules },
    }),
  });
  out.push({
    name: 'pending',
    card: renderPendingCard({
      requests: [hostileRequest(Status.PENDING, text), hostileRequest(Status.ACTIVE, text)],
      now: T0,
    }),
  });
  out.push({ name: 'help', card: renderHelpCard({ groups: [rules, aGroupRules()] }) });
  out.push({
    name: 'request-form',
    card: renderRequestForm({
      groups: [rules, aGroupRules()],
      values: { group: text, duration: text, justification: text, ticket: text },
      error: text,
    }),
  });
  out.push({
    name: 'request-form-chosen',
    card: renderRequestForm({ groups: [rules], values: { group: text, justification: text }, error: text }),
  });
  for (const tone of ['default', 'good', 'warning', 'attention'] as const)
    out.push({ name: `message-${tone}`, card: renderMessageCard(text, tone) });
  return out;
}
