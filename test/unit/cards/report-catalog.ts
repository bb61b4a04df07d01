import type { Report } from '../../../src/app/report';
import { renderReportCard } from '../../../src/cards/report-card';
import { computeFigures } from '../../../src/domain/insights';
import { policyViewOf, suggest } from '../../../src/domain/insight-suggestions';
import { validatePolicy } from '../../../src/domain/policy';
import { REPORT_SINCE, REPORT_UNTIL, reportHistory, reportPolicy } from '../../helpers/report-history';
import type { CatalogEntry } from './card-catalog';

/** The report of the generated history (test/helpers/report-history.ts), as app/report.ts builds it. */
function aReport(
  period: { since: number; until: number } = { since: REPORT_SINCE, until: REPORT_UNTIL },
): Report {
  const policy = validatePolicy(reportPolicy());
  const requests = reportHistory();
  const figures = computeFigures(requests, period, { timeZoneOf: () => 'Europe/Paris' });
  const lastRequestedAt: Record<string, number> = {};
  for (const r of requests)
    lastRequestedAt[r.group.alias] = Math.max(lastRequestedAt[r.group.alias] ?? 0, r.createdAt);
  const suggestions = suggest(figures, policyViewOf(policy), {
    now: period.until,
    lastRequestedAt,
    historySince: Math.min(...requests.map((r) => r.createdAt)),
  });
  const iso = (at: number) => new Date(at).toISOString();
  return {
    since: iso(period.since),
    until: iso(period.until),
    overall: figures.overall,
    groups: figures.groups,
    suggestions,
  };
}

/** The `report` card (issue 18): a month with figures and suggestions, and a period with nothing in it. */
export function reportCards(): CatalogEntry[] {
  const empty = aReport({ since: REPORT_UNTIL - 6 * 3_600_000, until: REPORT_UNTIL });
  return [
    {
      name: 'report-groups',
      card: renderReportCard({
        report: aReport(),
        periodText: 'last 30d',
        cli: 'timebox report --since 30d',
      }),
    },
    {
      name: 'report-empty',
      card: renderReportCard({
        report: { ...empty, suggestions: [] },
        periodText: 'last 6h',
        cli: 'timebox report --since 6h',
      }),
    },
  ];
}
