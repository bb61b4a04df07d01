import agentsPlayground from './agents-playground.json';
import teamsDark from './teams-dark.json';
import teamsHighContrast from './teams-high-contrast.json';
import teamsLight from './teams-light.json';

/** One host theme: its Adaptive Card host config and what the host itself paints (see README.md). */
export interface HostTheme {
  name: string;
  hostConfig: { containerStyles: { default: { backgroundColor: string } } } & object;
  /** The chat behind the card. */
  pageBackground: string;
  /**
   * The host's own CSS for what the host config does not style: buttons and inputs. Approximations
   * of each client's Fluent styling (text colour on button / field colour), never of the card's.
   */
  css: string;
}

interface ControlColours {
  text: string;
  placeholder: string;
  field: string;
  border: string;
  primary: string;
  onPrimary: string;
}

const controls = (o: ControlColours) => `
.ac-pushButton, .ac-pushButton.subdued { color: ${o.text} !important; background: ${o.field} !important; border: 1px solid ${o.border} !important; }
.ac-pushButton.style-positive { color: ${o.onPrimary} !important; background: ${o.primary} !important; border-color: ${o.primary} !important; }
.ac-pushButton.expanded { color: ${o.text} !important; background: ${o.field} !important; border-color: ${o.primary} !important; }
.ac-input, .ac-multichoiceInput, select, textarea { color: ${o.text}; background: ${o.field}; border: 1px solid ${o.border}; }
.ac-input::placeholder, textarea::placeholder { color: ${o.placeholder}; opacity: 1; }
`;

const LIGHT_CONTROLS = controls({
  text: '#242424',
  placeholder: '#616161',
  field: '#FFFFFF',
  border: '#D1D1D1',
  primary: '#5B5FC7',
  onPrimary: '#FFFFFF',
});

export const HOST_THEMES: readonly HostTheme[] = [
  // The playground's web chat draws cards on white in a light-grey chat.
  { name: 'agents-playground', hostConfig: agentsPlayground, pageBackground: '#F5F5F5', css: LIGHT_CONTROLS },
  { name: 'teams-light', hostConfig: teamsLight, pageBackground: '#F5F5F5', css: LIGHT_CONTROLS },
  {
    name: 'teams-dark',
    hostConfig: teamsDark,
    pageBackground: '#1F1F1F',
    css: controls({
      text: '#FFFFFF',
      placeholder: '#ADADAD',
      field: '#292929',
      border: '#666666',
      primary: '#4F52B2',
      onPrimary: '#FFFFFF',
    }),
  },
  {
    name: 'teams-high-contrast',
    hostConfig: teamsHighContrast,
    pageBackground: '#000000',
    css: controls({
      text: '#FFFFFF',
      placeholder: '#FFFFFF',
      field: '#000000',
      border: '#FFFFFF',
      primary: '#1AEBFF',
      onPrimary: '#000000',
    }),
  },
];
