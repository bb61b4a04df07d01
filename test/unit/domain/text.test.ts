import fc from 'fast-check';
import { hasVisibleContent, MAX_MARKS_PER_CHARACTER, normalizeTypedText } from '../../../src/domain/text';

const TAGS = '\u{E0001}\u{E0074}\u{E0069}\u{E006D}\u{E0065}\u{E007F}';
const VARIATION = '\uFE00\uFE01\uFE0E\uFE0F\u{E0100}\u{E0120}\u{E01EF}';
/** Characters that must never survive normalization. */
const DROPPED =
  /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2800\u{E0000}-\u{E007F}\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u;
const marksRun = (text: string): number =>
  Math.max(0, ...Array.from(text.matchAll(/\p{M}+/gu), (m) => Array.from(m[0]).length));

describe('normalizeTypedText', () => {
  test.each([
    ['Hangul filler U+3164', 'a\u3164b', 'ab'],
    ['Hangul choseong/jungseong/halfwidth fillers', 'a\u115F\u1160\uFFA0b', 'ab'],
    ['braille blank U+2800', 'a\u2800\u2800b', 'ab'],
    ['combining grapheme joiner U+034F', 'a\u034Fb', 'ab'],
    ['Khmer invisible vowels U+17B4, U+17B5', 'a\u17B4\u17B5b', 'ab'],
    ['Mongolian variation selectors and vowel separator', 'a\u180B\u180C\u180D\u180E\u180Fb', 'ab'],
    ['tag characters U+E0000–E007F', `a${TAGS}b`, 'ab'],
    ['variation selectors', `a${VARIATION}b`, 'ab'],
    ['format characters (Cf)', 'a\u00AD\u200B\u200E\u202E\u2060\u2064\uFEFF\u{1D173}b', 'ab'],
    ['controls, keeping line breaks', 'a\u0000\u0007\u007F\u0085\u009Bb\r\nc\u2028d', 'ab\nc\nd'],
    ['a lone surrogate', 'a\uD800b', 'ab'],
  ])('drops %s', (_name, input, expected) => {
    expect(normalizeTypedText(input)).toBe(expected);
  });

  test(`caps combining marks at ${MAX_MARKS_PER_CHARACTER} per base character`, () => {
    const tower = `q${'\u0301\u0310\u0352\u0300'.repeat(60)}x`;
    const out = normalizeTypedText(tower);
    expect(Array.from(out)).toHaveLength(1 + MAX_MARKS_PER_CHARACTER + 1);
    expect(out.startsWith('q\u0301\u0310\u0352')).toBe(true);
    expect(out.endsWith('x')).toBe(true);
  });

  test('a joiner or a filler between marks does not reset the count', () => {
    const split = `o${'\u0301\u034F\u3164\u200B'.repeat(50)}`;
    expect(marksRun(normalizeTypedText(split))).toBe(MAX_MARKS_PER_CHARACTER);
  });

  test('keeps real text: accents, scripts that need marks, emoji and their sequences', () => {
    for (const text of [
      'Seán Ó Briain — naïve café', // composed by NFC
      'Tiếng Việt có dấu', // Vietnamese: two marks on one vowel
      'कृपया क़ीमत देखें', // Devanagari with nukta and vowel signs
      'שָׁלוֹם', // Hebrew with niqqud and shin dot
      'ภาษาไทย น้ำ', // Thai with a tone mark
      'བསྒྲུབས', // Tibetan stack
      '👩‍💻 👨‍👩‍👧 🇺🇦 ❤️ 👍🏽 1️⃣',
      '田中さん Ω≈ç√',
    ]) {
      expect(normalizeTypedText(text)).toBe(text.normalize('NFC'));
    }
  });

  test('composes decomposed accents (NFC) before counting marks', () => {
    expect(normalizeTypedText('e\u0301\u0301')).toBe('\u00E9\u0301');
  });

  test('a joiner or a variation selector that is not part of an emoji is dropped', () => {
    expect(normalizeTypedText('a\u200Db ❤\uFE0F\uFE0F 🏳\uFE0F\u200D\u200D🌈 x\uFE0F')).toBe(
      'ab ❤\uFE0F 🏳\uFE0F\u200D🌈 x',
    );
  });

  test('for any input: nothing invisible survives, marks are capped, and it is a fixed point', () => {
    const alphabet = fc.constantFrom(
      'a',
      'é',
      ' ',
      '\n',
      '\u0301',
      '\u0310',
      '\u034F',
      '\u3164',
      '\u2800',
      '\u200D',
      '\uFE0F',
      '\u{E0041}',
      '\u{E0100}',
      '\u17B4',
      '😀',
      '🏳',
      '\uD800',
      '\u0000',
      '\u202E',
      'ㅤ',
      '\u115F',
      '1',
      '\u20E3',
    );
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }).map((a) => a.join('')),
        fc.string({ unit: 'binary', maxLength: 60 }),
        (picked, random) => {
          for (const text of [picked, random, picked + random]) {
            const out = normalizeTypedText(text);
            const kept = out.replace(
              /(?<=\p{Extended_Pictographic})\uFE0F|(?<=[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\uFE0F])\u200D(?=\p{Extended_Pictographic})|(?<=[0-9#*])\uFE0F(?=\u20E3)/gu,
              '',
            );
            expect(kept).not.toMatch(DROPPED);
            expect(marksRun(out)).toBeLessThanOrEqual(MAX_MARKS_PER_CHARACTER);
            expect(normalizeTypedText(out)).toBe(out);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('hasVisibleContent', () => {
  test.each([
    ['empty', ''],
    ['blanks and line breaks', ' \t\n\u00A0\u3000 '],
    ['Hangul fillers only', '\u3164\u3164\u3164'],
    ['braille blanks only', '\u2800\u2800\u2800'],
    ['halfwidth and conjoining fillers', '\u115F\u1160\uFFA0'],
    ['tag characters only', TAGS],
    ['variation selectors only', VARIATION],
    ['combining marks only', '\u0301'.repeat(240)],
    ['CGJ and Khmer vowels', '\u034F\u17B4\u17B5'],
    ['zero-width and bidi characters', '\u200B\u200C\u200D\u2060\u202E\uFEFF'],
    ['punctuation and emoji', '... !!! — 🔥👍'],
  ])('%s: no visible letter or digit', (_name, text) => {
    expect(hasVisibleContent(text)).toBe(false);
  });

  test.each([
    ['a word', 'fixing INC-4711'],
    ['a digit', '7'],
    ['another script', 'ремонт'],
    ['a letter among fillers', '\u3164\u2800x\u3164'],
  ])('%s: has visible content', (_name, text) => {
    expect(hasVisibleContent(text)).toBe(true);
  });

  test('undefined is no content', () => {
    expect(hasVisibleContent(undefined)).toBe(false);
  });
});
