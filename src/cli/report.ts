import type { Command } from 'commander';
import { csvField, parseTimeBound } from '../adapters/store/audit-export';
import { createStore, describeStore } from '../adapters/store/open-store';
import { buildReport, type Report } from '../app/report';
import { loadConfig } from '../config';
import { formatDuration } from '../domain/duration';
import { DomainError, ErrorCodes } from '../domain/errors';
import type { Figures, Quantiles } from '../domain/insights';
import { loadPolicyFile } from '../policy-file';
import { systemClock } from '../ports/clock';

export type ReportFormat = 'table' | 'json' | 'csv';
const FORMATS: readonly string[] = ['table', 'json', 'csv'];

const seconds = (s: number | null): string => (s === null ? '-' : formatDuration(s * 1000));
const percent = (share: number | null): string => (share === null ? '-' : `${Math.round(share * 100)}%`);
const pair = (q: Quantiles): string => `${seconds(q.median)} / ${seconds(q.p90)}`;
const topApprover = (f: Figures): string => {
  const top = f.approvers[0];
  return top ? `${top.name} ${percent(top.share)}` : '-';
};

/** The columns of the table and the CSV: a heading and how to read it off the figures. */
const COLUMNS: Array<{ head: string; of: (f: Figures) => string | number | null }> = [
  { head: 'requests', of: (f) => f.requests },
  { head: 'approved', of: (f) => f.approved },
  { head: 'auto', of: (f) => f.autoApproved },
  { head: 'denied', of: (f) => f.denied },
  { head: 'timed out', of: (f) => f.timedOut },
  { head: 'cancelled', of: (f) => f.cancelled },
  { head: 'failed', of: (f) => f.failed },
  { head: 'pending', of: (f) => f.pending },
  { head: 'break-glass (ack)', of: (f) => `${f.breakGlass} (${f.breakGlassAcknowledged})` },
  { head: 'decision med / p90', of: (f) => pair(f.decisionSeconds) },
  { head: 'grant med / p90', of: (f) => pair(f.grantSeconds) },
  {
    head: 'asked / used p90',
    of: (f) =>
      `${seconds(f.requestedVsUsed.requestedSeconds.p90)} / ${seconds(f.requestedVsUsed.usedSeconds.p90)}`,
  },
  { head: 'released early', of: (f) => f.requestedVsUsed.releasedEarly },
  { head: 'extended', of: (f) => f.requestedVsUsed.extended },
  { head: 'reminders', of: (f) => f.reminders },
  { head: 'after hours', of: (f) => percent(f.afterHoursShare) },
  { head: 'top approver', of: topApprover },
];

/** CSV columns: numbers as numbers (seconds, shares 0..1), for a spreadsheet. */
const CSV_COLUMNS: Array<{ head: string; of: (f: Figures) => string | number | null }> = [
  { head: 'requests', of: (f) => f.requests },
  { head: 'approved', of: (f) => f.approved },
  { head: 'autoApproved', of: (f) => f.autoApproved },
  { head: 'denied', of: (f) => f.denied },
  { head: 'timedOut', of: (f) => f.timedOut },
  { head: 'cancelled', of: (f) => f.cancelled },
  { head: 'failed', of: (f) => f.failed },
  { head: 'pending', of: (f) => f.pending },
  { head: 'breakGlass', of: (f) => f.breakGlass },
  { head: 'breakGlassAcknowledged', of: (f) => f.breakGlassAcknowledged },
  { head: 'decisionMedianSeconds', of: (f) => f.decisionSeconds.median },
  { head: 'decisionP90Seconds', of: (f) => f.decisionSeconds.p90 },
  { head: 'grantMedianSeconds', of: (f) => f.grantSeconds.median },
  { head: 'grantP90Seconds', of: (f) => f.grantSeconds.p90 },
  { head: 'endedGrants', of: (f) => f.requestedVsUsed.grants },
  { head: 'requestedP90Seconds', of: (f) => f.requestedVsUsed.requestedSeconds.p90 },
  { head: 'usedMedianSeconds', of: (f) => f.requestedVsUsed.usedSeconds.median },
  { head: 'usedP90Seconds', of: (f) => f.requestedVsUsed.usedSeconds.p90 },
  { head: 'releasedEarly', of: (f) => f.requestedVsUsed.releasedEarly },
  { head: 'extended', of: (f) => f.requestedVsUsed.extended },
  { head: 'reminders', of: (f) => f.reminders },
  { head: 'escalations', of: (f) => f.escalations },
  { head: 'afterHoursShare', of: (f) => f.afterHoursShare },
  { head: 'topApprover', of: (f) => f.approvers[0]?.name ?? null },
  { head: 'topApproverShare', of: (f) => f.approvers[0]?.share ?? null },
];

