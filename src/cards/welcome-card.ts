import type { GroupRules } from '../domain/policy';
import { groupName, groupRulesText } from './group-view';
import { plain, TextLimit } from './sanitize';
import { CardVerb } from './verbs';

// The card stays small even for a policy with very many groups or channels.
const MAX_GROUPS = 15;
const MAX_CHANNELS = 10;

/** One approver channel of the policy that a team serves, with the groups it decides. */
export interface ServedChannel {
  /** Its name in the policy's approverChannels. */
  name: string;
  /** Aliases of the groups whose requests are posted there. */
  groups: string[];
}

export type WelcomeView =
  { scope: 'personal'; groups: GroupRules[] } | { scope: 'team'; teamId: string; channels: ServedChannel[] };

const text = (value: string, extra: Record<string, unknown> = {}) => ({
  type: 'TextBlock',
  text: value,
  wrap: true,
  ...extra,
});

function header(title: string) {
  return {
    type: 'Container',
    style: 'emphasis',
    items: [text(title, { weight: 'Bolder', size: 'Medium' })],
  };
}

function personalBody(groups: GroupRules[]): object[] {
  const shown = groups.slice(0, MAX_GROUPS);
  const hidden = groups.length - shown.length;
  return [
    header('Welcome to Timebox'),
    text(
      'Timebox gives you access to a group for a limited time: you ask, approvers in Teams decide, and the membership is removed again when the time is up.',
    ),
    ...(shown.length
      ? [
          text('Groups you may request', { weight: 'Bolder', spacing: 'Medium' }),
          ...shown.map((g) =>
            text(`• ${groupName(g)} (${plain(g.alias, 40)}): ${groupRulesText(g)}`, { spacing: 'Small' }),
          ),
          ...(hidden > 0 ? [text(`…and ${hidden} more: type request to see them all in the form.`)] : []),
        ]
      : [text('No group in the policy is open to you yet; ask your Timebox admin which one you need.')]),
    text('Type help to see every command, or request to open the request form.', { spacing: 'Medium' }),
  ];
}

function teamBody(teamId: string, channels: ServedChannel[]): object[] {
  const shown = channels.slice(0, MAX_CHANNELS);
  const id = plain(teamId, TextLimit.SHORT);
  const lines = shown.length
    ? [
        text(
          shown.length === 1
            ? 'This team is an approver channel in the policy. Requests for its groups are posted to its channel for approval:'
            : 'This team serves these approver channels of the policy. Requests for their groups are posted to their channels for approval:',
        ),
        ...shown.map((c) =>
          text(
            `• ${plain(c.name, TextLimit.NAME)}: ${c.groups.length ? plain(c.groups.join(', '), TextLimit.LONG) : 'no group names it yet'}`,
            { spacing: 'Small' },
          ),
        ),
      ]
    : [
        text('This team is not an approver channel in the policy, so no requests are posted here.'),
        text(
          `To make it one, add an entry under approverChannels in the policy file with this team's id (${id}) and the id of the channel to post to, then name that entry as the approverChannel of the groups it should decide.`,
        ),
      ];
  return [
    header('Timebox is installed in this team'),
    ...lines,
    text('Mention Timebox with help to see what it can do.', { spacing: 'Medium' }),
  ];
}

/**
 * The one welcome after an install: in personal chat what Timebox does and what this person
 * may request; in a team which approver channel of the policy it serves (or how to make it one).
 */
export function renderWelcomeCard(view: WelcomeView): object {
  const personal = view.scope === 'personal';
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.5',
    body: personal ? personalBody(view.groups) : teamBody(view.teamId, view.channels),
    ...(personal && view.groups.length
      ? {
          actions: [
            { type: 'Action.Execute', title: 'Request access', verb: CardVerb.OPEN_REQUEST_FORM, data: {} },
          ],
        }
      : {}),
  };
}
