import type { GroupRules } from '../domain/policy';
import { durationChoices } from './durations';
import { formatDuration } from './format';
import { groupName, groupRulesText } from './group-view';
import { inputText, plain, TextLimit } from './sanitize';
import { expand } from './template';

export interface RequestFormView {
  /** Only the groups this person may request. */
  groups: GroupRules[];
  /** What was typed before, kept when the form comes back with an error. */
  values?: { group?: string; duration?: string; justification?: string; ticket?: string; start?: string };
  error?: string;
}

// Input.ChoiceSet shows at most this many groups comfortably; larger policies still fit 28 KB.
const MAX_GROUPS = 50;

/**
 * The request form. Adaptive Cards 1.5 cannot narrow one input by another's value, so the
 * duration list runs up to the longest limit among the offered groups (or the chosen group's,
 * once one is chosen) and each group's limit is listed; the bot enforces the exact limit and
 * returns the form with an error and the inputs kept.
 */
export function renderRequestForm(view: RequestFormView): object {
  const groups = view.groups.slice(0, MAX_GROUPS);
  const values = view.values ?? {};
  const chosen = groups.find((g) => g.alias === values.group);
  const limit = chosen ? chosen.maxDurationMs : Math.max(0, ...groups.map((g) => g.maxDurationMs));
  const durations = durationChoices(limit);
  const defaultDuration = formatDuration(
    chosen?.defaultDurationMs ?? groups[0]?.defaultDurationMs ?? 3_600_000,
  );
  const wanted = plain(values.duration, 20);
  const duration = durations.some((d) => d.value === wanted)
    ? wanted
    : durations.some((d) => d.value === defaultDuration)
      ? defaultDuration
      : (durations[0]?.value ?? '');
  const ticketGroups = groups.filter((g) => g.requireTicket);
  const limits = new Set(groups.map((g) => g.maxDurationMs));
  return expand('request-form', {
    error: plain(view.error, TextLimit.SHORT),
    groups: groups.map((g) => ({
      title: `${groupName(g)} (${plain(g.alias, 40)})`,
      // Policy aliases are [a-z0-9._-]; plain() changes nothing for a valid one.
      value: plain(g.alias, 40),
      name: groupName(g),
      rules: groupRulesText(g),
    })),
    durations,
    durationHint:
      !chosen && limits.size > 1 ? 'Each group has its own limit (see the group rules below).' : '',
    justificationRequired: groups.some((g) => g.requireJustification),
    ticketRequired: groups.length > 0 && ticketGroups.length === groups.length,
    ticketLabel:
      ticketGroups.length === 0 || ticketGroups.length === groups.length
        ? 'Ticket'
        : `Ticket (required for ${ticketGroups.map((g) => plain(g.alias, 40)).join(', ')})`,
    values: {
      group: plain(chosen?.alias ?? (groups.length === 1 ? groups[0]!.alias : ''), 40),
      duration,
      justification: inputText(values.justification, 1000),
      ticket: plain(values.ticket, 100),
      start: plain(values.start, 40),
    },
  });
}
