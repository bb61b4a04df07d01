import fc from 'fast-check';
import { markdownSafe, mentionName, plain } from '../../../src/cards';
import { inputText } from '../../../src/cards/sanitize';

const WJ = '\u2060';
const UNSAFE =
  /\$\{|\{\{|<[a-zA-Z/!?]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;

describe('plain', () => {
  test('breaks template, date-function, markup and entity sequences with a word joiner', () => {
    expect(plain('${a} {{DATE(x)}} <at>b</at> &amp;')).toBe(
      `$${WJ}{a} {${WJ}{DATE(x)}} <${WJ}at>b<${WJ}/at> &${WJ}amp;`,
    );
  });

  test('removes controls, bidi overrides and invisible characters', () => {
    expect(plain('a\u0000b\u202Ec\u2066d\u200Ee\u200Bf\uFEFFg\u00ADh')).toBe('abcdefgh');
  });

  test('keeps emoji (including ZWJ sequences) and other scripts', () => {
    expect(plain('👩‍💻 Ада 李')).toBe('👩‍💻 Ада 李');
  });

  test('flattens whitespace on one line; multiline text stays on one line with each break shown as ↵', () => {
    expect(plain('a\n\n\nb\tc')).toBe('a b c');
    expect(plain('a\r\n\r\n\r\n\r\nb  \nc', 100, true)).toBe('a ↵ b ↵ c');
    expect(plain('\n\nwhy\u2028✔ Approved by Ana Approver\n\n', 100, true)).toBe(
      'why ↵ ✔ Approved by Ana Approver',
    );
  });

  test('inputText keeps line breaks (at most one blank line) for an edit box', () => {
    expect(inputText('a\r\n\r\n\r\n\r\nb  \nc\u3164', 100)).toBe('a\n\nb\nc');
  });

  test('drops fillers, tags, variation selectors and invisible vowels; caps combining marks at 3', () => {
    expect(plain('a\u3164b\u2800c\u115F\u1160\uFFA0d')).toBe('abcd');
    expect(plain('t\u{E0001}\u{E0061}\u{E007F}a\uFE00\uFE0E\u{E0100}g')).toBe('tag');
    expect(plain('c\u034Fg\u17B4\u17B5j\u180B')).toBe('cgj');
    expect(Array.from(plain(`q${'\u0301'.repeat(240)}!`))).toHaveLength(5);
    expect(plain('\u3164\u2800\u3164', 100, true)).toBe('');
  });

  test('truncates by code point with an ellipsis, never splitting a surrogate pair', () => {
    expect(plain('x'.repeat(600))).toHaveLength(500);
    expect(plain('x'.repeat(600)).endsWith('…')).toBe(true);
    const emoji = plain('😀'.repeat(100_000), 10);
    expect(Array.from(emoji)).toHaveLength(10);
    expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  test('for any input: nothing unsafe survives and the length is bounded', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.integer({ min: 1, max: 200 }),
        fc.boolean(),
        (text, max, multiline) => {
          const out = plain(text, max, multiline);
          expect(out).not.toMatch(UNSAFE);
          expect(out).not.toMatch(
            /[\n\r\u2028\u2029\u3164\u2800\u034F\u17B4\u17B5\uFE00-\uFE0E\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]|\p{M}{4}/u,
          );
          // Each neutralised sequence adds one word joiner; the visible length stays within max.
          expect(Array.from(out.split(WJ).join('')).length).toBeLessThanOrEqual(max);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('is a fixed point: cleaning clean text changes nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const once = plain(text, 1000, true);
        expect(plain(once, 1000, true)).toBe(once);
      }),
    );
  });
});

describe('markdownSafe', () => {
  test('escapes emphasis, links, headings and list markers', () => {
    expect(markdownSafe('**b** _i_ [x](https://e) # h')).toBe(
      '\\*\\*b\\*\\* \\_i\\_ \\[x\\]\\(https://e\\) \\# h',
    );
    expect(markdownSafe('- item')).toBe('\\- item');
    expect(markdownSafe('1. item')).toBe('1\\. item');
  });
});

describe('mentionName', () => {
  test('keeps letters, digits and plain punctuation only, so it cannot close the tag', () => {
    expect(mentionName('Bob</at><at>Eve')).toBe('BobatatEve');
    expect(mentionName('[Grace](https://x) **Hopper**')).toBe('Gracehttpsx Hopper');
    expect(mentionName("Seán O'Brien-Ruiz")).toBe("Seán O'Brien-Ruiz");
    expect(mentionName('<>')).toBe('someone');
  });
});
