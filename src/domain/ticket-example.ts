/**
 * What a person is shown instead of a group's `ticketPattern`: a regex means nothing to most
 * people in an incident, an example ("INC-12345") does. The policy may name one
 * (`ticketExample`); otherwise one is derived from simple patterns only, and only when the
 * pattern accepts it: a wrong example is worse than none.
 */

/** How many characters a derived or configured example may have (ticket ids are short). */
export const MAX_TICKET_EXAMPLE = 40;

/** What a ticket example may be made of: no markup, quotes or line breaks can reach a reply. */
export const TICKET_EXAMPLE_TEXT = /^[A-Za-z0-9](?:[A-Za-z0-9 _./#:-]*[A-Za-z0-9])?$/;

const DIGITS = '1234567890';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
/** A literal a derived example may contain as is. */
const LITERAL = /[A-Za-z0-9 _/#:-]/;
/** Escapes of punctuation that stand for themselves. */
const ESCAPED_LITERAL = /[._/#:-]/;

/** One piece of a simple pattern: a run of letters to repeat, with how many times it may occur. */
interface Atom {
  sample: string;
  /** How many characters an unbounded repeat shows: a ticket number looks like one at 5 digits. */
  typical: number;
}

/** The characters a class like [0-9], [A-Z], [a-z0-9] shows, or undefined for anything else. */
function classSample(body: string): string | undefined {
  if (body.startsWith('^') || body.length === 0) return undefined;
  if (!/^(?:[A-Za-z0-9]-[A-Za-z0-9]|[A-Za-z0-9_-])+$/.test(body)) return undefined;
  if (body.includes('0-9')) return DIGITS;
  if (body.includes('A-Z')) return UPPER;
  if (body.includes('a-z')) return LOWER;
  return body[0];
}

/** Reads one atom at `at`; returns it and where the next token starts, or undefined when not simple. */
function atomAt(p: string, at: number): { atom: Atom; next: number } | undefined {
  const ch = p[at]!;
  if (ch === '\\') {
    const escaped = p[at + 1];
    if (escaped === 'd') return { atom: { sample: DIGITS, typical: 5 }, next: at + 2 };
    if (escaped && ESCAPED_LITERAL.test(escaped))
      return { atom: { sample: escaped, typical: 1 }, next: at + 2 };
    return undefined;
  }
  if (ch === '[') {
    const end = p.indexOf(']', at + 1);
    const sample = end > at ? classSample(p.slice(at + 1, end)) : undefined;
    if (!sample) return undefined;
    return { atom: { sample, typical: sample === DIGITS ? 5 : sample.length > 1 ? 3 : 1 }, next: end + 1 };
  }
  if (ch === '(') {
    // (INC|CHG) or (?:INC|CHG): literal alternatives only; the first one is the example.
    const end = p.indexOf(')', at + 1);
    if (end < 0) return undefined;
    const body = p.slice(at + 1, end).replace(/^\?:/, '');
    const first = body.split('|')[0]!;
    if (!first || !/^[A-Za-z0-9 _/#:|-]+$/.test(body)) return undefined;
    return { atom: { sample: first, typical: 1 }, next: end + 1 };
  }
  if (LITERAL.test(ch)) return { atom: { sample: ch, typical: 1 }, next: at + 1 };
  return undefined;
}

/** How many times an atom repeats, from the quantifier at `at` (none = once). */
function countAt(p: string, at: number, atom: Atom): { count: number; next: number } | undefined {
  const q = p[at];
  if (q === '+' || q === '*') return { count: atom.typical, next: at + 1 };
  if (q === '?') return { count: 1, next: at + 1 };
  if (q !== '{') return { count: 1, next: at };
  const m = /^\{(\d{1,2})(,(\d{1,2})?)?\}/.exec(p.slice(at));
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] ? (m[3] ? Number(m[3]) : Infinity) : min;
  return { count: Math.max(min, Math.min(max, atom.typical)), next: at + m[0].length };
}

function repeat(atom: Atom, count: number): string {
  // A class shows a run of its characters (12345, ABC); a literal repeats as typed.
  if (atom.sample.length > 1 && (atom.sample === DIGITS || atom.sample === UPPER || atom.sample === LOWER))
    return Array.from({ length: count }, (_, i) => atom.sample[i % atom.sample.length]).join('');
  return atom.sample.repeat(count);
}

/** An example ticket for a simple pattern (`^INC-[0-9]+$` → `INC-12345`), or undefined when none is safe to show. */
export function deriveTicketExample(pattern: string): string | undefined {
  if (pattern.length > 200) return undefined;
  const body = pattern.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
  let example = '';
  for (let at = 0; at < body.length;) {
    const read = atomAt(body, at);
    if (!read) return undefined;
    const counted = countAt(body, read.next, read.atom);
    if (!counted) return undefined;
    example += repeat(read.atom, counted.count);
    at = counted.next;
    if (example.length > MAX_TICKET_EXAMPLE) return undefined;
  }
  const fits = TICKET_EXAMPLE_TEXT.test(example) && new RegExp(pattern).test(example);
  return fits ? example : undefined;
}

/** The example to show for a group: the policy's `ticketExample`, else one derived from `ticketPattern`. */
export function ticketExampleFor(rules: {
  ticketPattern?: string;
  ticketExample?: string;
}): string | undefined {
  if (rules.ticketExample) return rules.ticketExample;
  return rules.ticketPattern ? deriveTicketExample(rules.ticketPattern) : undefined;
}
