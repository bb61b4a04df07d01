/**
 * The insights report (PRODUCT.md §13): the figures of a period, overall and per group, and
 * the suggestions they support, read from the store (not the audit log). What `timebox
 * report` prints and the chat's `report` card shows.
 *
 * The store is read three times: the requests created in the period (the figures), when each
 * Entra group was last requested before its end (for "nobody asked for it in 90 days", however
 * long ago that was: the store answers from an index, without reading those requests), and the
 * oldest request of all (where the history begins: without 90 days of it, that suggestion is
 * never made).
 */
import { DomainError, ErrorCodes } from '../domain/errors';
import { FiguresBuilder, type Figures, type WorkingHours } from '../domain/insights';
import { policyViewOf, suggest, type PolicyView, type Suggestion } from '../domain/insight-suggestions';
import type { Policy } from '../domain/policy';
import type { Clock } from '../ports/clock';
import type { Store } from '../ports/store';

export interface ReportOptions {
  /** Start of the period (epoch ms, included). */
  since: number;
  /** End of the period (epoch ms, excluded); default now. */
  until?: number;
  /** Only this group (or action gate) alias: `overall` is then that group's figures. */
  group?: string;
  workingHours?: WorkingHours;
}

/** `timebox report --format json`: the shape PRODUCT.md §13 names. */
export interface Report {
  /** ISO times of the period, `[since, until)`. */
  since: string;
  until: string;
  overall: Figures;
  /** By alias, for the aliases requested in the period (sorted). */
  groups: Record<string, Figures>;
  suggestions: Suggestion[];
}

const hasOwn = (record: object, key: string): boolean => Object.hasOwn(record, key);

/** The report of `[since, until)`; COMMAND_INVALID for a period that ends before it starts or an unknown group. */
export async function buildReport(
  store: Store,
  policy: Policy,
  clock: Clock,
  options: ReportOptions,
): Promise<Report> {
  const until = options.until ?? clock.now();
  const { since, group } = options;
  if (!Number.isFinite(since) || !Number.isFinite(until) || since >= until) {
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      `The report's period is empty: it must start before it ends (${iso(since)} … ${iso(until)}).`,
    );
  }
  const inPolicy = hasOwn(policy.groups, group ?? '') || hasOwn(policy.actions ?? {}, group ?? '');
  const builder = new FiguresBuilder(
    { since, until },
    {
      timeZoneOf: (channel) =>
        hasOwn(policy.approverChannels, channel) ? policy.approverChannels[channel]!.timeZone : undefined,
      ...(options.workingHours ? { workingHours: options.workingHours } : {}),
    },
  );
  // A group no longer in the policy still has a report while its requests are in the period.
  let requestedInPeriod = false;
  for await (const batch of store.scanInsights(since, until)) {
    if (group === undefined) builder.add(batch);
    else {
      const ofGroup = batch.filter((r) => r.group.alias === group);
      if (ofGroup.length > 0) requestedInPeriod = true;
      builder.add(ofGroup);
    }
  }
  if (group !== undefined && !inPolicy && !requestedInPeriod) {
    throw new DomainError(ErrorCodes.COMMAND_INVALID, `There is no group "${group}" in the policy.`);
  }
  const figures = builder.figures();
  const oldest = (await store.listCreatedBetween(0, until, 1))[0];
  const lastByGroupId = await store.lastRequestedByGroup(until);
  const lastRequestedAt: Record<string, number | undefined> = Object.create(null) as Record<string, number>;
  for (const [alias, rules] of Object.entries(policy.groups)) {
    lastRequestedAt[alias] = lastByGroupId.get(rules.groupId.toLowerCase());
  }
  const view = policyViewOf(policy);
  const scoped: PolicyView =
    group === undefined
      ? view
      : { groups: hasOwn(view.groups, group) ? { [group]: view.groups[group]! } : {} };
  const suggestions = suggest(figures, scoped, {
    now: until,
    lastRequestedAt,
    ...(oldest ? { historySince: oldest.createdAt } : {}),
  });
  return {
    since: iso(since),
    until: iso(until),
    overall: figures.overall,
    groups: figures.groups,
    suggestions,
  };
}

function iso(at: number): string {
  return Number.isFinite(at) ? new Date(at).toISOString() : String(at);
}
