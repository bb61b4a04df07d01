/**
 * Insights figures over a long history: 100,000 closed requests in memory, one every 30 s
 * (about 35 days, so most of them fall in the report's 30 days), and `computeFigures` timed
 * over the last 30 days, overall and for 10 groups (PRODUCT.md §13; issue 18: ≤ 1 s).
 *
 *   npx tsx bench/insights.ts [--closed 100000] [--rounds 5]
 *
 * A micro-benchmark of the pure core, in this process: no store, no bot. What a store costs to
 * hand the requests over is measured by the store's own benchmarks. The history mixes outcomes
 * (expired, released, denied, timed out, break-glass) so that every figure has data to sort,
 * and its approver channel has a time zone with summer time, so that after-hours is computed
 * in earnest. One warm-up round, then the median of `--rounds`.
 */
import { computeFigures, type InsightRequest } from '../src/domain/insights';
import type { AccessRequest } from '../src/domain/request';
import { APPROVER, arg, closedGrant, count, duration, personOf, type Figure } from './lib';
import { runAlone } from './postgres';

export interface InsightsOptions {
  closed: number;
  rounds: number;
}

const GROUPS = 10;
const PEOPLE = 1000;
const DAY = 86_400_000;
const GOAL_MS = 1000;

/** Request i of the history, ending `at`: mostly expired grants, with the other outcomes mixed in. */
function historyRequest(i: number, at: number): InsightRequest {
  const grant = closedGrant({ n: i, user: i % PEOPLE, groups: GROUPS, sinkUrl: 'http://127.0.0.1:1' }, at);
  const approver = personOf(APPROVER);
  const ended = (r: Partial<AccessRequest>): InsightRequest => ({ ...grant, ...r });
  switch (i % 20) {
    case 0:
      return ended({
        status: 'denied',
        votes: [{ by: approver, decision: 'deny', at: grant.createdAt + 90_000, reason: 'No.' }],
        resolution: { by: approver, at: grant.createdAt + 90_000, reason: 'No.' },
        grantedAt: undefined,
        expiresAt: undefined,
      });
    case 1:
      return ended({
        status: 'timed_out',
        votes: [],
        resolution: { at: grant.createdAt + 3_600_000 },
        grantedAt: undefined,
        expiresAt: undefined,
        remindedAt: grant.createdAt + 900_000,
      });
    case 2:
    case 3:
      return ended({
        status: 'released',
        expiresAt: grant.grantedAt! + 1_200_000 + i,
        resolution: { at: grant.grantedAt! + 1_200_000 + i },
      });
    case 4:
      return ended({ kind: 'break_glass', votes: [], acknowledgedBy: i % 40 === 4 ? approver : undefined });
    default:
      return grant;
  }
}

export async function run(options: InsightsOptions): Promise<Figure[]> {
  const history = `${count(options.closed)} closed requests`;
  console.log(`\ninsights figures over ${history}`);
  const now = Date.UTC(2026, 10, 21, 14, 0, 0);
  const requests = Array.from({ length: options.closed }, (_, i) =>
    historyRequest(i, now - (options.closed - i) * 30_000),
  );
  const period = { since: now - 30 * DAY, until: now };
  const opts = { timeZoneOf: () => 'Europe/Berlin' };
  let inPeriod = 0;
  const times: number[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const started = performance.now();
    const figures = computeFigures(requests, period, opts);
    const ms = performance.now() - started;
    inPeriod = figures.overall.requests;
    if (round > 0) times.push(ms); // round 0 warms up the JIT and Intl
  }
  const median = [...times].sort((a, b) => a - b)[Math.ceil(times.length / 2) - 1]!;
  const label = `${count(options.closed / 1000)}k`;
  console.log(`insights: 30 days of ${label} history: ${median.toFixed(0)} ms (anchor ≤ 1 s)`);
  console.log(
    `      ${count(inPeriod)} requests in the period, ${GROUPS} groups; rounds ${times.map((t) => duration(t)).join(', ')}`,
  );
  return [
    {
      figure: `insights, 30 days of ${history}`,
      goal: '≤ 1 s',
      measured: duration(median),
      pass: median <= GOAL_MS,
    },
  ];
}

if (require.main === module) {
  runAlone(() => run({ closed: arg('closed', 100_000), rounds: arg('rounds', 5) }));
}
