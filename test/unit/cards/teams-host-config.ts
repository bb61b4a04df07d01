/** An approximation of Teams' light theme, so that screenshots look like Teams. */
const FONT =
  "'Segoe UI', 'Segoe UI Web (West European)', -apple-system, 'Helvetica Neue', 'Liberation Sans', 'DejaVu Sans', sans-serif";

const colors = (defaultText: string, subtle: string) => ({
  default: { default: defaultText, subtle },
  dark: { default: '#242424', subtle: '#616161' },
  light: { default: '#FFFFFF', subtle: '#F5F5F5' },
  accent: { default: '#5B5FC7', subtle: '#7F85F5' },
  good: { default: '#0E700E', subtle: '#107C10' },
  warning: { default: '#8A3707', subtle: '#BC4B09' },
  attention: { default: '#C50F1F', subtle: '#D13438' },
});

const style = (backgroundColor: string, borderColor = backgroundColor) => ({
  backgroundColor,
  borderColor,
  foregroundColors: colors('#242424', '#616161'),
});

export const TEAMS_HOST_CONFIG = {
  fontFamily: FONT,
  supportsInteractivity: true,
  spacing: { small: 4, default: 8, medium: 12, large: 16, extraLarge: 24, padding: 16 },
  separator: { lineThickness: 1, lineColor: '#E0E0E0' },
  fontTypes: {
    default: {
      fontFamily: FONT,
      fontSizes: { small: 12, default: 14, medium: 16, large: 18, extraLarge: 24 },
      fontWeights: { lighter: 300, default: 400, bolder: 600 },
    },
    monospace: {
      fontFamily: "Consolas, 'DejaVu Sans Mono', monospace",
      fontSizes: { small: 12, default: 14, medium: 16, large: 18, extraLarge: 24 },
      fontWeights: { lighter: 300, default: 400, bolder: 600 },
    },
  },
  containerStyles: {
    default: style('#FFFFFF'),
    emphasis: style('#F5F5F5'),
    accent: style('#EBEBF9'),
    good: style('#F1FAF1'),
    attention: style('#FDF3F4'),
    warning: style('#FFF9E6'),
  },
  imageSizes: { small: 32, medium: 52, large: 100 },
  actions: {
    maxActions: 6,
    spacing: 'default',
    buttonSpacing: 8,
    showCard: { actionMode: 'inline', inlineTopMargin: 12, style: 'emphasis' },
    actionsOrientation: 'horizontal',
    actionAlignment: 'left',
  },
  inputs: {
    label: { requiredInputs: { weight: 'bolder', suffix: ' *' }, optionalInputs: { weight: 'bolder' } },
    errorMessage: { size: 'small', weight: 'default' },
  },
  factSet: { title: { weight: 'bolder', wrap: true, maxWidth: 150 }, value: { wrap: true }, spacing: 8 },
};

/** Buttons and mentions as Teams draws them (the renderer's own CSS is Outlook-blue). */
export const TEAMS_CSS = `
body { margin: 0; background: #F5F5F5; font-family: ${FONT}; }
.frame { display: inline-block; padding: 16px; background: #F5F5F5; }
.card { width: 560px; background: #FFF; border-radius: 6px; box-shadow: 0 1px 2px rgba(0,0,0,.14), 0 0 2px rgba(0,0,0,.12); overflow: hidden; }
.ac-pushButton, .ac-pushButton:hover, .ac-pushButton:active, .ac-pushButton.subdued { font-family: ${FONT}; font-size: 14px; font-weight: 600; color: #242424 !important; background: #FFF !important; border: 1px solid #D1D1D1 !important; border-radius: 4px; padding: 5px 12px; min-height: 32px; flex: 0 1 auto !important; }
.ac-pushButton.subdued { color: #616161 !important; }
.ac-pushButton.style-positive { background: #5B5FC7 !important; border-color: #5B5FC7 !important; color: #FFF !important; }
.ac-pushButton.style-destructive { color: #C50F1F !important; }
.ac-pushButton.expanded { background: #EBEBF9 !important; border-color: #5B5FC7 !important; color: #242424 !important; }
.ac-pushButton.expandable:after { font-family: ${FONT}; font-size: 10px; content: '\\00a0\\00a0▼'; }
.ac-pushButton.expandable.expanded:after { content: '\\00a0\\00a0▲'; }
.ac-input, .ac-multichoiceInput, select { font-family: ${FONT}; font-size: 14px; border: 1px solid #D1D1D1; border-radius: 4px; padding: 5px 8px; }
textarea.ac-input { min-height: 56px; }
.mention { color: #5B5FC7; font-weight: 600; }
`;
