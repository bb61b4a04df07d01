import { plain } from './sanitize';
import type { ContainerStyle } from './status-style';
import { expand } from './template';

export type MessageTone = 'default' | 'good' | 'warning' | 'attention';

const TONES: Record<MessageTone, { icon: string; style: ContainerStyle }> = {
  default: { icon: '', style: 'default' },
  good: { icon: '✔', style: 'good' },
  warning: { icon: '⚠', style: 'warning' },
  attention: { icon: '✖', style: 'attention' },
};

/** A short reply as a card: an error, a refusal or a confirmation. The text is shown as typed. */
export function renderMessageCard(text: string, tone: MessageTone = 'default'): object {
  const look = TONES[tone];
  return expand('message', { ...look, text: plain(text, 1000, true) || ' ' });
}
