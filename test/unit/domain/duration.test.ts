import {
  formatDuration,
  looksLikeDuration,
  parseApiDuration,
  parseDuration,
} from '../../../src/domain/duration';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1H30M', 5_400_000],
    ['1d2h3m4s', 93_784_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(looksLikeDuration(text)).toBe(true);
  });

  it.each(['', '0m', 'h', '1.5h', '-1h', '2 hours', '1m1h', 'forever', '${1}h'])(
    'refuses %j with the right form',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/30m|longer than zero/);
    },
  );

  it('formats the shortest way', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(86_400_000 + 1000)).toBe('1d1s');
  });
});

describe('parseApiDuration: the chat forms or ISO 8601', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['1h30m', 90 * 60_000],
    ['PT30M', 30 * 60_000],
    ['pt1h30m', 90 * 60_000],
    ['P1D', 86_400_000],
    ['P1DT2H', 26 * 3_600_000],
    ['PT45S', 45_000],
  ])('%s → %d ms', (text, ms) => expect(parseApiDuration(text)).toBe(ms));

  it.each([
    ['P1M', 'ISO 8601 with days, hours, minutes and seconds only'],
    ['P1W', 'ISO 8601 with days, hours, minutes and seconds only'],
    ['PT', 'names no length'],
    ['P', 'names no length'],
    ['P1DT', 'names no length'],
    ['PT0M', 'longer than zero'],
    ['half an hour', 'is not a duration'],
  ])('%s is refused: %s', (text, message) => expect(() => parseApiDuration(text)).toThrow(message));
});
