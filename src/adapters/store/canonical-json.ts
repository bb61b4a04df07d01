/**
 * JSON in one canonical form, after RFC 8785 (JSON Canonicalization Scheme): object keys sorted
 * by their UTF-16 code units, no whitespace, strings and numbers as ECMAScript's JSON.stringify
 * writes them. Two values that mean the same JSON give the same text, whatever their key order,
 * so a hash of it covers every field of a record and nothing else. Not crypto: only the bytes
 * that node:crypto then hashes or signs.
 *
 * Values are what JSON.parse returns (the audit log hashes what it reads back): an `undefined`
 * member is left out and an `undefined` array element becomes null, as JSON.stringify does, so
 * a record hashes the same before it is written and after it is read.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object)
        .filter((k) => object[k] !== undefined)
        // NB: the default sort compares UTF-16 code units, which is RFC 8785's order.
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not JSON`);
  }
}

/**
 * The first key that appears twice in one object of a JSON text, with where it is ("actor.name"),
 * or undefined. JSON.parse silently keeps the last of two equal keys, so a line can show a
 * reader one value and hash as another; callers reject such lines. `text` must already have
 * parsed as JSON. Keys are compared decoded ("a" and "\u0061" are the same key).
 */
export function findDuplicateKey(text: string): string | undefined {
  // One frame per open object or array: the keys seen (objects only) and its path.
  const frames: Array<{ keys?: Set<string>; path: string }> = [];
  let expectKey = false;
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = frames[frames.length - 1];
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return top.path ? `${top.path}.${key}` : key;
        top.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      const parent = frames[frames.length - 1];
      const name = parent === undefined ? '' : parent.keys ? lastKey : '[]';
      const path = parent?.path ? (parent.keys ? `${parent.path}.${name}` : `${parent.path}${name}`) : name;
      frames.push(c === '{' ? { keys: new Set(), path } : { path });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      frames.pop();
    } else if (c === ',') {
      expectKey = frames[frames.length - 1]?.keys !== undefined;
    }
  }
  return undefined;
}
