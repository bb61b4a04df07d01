import type { GroupRules } from '../domain/policy';
import { groupName, groupRulesText } from './group-view';
import { plain } from './sanitize';
import { expand } from './template';

export interface HelpCardView {
  /** The groups this person may request. */
  groups: GroupRules[];
}

const COMMANDS = [
  { usage: 'request <group> <duration> <why>', what: 'Ask for access, e.g. request db-read 2h INC-4711 slow queries' },
  { usage: 'request', what: 'Open the request form' },
  { usage: 'extend <group> <duration>', what: 'Ask for more time on an active grant (add: because …)' },
  { usage: 'release <group>', what: 'End your access now' },
  { usage: 'cancel <request id>', what: 'Withdraw a pending request' },
  { usage: 'status', what: 'Your pending requests and active access (also: my access)' },
  { usage: 'pending', what: 'For approvers: requests you can decide now' },
  { usage: 'help', what: 'This card' },
];

// The card stays small even for a policy with very many groups.
const MAX_GROUPS = 25;

/** `help`: what Timebox does, its commands, and the groups this person may request. */
export function renderHelpCard(view: HelpCardView): object {
  const groups = view.groups.slice(0, MAX_GROUPS);
  const hidden = view.groups.length - groups.length;
  return expand('help', {
    commands: COMMANDS,
    groups: groups.map((g) => ({ name: groupName(g), alias: plain(g.alias, 40), rules: groupRulesText(g) })),
    more: hidden > 0 ? `…and ${hidden} more: type request to see them all in the form.` : '',
  });
}
