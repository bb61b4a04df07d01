// WCAG 2.x contrast, pure: the browser reports colours as CSS strings, this turns them into ratios.

/** Straight (not premultiplied) sRGB colour, channels 0–255, alpha 0–1. */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

const RGB = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+)(%?))?\s*\)$/;
const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i;

/** `rgb()` / `rgba()` as `getComputedStyle` reports them, and `#rgb` / `#rrggbb` / `#rrggbbaa`. */
export function parseCssColor(css: string): Rgba {
  const text = css.trim();
  if (text === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  const rgb = RGB.exec(text);
  if (rgb) {
    const alpha = rgb[4] === undefined ? 1 : Number(rgb[4]) / (rgb[5] === '%' ? 100 : 1);
    return { r: Number(rgb[1]), g: Number(rgb[2]), b: Number(rgb[3]), a: alpha };
  }
  const hex = HEX.exec(text)?.[1];
  if (hex) {
    const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
    const byte = (i: number) => parseInt(full.slice(i, i + 2), 16);
    return { r: byte(0), g: byte(2), b: byte(4), a: full.length === 8 ? byte(6) / 255 : 1 };
  }
  throw new Error(`not a CSS colour this check understands: "${css}"`);
}

/** `top` painted over an opaque `bottom` (source-over): what the eye sees. */
export function compositeOver(top: Rgba, bottom: Rgba): Rgba {
  const mix = (t: number, b: number) => t * top.a + b * (1 - top.a);
  return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a: 1 };
}

/**
 * The opaque colour behind an element: `layers` are background colours from the element itself
 * outwards; the first opaque one ends the walk, `page` is under everything.
 */
export function effectiveBackground(layers: readonly Rgba[], page: Rgba): Rgba {
  const opaqueAt = layers.findIndex((l) => l.a >= 1);
  const stack = opaqueAt === -1 ? layers : layers.slice(0, opaqueAt + 1);
  return stack.reduceRight<Rgba>((under, layer) => compositeOver(layer, under), { ...page, a: 1 });
}

function channel(value: number): number {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2.x relative luminance of an opaque colour. */
export function relativeLuminance(c: Rgba): number {
  return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
}

/** WCAG 2.x contrast ratio (1–21) of `text` (alpha composited over `background`) on `background`. */
export function contrastRatio(text: Rgba, background: Rgba): number {
  const shown = compositeOver(text, background);
  const [hi, lo] = [relativeLuminance(shown), relativeLuminance(background)].sort((a, b) => b - a);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** WCAG 1.4.3: 3:1 for large text (≥ 24 px, or ≥ 18.66 px and bold, i.e. weight ≥ 700), else 4.5:1. */
export function requiredRatio(fontSizePx: number, fontWeight: number): number {
  return fontSizePx >= 24 || (fontSizePx >= 18.66 && fontWeight >= 700) ? 3 : 4.5;
}