/** The report as people read it in a terminal: one line per group, then overall, then the suggestions. */
export function formatReportTable(report: Report): string {
  const rows: string[][] = [['group', ...COLUMNS.map((c) => c.head)]];
  for (const [alias, f] of Object.entries(report.groups))
    rows.push([alias, ...COLUMNS.map((c) => String(c.of(f)))]);
  rows.push(['(overall)', ...COLUMNS.map((c) => String(c.of(report.overall)))]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [`Report ${report.since} … ${report.until}`, '', line(rows[0]!)];
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1, -1)) out.push(line(r));
  if (rows.length > 2) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  out.push(line(rows[rows.length - 1]!));
  out.push('');
  if (report.suggestions.length === 0) out.push('No suggestions: nothing the figures support yet.');
  else {
    out.push(`Suggestions (${report.suggestions.length}):`);
    for (const s of report.suggestions) {
      out.push(`- ${s.kind}${s.group !== undefined ? ` · ${s.group}` : ''}: ${s.evidence}`);
      out.push(`    change: ${s.change}`);
    }
  }
  return out.join('\n');
}

/** One CSV row per group, then one for overall (`scope` tells which), RFC 4180 with a header. */
export function formatReportCsv(report: Report): string {
  const head = ['scope', 'group', 'since', 'until', ...CSV_COLUMNS.map((c) => c.head)];
  const row = (scope: string, group: string, f: Figures) =>
    [scope, group, report.since, report.until, ...CSV_COLUMNS.map((c) => c.of(f) ?? '')]
      .map(csvField)
      .join(',');
  const lines = [head.map(csvField).join(',')];
  for (const [alias, f] of Object.entries(report.groups)) lines.push(row('group', alias, f));
  lines.push(row('overall', '', report.overall));
  return `${lines.join('\r\n')}\r\n`;
}

function invalid(message: string): DomainError {
  return new DomainError(ErrorCodes.COMMAND_INVALID, message);
}

function timeBound(option: string, text: string, now: number): number {
  try {
    return parseTimeBound(text, now);
  } catch (error) {
    throw invalid(`--${option}: ${(error as Error).message}`);
  }
}

/**
 * `timebox report --since 30d [--until …] [--group g] [--format table|json|csv]`: the insights
 * report (PRODUCT.md §13) from the configured store (TIMEBOX_DATA_DIR or DATABASE_URL) opened
 * read-only, so it is safe next to the running bot, and the policy (TIMEBOX_POLICY) for the
 * channels' time zones and the suggestions. Bad input exits 2 (a DomainError).
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('insights: how approvals went over a period, per group and overall, with suggestions')
    .option('--since <when>', 'start: a duration back from now (30d, 12h) or a date (2026-11-01)', '30d')
    .option('--until <when>', 'end (excluded): a duration back from now or a date; default now')
    .option('--group <alias>', 'only this group')
    .option('--format <format>', 'table, json or csv', 'table')
    .action(async (options: { since: string; until?: string; group?: string; format: ReportFormat }) => {
      if (!FORMATS.includes(options.format))
        throw invalid(`--format: "${options.format}" is not a format: use table, json or csv.`);
      const now = systemClock.now();
      const since = timeBound('since', options.since, now);
      const until = options.until === undefined ? now : timeBound('until', options.until, now);
      if (since >= until) throw invalid(`--since must be before --until (${new Date(since).toISOString()}).`);
      const config = loadConfig(process.env, { bot: false });
      const policy = await loadPolicyFile(config.policyFile);
      const store = createStore(config, { readOnly: true });
      if (!describeStore(config).exists()) {
        throw new DomainError(
          ErrorCodes.STORE_UNAVAILABLE,
          `There is no store in ${config.dataDir}: set TIMEBOX_DATA_DIR (or DATABASE_URL) to the bot's.`,
        );
      }
      await store.open();
      try {
        const report = await buildReport(store, policy, systemClock, {
          since,
          until,
          ...(options.group !== undefined ? { group: options.group } : {}),
        });
        if (options.format === 'json') console.log(JSON.stringify(report, null, 2));
        else if (options.format === 'csv') console.log(formatReportCsv(report).trimEnd());
        else console.log(formatReportTable(report));
      } finally {
        await store.close();
      }
    });
}
