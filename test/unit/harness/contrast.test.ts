import {
  compositeOver,
  contrastRatio,
  effectiveBackground,
  parseCssColor,
  relativeLuminance,
  requiredRatio,
} from '../../e2e/harness/contrast';

const white = parseCssColor('#fff');
const black = parseCssColor('rgb(0, 0, 0)');

describe('WCAG contrast helper', () => {
  test('known pairs', () => {
    expect(contrastRatio(black, white)).toBeCloseTo(21, 5);
    expect(contrastRatio(white, black)).toBeCloseTo(21, 5);
    expect(contrastRatio(parseCssColor('#777777'), white)).toBeCloseTo(4.48, 2);
    expect(contrastRatio(parseCssColor('#767676'), white)).toBeCloseTo(4.54, 2);
    expect(contrastRatio(white, white)).toBe(1);
    // The measurement: the playground's warning yellow on its warning container.
    expect(contrastRatio(parseCssColor('#f8d22a'), parseCssColor('#FFE2B2'))).toBeCloseTo(1.18, 2);
  });

  test('luminance of the extremes', () => {
    expect(relativeLuminance(white)).toBeCloseTo(1, 10);
    expect(relativeLuminance(black)).toBe(0);
  });

  test('parses what getComputedStyle and host configs write', () => {
    expect(parseCssColor('rgba(37, 36, 36, 0.75)')).toEqual({ r: 37, g: 36, b: 36, a: 0.75 });
    expect(parseCssColor('rgb(1 2 3 / 50%)')).toEqual({ r: 1, g: 2, b: 3, a: 0.5 });
    expect(parseCssColor('#00000080').a).toBeCloseTo(128 / 255, 6);
    expect(parseCssColor('transparent').a).toBe(0);
    expect(() => parseCssColor('color(display-p3 1 0 0)')).toThrow(/display-p3/);
  });

  test('semi-transparent text is composited over its background', () => {
    // 50 % black on white is mid grey: far less than 21:1.
    const ratio = contrastRatio(parseCssColor('rgba(0, 0, 0, 0.5)'), white);
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(5);
    expect(compositeOver(parseCssColor('rgba(0, 0, 0, 0.5)'), white).r).toBeCloseTo(127.5, 5);
  });

  test('the effective background stops at the first opaque layer and composites the rest', () => {
    const translucentBlack = parseCssColor('rgba(0, 0, 0, 0.5)');
    expect(effectiveBackground([], white)).toEqual(white);
    expect(effectiveBackground([parseCssColor('transparent'), black, white], white)).toEqual(black);
    expect(effectiveBackground([translucentBlack], white).r).toBeCloseTo(127.5, 5);
    expect(effectiveBackground([translucentBlack, translucentBlack], white).r).toBeCloseTo(63.75, 5);
  });

  test('large text needs 3:1, the rest 4.5:1', () => {
    expect(requiredRatio(14, 400)).toBe(4.5);
    expect(requiredRatio(18, 700)).toBe(4.5);
    expect(requiredRatio(18.66, 700)).toBe(3);
    expect(requiredRatio(18.66, 600)).toBe(4.5);
    expect(requiredRatio(24, 400)).toBe(3);
  });
});
