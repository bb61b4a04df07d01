import { plain } from './sanitize';
import type { ContainerStyle, TextColor } from './status-style';
import { expand } from './template';

export type MessageTone = 'default' | 'good' | 'warning' | 'attention';

const TONES: Record<MessageTone, { icon: string; color: TextColor; style: ContainerStyle }> = {
  default: { icon: '', color: 'default', style: 'default' },
  good: { icon: '✔', color: 'good', style: 'good' },
  warning: { icon: '⚠', color: 'warning', style: 'warning' },
  attention: { icon: '✖', color: 'attention', style: 'attention' },
};

/** A short reply as a card: an error, a refusal or a confirmation. The text is shown as typed. */
export function renderMessageCard(text: string, tone: MessageTone = 'default'): object {
  const look = TONES[tone];
  return expand('message', { ...look, text: plain(text, 1000, true) || ' ' });
}
