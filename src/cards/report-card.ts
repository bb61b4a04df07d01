import { formatDuration } from '../domain/duration';
import type { Figures, Quantiles } from '../domain/insights';
import { SuggestionKind, type Suggestion } from '../domain/insight-suggestions';
import { plain, TextLimit } from './sanitize';
import { expand } from './template';

/** The report as the card reads it: app/report.ts `Report` (cards depend on the domain only). */
export interface ReportOfCard {
  since: string;
  until: string;
  overall: Figures;
  groups: Record<string, Figures>;
  suggestions: Suggestion[];
}

/** What the chat's `report` card shows (PRODUCT.md §13): the report, and how its period was asked for. */
export interface ReportCardView {
  report: ReportOfCard;
  /** The period as asked ("last 30d"), for the title. */
  periodText: string;
  /** The same report from the CLI (`timebox report --since 30d`), for the footer. */
  cli: string;
}

// The card stays readable (and under Teams' size limit) with many groups or suggestions.
const MAX_ROWS = 15;
const MAX_SUGGESTIONS = 10;

const TITLES: Record<string, string> = {
  [SuggestionKind.AUTO_APPROVE]: 'Candidate for auto-approval',
  [SuggestionKind.MAX_DURATION]: 'maxDuration far above use',
  [SuggestionKind.UNUSED_GROUP]: 'Nobody asks for it',
  [SuggestionKind.ONE_APPROVER]: 'One approver carries the load',
  [SuggestionKind.TIMEOUTS]: 'Requests time out',
  [SuggestionKind.BREAK_GLASS]: 'Frequent break-glass',
};

const seconds = (s: number | null): string => (s === null ? '–' : formatDuration(s * 1000));
// NB: a no-break space, so that "100 %" never wraps in a narrow column.
const percent = (share: number | null): string =>
  share === null ? '–' : `${Math.round(share * 100)}\u00a0%`;
const pair = (q: Quantiles): string => (q.median === null ? '–' : `${seconds(q.median)} / ${seconds(q.p90)}`);
const minute = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

function row(name: string, f: Figures, overall: boolean) {
  const { requestedSeconds, usedSeconds } = f.requestedVsUsed;
  return {
    name: plain(name, TextLimit.GROUP),
    overall,
    requests: String(f.requests),
    decided: `${f.approved} / ${f.denied}`,
    timedOut: String(f.timedOut),
    decision: pair(f.decisionSeconds),
    used: usedSeconds.p90 === null ? '–' : `${seconds(usedSeconds.p90)} / ${seconds(requestedSeconds.p90)}`,
    afterHours: percent(f.afterHoursShare),
  };
}

/** `report` in chat: figures per group and overall as a table, then the suggestions; no links. */
export function renderReportCard(view: ReportCardView): object {
  const { report } = view;
  const aliases = Object.keys(report.groups);
  const shown = aliases.slice(0, MAX_ROWS);
  const rows = shown.map((alias) => row(alias, report.groups[alias]!, false));
  if (aliases.length > 1) rows.push(row('All groups', report.overall, true));
  const hiddenRows = aliases.length - shown.length;
  const suggestions = report.suggestions.slice(0, MAX_SUGGESTIONS);
  const hiddenSuggestions = report.suggestions.length - suggestions.length;
  const top = report.overall.approvers[0];
  const notes = [
    hiddenRows > 0 ? `…and ${hiddenRows} more group(s) in "All groups".` : '',
    report.overall.breakGlass > 0
      ? `Break-glass: ${report.overall.breakGlass} use(s), ${report.overall.breakGlassAcknowledged} acknowledged${report.overall.acknowledgeSeconds.median === null ? '' : ` (median ${seconds(report.overall.acknowledgeSeconds.median)} after the grant)`}; counted as approved.`
      : '',
    report.overall.requests > 0
      ? `Reminders sent: ${report.overall.reminders}.${report.overall.escalations > 0 ? ` Escalated: ${report.overall.escalations}.` : ''} Released early: ${report.overall.requestedVsUsed.releasedEarly} of ${report.overall.requestedVsUsed.grants} ended grants.${top ? ` Most decisions: ${top.name} (${percent(top.share)}).` : ''}`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
  return expand('report', {
    title: plain(`Approvals, ${view.periodText}`, TextLimit.SHORT),
    period: plain(
      `${minute(report.since)} – ${minute(report.until)} · ${report.overall.requests} request(s)`,
      TextLimit.SHORT,
    ),
    rows,
    notes: plain(notes, TextLimit.LONG),
    cli: plain(view.cli, TextLimit.SHORT),
    suggestions: suggestions.map((s) => ({
      title: plain(TITLES[s.kind] ?? s.kind, TextLimit.SHORT),
      groupLabel: s.group === undefined ? '' : `  ${plain(s.group, TextLimit.GROUP)}`,
      evidence: plain(s.evidence, TextLimit.LONG),
      change: plain(s.change, TextLimit.LONG),
    })),
    more: hiddenSuggestions > 0 ? `…and ${hiddenSuggestions} more: timebox report lists them all.` : '',
  });
}
