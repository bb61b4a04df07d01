/**
 * Draws Timebox's two Teams icons as PNGs (no image tooling needed): `manifest/color.png`
 * 192×192 (an hourglass on the accent colour) and `manifest/outline.png` 32×32 (the same
 * hourglass in white on transparent, as Teams requires). Run: npx tsx scripts/make-icons.ts
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

type RGBA = [number, number, number, number];
const ACCENT: RGBA = [0x1f, 0x4e, 0x8c, 255];
const WHITE: RGBA = [255, 255, 255, 255];
const SAND: RGBA = [0xf5, 0xb9, 0x42, 255];
const CLEAR: RGBA = [0, 0, 0, 0];

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size: number, pixel: (x: number, y: number) => RGBA): Buffer {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) Buffer.from(pixel(x, y)).copy(raw, y * (size * 4 + 1) + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Hourglass in unit coordinates (0..1): two caps and two triangles meeting at the waist. */
function hourglass(u: number, v: number, stroke: number): 'cap' | 'glass' | 'sand' | undefined {
  const left = 0.25,
    right = 0.75,
    top = 0.18,
    bottom = 0.82;
  if (u >= 0.2 && u <= 0.8 && ((v >= top - 0.06 && v <= top) || (v >= bottom && v <= bottom + 0.06)))
    return 'cap';
  if (v < top || v > bottom) return undefined;
  const half = (bottom - top) / 2;
  const t = Math.abs(v - (top + half)) / half; // 0 at the waist, 1 at the caps
  const width = 0.04 + (((t * (right - left - 0.04)) / 2) * 2) / 2;
  const dx = Math.abs(u - 0.5);
  if (dx > width) return undefined;
  if (dx > width - stroke) return 'glass';
  // Sand: a little left on top, a heap below.
  const inTopSand = v < top + half && v > top + half * 0.55;
  const inBottomSand = v > top + half * 1.45;
  return inTopSand || inBottomSand ? 'sand' : undefined;
}

const color = png(192, (x, y) => {
  const u = (x + 0.5) / 192,
    v = (y + 0.5) / 192;
  const part = hourglass(u, v, 0.035);
  return part === 'cap' || part === 'glass' ? WHITE : part === 'sand' ? SAND : ACCENT;
});
const outline = png(32, (x, y) => {
  const u = (x + 0.5) / 32,
    v = (y + 0.5) / 32;
  const part = hourglass(u, v, 0.07);
  return part === 'cap' || part === 'glass' ? WHITE : CLEAR;
});

const dir = path.join(__dirname, '..', 'manifest');
writeFileSync(path.join(dir, 'color.png'), color);
writeFileSync(path.join(dir, 'outline.png'), outline);
console.log('wrote manifest/color.png (192x192) and manifest/outline.png (32x32)');
