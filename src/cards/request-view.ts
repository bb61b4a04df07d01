import {
  Status,
  isAction,
  isClosed,
  type AccessRequest,
  type Extension,
  type Person,
} from '../domain/request';
import { formatDuration } from './format';
import { formatIn, formatShortIn } from './time';
import { plain, TextLimit } from './sanitize';
import type { ContainerStyle } from './status-style';

/** A label (our text, markdown-free) and a value (user text allowed: shown as a TextRun). */
export interface Fact {
  label: string;
  value: string;
}
/** One line of history or state; `text` may hold user text, so it is rendered as a TextRun. */
export interface Note {
  icon: string;
  text: string;
}
export interface Banner {
  text: string;
  style: ContainerStyle;
}

export const personName = (p: Person | undefined): string => plain(p?.name, TextLimit.NAME) || 'someone';

/** Names as a sentence says them: "A", "A and B", "A, B and C". */
export function namesText(people: readonly Person[]): string {
  const names = people.map((p) => personName(p));
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function personWithUpn(p: Person): string {
  const name = personName(p);
  const upn = plain(p.upn, TextLimit.UPN);
  return upn && upn.toLowerCase() !== name.toLowerCase() ? `${name} (${upn})` : name;
}

export const groupTitle = (r: AccessRequest): string =>
  plain(r.group.displayName, TextLimit.GROUP) || plain(r.group.alias, 40);
export const groupAlias = (r: AccessRequest): string => plain(r.group.alias, 40);
export const groupWithAlias = (r: AccessRequest): string => `${groupTitle(r)} · ${groupAlias(r)}`;

/**
 * An action's display name as the end of "approval to …": "Deploy to production" reads
 * "approval to deploy to production"; a name that starts with an acronym ("SAP …") keeps it.
 */
export function actionPhrase(r: AccessRequest): string {
  const title = groupTitle(r);
  return /^[A-Z][a-z]/.test(title) ? title[0]!.toLowerCase() + title.slice(1) : title;
}

const totalExtensionsMs = (r: AccessRequest): number => r.extensions.reduce((sum, e) => sum + e.addedMs, 0);

function durationText(r: AccessRequest): string {
  const extra = totalExtensionsMs(r);
  return extra > 0
    ? `${formatDuration(r.durationMs)} (+${formatDuration(extra)} extended)`
    : formatDuration(r.durationMs);
}

const approvalsGiven = (r: AccessRequest): number => r.votes.filter((v) => v.decision === 'approve').length;

export function approvalsText(r: AccessRequest): string {
  return `${approvalsGiven(r)} of ${r.approvalsRequired}`;
}

/** For a status line: `needs 1 approval` before any vote on a one-approver group, else `1 of 2 approvals`. */
export function approvalsProgress(r: AccessRequest): string {
  const given = approvalsGiven(r);
  if (given === 0)
    return r.approvalsRequired === 1 ? 'needs 1 approval' : `needs ${r.approvalsRequired} approvals`;
  return `${given} of ${r.approvalsRequired} approvals`;
}

/**
 * When access ends. Absolute times only: a posted card is not re-rendered as time passes, so
 * "in 5m" would soon be wrong for whoever reads it later.
 */
function accessEndFact(r: AccessRequest, timeZone: string | undefined): Fact | undefined {
  if (r.status === Status.ACTIVE && r.expiresAt !== undefined)
    return { label: 'Access until', value: formatIn(r.expiresAt, timeZone) };
  if (r.status === Status.APPROVED)
    return {
      label: 'Access until',
      value: `${formatDuration(r.durationMs + totalExtensionsMs(r))} after the membership is added`,
    };
  if (r.grantedAt !== undefined && isClosed(r.status)) {
    const end = r.expiresAt ?? r.resolution?.at;
    return end === undefined ? undefined : { label: 'Access ended', value: formatIn(end, timeZone) };
  }
  return undefined;
}

/** The facts every card about one request shows, in reading order. */
export function requestFacts(
  r: AccessRequest,
  opts: { requester?: boolean; group?: boolean; timeZone?: string } = {},
): Fact[] {
  const facts: Fact[] = [];
  const action = isAction(r);
  if (opts.requester !== false) facts.push({ label: 'Requester', value: requesterText(r) });
  if (opts.group !== false) facts.push({ label: action ? 'Action' : 'Group', value: groupWithAlias(r) });
  facts.push({ label: action ? 'Valid for' : 'Duration', value: durationText(r) });
  if (r.ticket) facts.push({ label: 'Ticket', value: plain(r.ticket, TextLimit.TICKET) });
  facts.push({ label: 'Requested', value: formatIn(r.createdAt, opts.timeZone) });
  if (r.kind === 'standard') facts.push({ label: 'Approvals', value: approvalsText(r) });
  if (r.startsAt !== undefined && r.grantedAt === undefined && !isClosed(r.status))
    facts.push({ label: 'Starts at', value: formatIn(r.startsAt, opts.timeZone) });
  facts.push(...workflowFacts(r));
  const end = action ? approvalEndFact(r, opts.timeZone) : accessEndFact(r, opts.timeZone);
  if (end) facts.push(end);
  return facts;
}

/** The requester: a person (with UPN), or a pipeline's own identity, said as such. */
function requesterText(r: AccessRequest): string {
  if (r.requester.kind === 'service_principal') return `${personName(r.requester)} (workload identity)`;
  return personWithUpn(r.requester);
}

/**
 * What a workflow told about itself (§11): which client asked and, when it said, the
 * repository, run, commit, environment and pipeline. All of it is the caller's text: plain,
 * capped; the run link is https only (checked by the API) and shown as text, never a button.
 */
function workflowFacts(r: AccessRequest): Fact[] {
  if (!r.client) return [];
  const c = r.context ?? {};
  const caller = plain(r.client.name, TextLimit.NAME);
  const facts: Fact[] = [
    {
      label: r.requester.kind === 'service_principal' ? 'Caller' : 'Asked through',
      value: caller || plain(r.client.appId, 40),
    },
  ];
  const add = (label: string, value: string | undefined, limit: number) => {
    const text = plain(value, limit);
    if (text) facts.push({ label, value: text });
  };
  add('Repository', c.repository, 200);
  add('Run', runUrlOf(r) && shortLink(runUrlOf(r)!), 120);
  add('Commit', c.commit?.slice(0, 12), 12);
  add('Environment', c.environment, 100);
  add('Pipeline', c.pipeline, 200);
  return facts;
}

/**
 * The workflow's run link when it is a well-formed https URL (the API checked it; a card
 * checks again: it becomes a button). Else undefined: never a link the card cannot vouch for.
 */
export function runUrlOf(r: AccessRequest): string | undefined {
  const text = r.context?.runUrl;
  if (!text || text.length > 500) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' && !url.username && !url.password ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** A link as a card fact shows it: host and the end of the path, so it fits (the button opens it whole). */
function shortLink(href: string): string {
  const url = new URL(href);
  const parts = url.pathname.split('/').filter(Boolean);
  const tail = parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : parts.join('/');
  return `${url.host}/${tail}`;
}

/** When an action's approval is valid until, or when it ended. */
function approvalEndFact(r: AccessRequest, timeZone: string | undefined): Fact | undefined {
  if (r.status === Status.APPROVED && r.expiresAt !== undefined)
    return { label: 'Valid until', value: formatIn(r.expiresAt, timeZone) };
  if (r.grantedAt !== undefined && isClosed(r.status)) {
    const end = r.resolution?.at ?? r.expiresAt;
    return end === undefined ? undefined : { label: 'Approval ended', value: formatIn(end, timeZone) };
  }
  return undefined;
}

// Times in the history omit the date when it is the day the request was filed (shown above).
const at = (ms: number, r: AccessRequest, timeZone: string | undefined): string =>
  formatShortIn(ms, r.createdAt, timeZone);
const withReason = (text: string, reason: string | undefined): string => {
  const why = plain(reason, TextLimit.LONG, true);
  return why ? `${text}: “${why}”` : text;
};

/**
 * Who asked for an extension and who let it through. No approvers: the policy extends a grant
 * people approved at once (extension.requireApproval: false); a break-glass or auto-approved
 * grant is extended only with an approval (domain/extension-rules.ts), so there it is not said.
 */
function extensionPeople(r: AccessRequest, e: Extension): string {
  const asked = `asked by ${personName(e.by)}`;
  if (e.approvedBy?.length) return `${asked}, approved by ${namesText(e.approvedBy)}`;
  return r.kind === 'standard' ? `${asked}, no approval needed by policy` : asked;
}

/** What to do after a failure, by the stable error code the worker recorded. */
export function failureAdvice(code: string | undefined): string {
  switch (code) {
    case 'DIRECTORY.PERMISSION_MISSING':
      return 'Timebox lacks a Microsoft Graph permission (GroupMember.ReadWrite.All; role-assignable groups also need RoleManagement.ReadWrite.Directory). An admin must grant it; then request again.';
    case 'DIRECTORY.GROUP_NOT_FOUND':
      return 'The group no longer exists in Entra ID. Ask an admin to correct the policy.';
    case 'DIRECTORY.USER_NOT_FOUND':
      return 'The requester’s account was not found in Entra ID. Check the account, then request again.';
    case 'DIRECTORY.DYNAMIC_GROUP':
      return 'It is a dynamic group, whose members cannot be added by hand. Ask an admin to correct the policy.';
    default:
      return 'Nothing was granted. Ask an admin to check the bot’s logs, then request again.';
  }
}

/** The history and current state of a request as short lines, oldest first. */
/** Times are in `timeZone` (UTC when unknown). */
export function requestNotes(r: AccessRequest, timeZone?: string): Note[] {
  const notes: Note[] = [];
  // Approvals, reminders and the escalation in the order they happened (an escalation
  // approver's approval comes after the escalation that let them decide).
  const timed: Array<{ at: number; note: Note }> = [];
  for (const v of r.votes) {
    if (v.decision === 'approve')
      timed.push({
        at: v.at,
        note: {
          icon: '✔',
          text: withReason(`Approved by ${byFor(v.by, v.for)} · ${at(v.at, r, timeZone)}`, v.reason),
        },
      });
  }
  if (r.remindedAt !== undefined)
    timed.push({
      at: r.remindedAt,
      note: { icon: '◷', text: `Approvers reminded · ${at(r.remindedAt, r, timeZone)}` },
    });
  if (r.escalatedAt !== undefined)
    timed.push({
      at: r.escalatedAt,
      note: {
        icon: '⇧',
        text: `Escalated · ${at(r.escalatedAt, r, timeZone)}${r.escalation?.reason === 'all_away' ? ': every approver was away' : ''}`,
      },
    });
  notes.push(...timed.sort((a, b) => a.at - b.at).map((t) => t.note));
  if (r.kind === 'auto' && r.resolution) {
    notes.push({
      icon: '✔',
      text: withReason(`Auto-approved by policy · ${at(r.resolution.at, r, timeZone)}`, r.resolution.reason),
    });
  }
  if (r.kind === 'break_glass' && r.resolution && r.status !== Status.PENDING) {
    notes.push({
      icon: '⚡',
      text: withReason(
        `Break-glass: granted without approval · ${at(r.resolution.at, r, timeZone)}`,
        r.resolution.reason,
      ),
    });
  }
  if (r.status === Status.PENDING && r.claimedBy) {
    notes.push({ icon: '◉', text: `${personName(r.claimedBy)} is reviewing this request` });
  }
  // An action's approval is its grant: the approvals above say when it was given.
  if (r.grantedAt !== undefined && !isAction(r)) {
    notes.push({ icon: '●', text: `Membership added · ${at(r.grantedAt, r, timeZone)}` });
  }
  if (r.standingMember) {
    notes.push({
      icon: 'ℹ',
      text: 'Already a member before this grant: Timebox will not remove that membership.',
    });
  }
  for (const e of r.extensions) {
    notes.push({
      icon: '⊕', // not "+": Teams reads a leading "+" as a markdown list item
      text: withReason(
        `Extended by ${formatDuration(e.addedMs)} · ${extensionPeople(r, e)} · ${at(e.at, r, timeZone)}`,
        e.reason,
      ),
    });
  }
  if (r.pendingExtension && r.status === Status.ACTIVE) {
    const p = r.pendingExtension;
    notes.push({
      icon: '◷',
      text: withReason(
        `${personName(p.by)} asks to extend by ${formatDuration(p.addedMs)} · ${at(p.at, r, timeZone)}`,
        p.reason,
      ),
    });
  }
  notes.push(...resolutionNotes(r, timeZone));
  if (r.acknowledgedBy)
    notes.push({
      icon: '✔',
      text: `Break-glass acknowledged by ${personName(r.acknowledgedBy)}`,
    });
  return notes;
}

function resolutionNotes(r: AccessRequest, timeZone: string | undefined): Note[] {
  const res = r.resolution;
  if (!res) return [];
  const by = personName(res.by);
  const when = at(res.at, r, timeZone);
  switch (r.status) {
    case Status.DENIED: {
      const vote = r.votes.find((v) => v.decision === 'deny');
      return [
        {
          icon: '✖',
          text: withReason(`Denied by ${vote ? byFor(vote.by, vote.for) : by} · ${when}`, res.reason),
        },
      ];
    }
    case Status.CANCELLED:
      return [{ icon: '⊘', text: `Cancelled by ${by} · ${when}` }];
    case Status.TIMED_OUT:
      return [{ icon: '◷', text: `Timed out · ${when}: no approver decided in time` }];
    case Status.EXPIRED:
      if (isAction(r)) return [{ icon: '○', text: `Expired · ${when}: the approval is no longer valid` }];
      return [
        {
          icon: '○',
          text: r.standingMember
            ? `Expired · ${when}: standing membership kept`
            : `Expired · ${when}: membership removed`,
        },
      ];
    case Status.RELEASED:
      return [{ icon: '↩', text: `Released by ${by} · ${when}` }];
    case Status.REVOKED:
      return [{ icon: '⊗', text: withReason(`Revoked by ${by} · ${when}`, res.reason) }];
    case Status.FAILED:
      return [
        {
          icon: '⚠',
          text: withReason(`Failed · ${when}`, r.failure?.message ?? res.reason),
        },
        { icon: '→', text: failureAdvice(r.failure?.code) },
      ];
    default:
      return [];
  }
}

export const justificationText = (r: AccessRequest): string => plain(r.justification, TextLimit.LONG, true);

/** "Megan Bowen", or "Patti Fernandez for Megan Bowen" when a delegate decided. */
function byFor(by: Person, forWhom: Person | undefined): string {
  return forWhom ? `${personName(by)} for ${personName(forWhom)}` : personName(by);
}
