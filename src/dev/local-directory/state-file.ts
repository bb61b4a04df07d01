import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DirectoryState } from './model';

/** Reads a saved directory; undefined when there is none. A corrupt file stops start-up, naming it. */
export function readStateFile(path: string): DirectoryState | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `local directory state file ${path} is not valid JSON (${(error as Error).message}); fix or delete it`,
    );
  }
  const state = parsed as Partial<DirectoryState>;
  if (!Array.isArray(state.users) || !Array.isArray(state.groups)) {
    throw new Error(
      `local directory state file ${path} has no "users" and "groups" arrays; fix or delete it`,
    );
  }
  return {
    users: state.users,
    groups: state.groups,
    // NB: absent from files written before machine requesters existed: they open with none.
    servicePrincipals: Array.isArray(state.servicePrincipals) ? state.servicePrincipals : [],
    pimAssignments: Array.isArray(state.pimAssignments) ? state.pimAssignments : [],
  };
}

/** Writes the directory atomically (temporary file, then rename), so a crash never leaves half a file. */
export function writeStateFile(path: string, state: DirectoryState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}
