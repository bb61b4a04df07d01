import path from 'node:path';
import { actAs, playgroundUsers, type ActAsResult } from '../../../src/dev/act-as';
import { ROOT } from './e2e-stack';
import type { E2E } from './index';

/**
 * `npm run dev:as -- <person> <verb> <id> [reason]` against this file's stack: a click on the
 * channel card as another demo user, through the playground.
 */
export function devAs(
  e2e: E2E,
): (person: string, verb: string, requestId: string, reason?: string) => Promise<ActAsResult> {
  const users = playgroundUsers(path.join(ROOT, '.m365agentsplayground.yml'));
  return (person, verb, requestId, reason) =>
    actAs({
      person,
      verb,
      requestId,
      reason,
      dataDir: e2e.stack.dataDir,
      playgroundUrl: e2e.stack.playgroundUrl,
      users,
    });
}

/** The first request id (R-…) in a card's or a message's text. */
export function requestIdIn(text: string): string {
  const id = /R-[A-Z0-9]+/.exec(text)?.[0];
  if (!id) throw new Error(`no request id in: ${text}`);
  return id;
}
