import { readdirSync, readFileSync } from 'node:fs';

// The process tree of a test's `npm run dev`, read from /proc (Linux, where CI runs).

interface ProcessInfo {
  ppid: number;
  /** R, S, D, Z (zombie: ended, not yet reaped by its parent), ... */
  state: string;
}

function stat(pid: number): ProcessInfo | undefined {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Every live process below `root` (children, grandchildren, ...), at this moment. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    const info = Number.isInteger(pid) ? stat(pid) : undefined;
    if (!info || info.state === 'Z') continue;
    children.set(info.ppid, [...(children.get(info.ppid) ?? []), pid]);
  }
  const found: number[] = [];
  for (let queue = [root]; queue.length > 0;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Ended: no such process, or a zombie (its resources, ports included, are released). */
export function isGone(pid: number): boolean {
  const info = stat(pid);
  return info === undefined || info.state === 'Z';
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '(gone)';
  }
}
