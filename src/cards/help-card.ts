import type { GroupRules } from '../domain/policy';
import { groupName, groupRulesText } from './group-view';
import { plain } from './sanitize';
import { expand } from './template';

export interface HelpCardView {
  /** The groups this person may request. */
  groups: GroupRules[];
}

// Placeholders are written as italic words rather than <group>: angle brackets look like markup.
const COMMANDS: { usage: string; what: string }[] = [
  {
    usage: 'request GROUP DURATION WHY',
    what: 'Ask for access, e.g. request db-read 2h INC-4711 slow queries',
  },
  { usage: 'request', what: 'Open the request form' },
  { usage: 'extend GROUP DURATION', what: 'Ask for more time on an active grant (add: because …)' },
  { usage: 'release GROUP', what: 'End your access now' },
  { usage: 'cancel REQUEST-ID', what: 'Withdraw a pending request' },
  { usage: 'status', what: 'Your pending requests and active access (also: my access)' },
  { usage: 'pending', what: 'For approvers: requests you can decide now' },
  {
    usage: 'delegate to PERSON until TIME',
    what: 'For approvers: someone decides for you until then (delegate off ends it)',
  },
  {
    usage: 'report GROUP since DURATION',
    what: 'For admins: how approvals went (default: all groups, last 30 days), with suggestions',
  },
  { usage: 'help', what: 'This card' },
];

const BREAK_GLASS = {
  usage: 'break-glass GROUP DURATION WHY',
  what: 'Emergency access where policy allows it: granted at once, approvers alerted',
};

/** `request GROUP` → `request ` plain + `group` italic, for a RichTextBlock. */
function usageParts(usage: string): { text: string; placeholder: boolean }[] {
  return usage.split(' ').map((word, i, all) => {
    const placeholder = /^[A-Z-]+$/.test(word);
    return {
      text: `${placeholder ? word.toLowerCase() : word}${i < all.length - 1 ? ' ' : ''}`,
      placeholder,
    };
  });
}

// The card stays small even for a policy with very many groups.
const MAX_GROUPS = 25;

/** `help`: what Timebox does, its commands, and the groups this person may request. */
export function renderHelpCard(view: HelpCardView): object {
  const groups = view.groups.slice(0, MAX_GROUPS);
  const hidden = view.groups.length - groups.length;
  // Break-glass is only worth a line where some group allows it.
  const commands = view.groups.some((g) => g.breakGlass)
    ? [...COMMANDS.slice(0, 2), BREAK_GLASS, ...COMMANDS.slice(2)]
    : COMMANDS;
  return expand('help', {
    commands: commands.map((c) => ({ usage: usageParts(c.usage), what: c.what })),
    groups: groups.map((g) => ({ name: groupName(g), alias: plain(g.alias, 40), rules: groupRulesText(g) })),
    more: hidden > 0 ? `…and ${hidden} more: type request to see them all in the form.` : '',
  });
}
