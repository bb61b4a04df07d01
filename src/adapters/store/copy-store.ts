import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { AccessRequest } from '../../domain/request';
import type { AuditCheckpoint, GroupBaseline } from '../../ports/store';
import type { AuditKey } from './audit-checkpoint';
import { verifyAuditRecords, type VerifyResult } from './audit-verify';
import { History } from './history';
import { LowdbStore } from './lowdb-store';
import type { HotState } from './store-core';
import { connect, countHoldings, importStore, type Holdings, type StoreContents } from './postgres/import';
import { PostgresStore } from './postgres/postgres-store';

/**
 * `timebox store copy`: a LowdbStore data directory into an empty PostgreSQL database, whole.
 * The source is read through a read-only LowdbStore (nothing in it is written); what the Store
 * port has no listing for (every chat, baseline, effect) comes from the store's own snapshot of
 * its state, the one it writes at compaction, and closed requests through the port by the ids
 * the audit chain names, checked against the history's own count.
 */
export interface CopyOptions {
  from: string;
  /** A postgres:// URL. */
  to: string;
  /** For messages: the URL without its password. */
  toLabel: string;
  /** Checks the source's signed checkpoints too (TIMEBOX_AUDIT_KEY). */
  keys?: AuditKey[];
}

export interface CopySummary {
  requests: number;
  open: number;
  effects: number;
  baselines: number;
  chats: number;
  serviceUrls: number;
  audit: number;
  checkpoints: number;
  welcomes: number;
  head?: { seq: number; hash: string };
}

/** A read-only LowdbStore that also hands out its whole state, as its snapshot holds it. */
class LowdbSource extends LowdbStore {
  constructor(dir: string) {
    super(dir, { readOnly: true });
  }
  state(): HotState {
    return this.snapshot(0);
  }
}

const FILES = ['timebox.json', 'journal.jsonl', 'history.jsonl', 'audit.jsonl', 'audit-checkpoints.jsonl'];

/** Size and mtime of each file: a bot writing while we read changes one of them. */
async function fingerprint(dir: string): Promise<string> {
  const parts = await Promise.all(
    FILES.map(async (name) => {
      const stat = await fs.stat(path.join(dir, name)).catch(() => undefined);
      return stat ? `${name}:${stat.size}:${stat.mtimeMs}` : `${name}:-`;
    }),
  );
  return parts.join('|');
}

export async function copyStore(options: CopyOptions): Promise<CopySummary> {
  const dir = options.from;
  if (!existsSync(path.join(dir, 'timebox.json')))
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      `${dir} is not a Timebox data directory (there is no timebox.json in it).`,
    );
  const before = await fingerprint(dir);
  const source = new LowdbSource(dir);
  await source.open();
  try {
    const verified = await verifyAuditRecords(source.readAudit(), source.readAuditCheckpoints(), {
      keys: options.keys ?? [],
    });
    if (!verified.ok)
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `The audit chain of ${dir} does not verify (${verified.problem}); copying it would certify it. Nothing was written. Check it with: timebox audit verify --file ${source.auditFile}`,
      );
    const contents = await readContents(source, dir);
    // NB: checked before anything is written; a bot that writes meanwhile would be copied half.
    if ((await fingerprint(dir)) !== before) throw botRunning(dir);
    const db = await connect(options.to, options.toLabel);
    let imported;
    try {
      imported = await importStore(db, contents, options.toLabel);
    } finally {
      await db.end().catch(() => undefined);
    }
    const summary: CopySummary = {
      requests: contents.open.length + contents.closed.length,
      open: contents.open.length,
      effects: contents.effects.length,
      baselines: contents.baselines.length,
      chats: Object.keys(contents.chats).length,
      serviceUrls: Object.keys(contents.serviceUrls).length,
      audit: imported.audit,
      checkpoints: contents.checkpoints.length,
      welcomes: Object.keys(contents.welcomed).length,
      ...(verified.head ? { head: verified.head } : {}),
    };
    if (
      imported.audit !== verified.records ||
      imported.head.hash !== (verified.head?.hash ?? imported.head.hash)
    )
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `The audit log of ${dir} changed while it was copied (${verified.records} records verified, ${imported.audit} copied): stop the bot first.`,
      );
    await checkTarget(options, summary);
    return summary;
  } finally {
    await source.close();
  }
}

function botRunning(dir: string): DomainError {
  return new DomainError(
    ErrorCodes.COMMAND_INVALID,
    `${dir} changed while it was being read: a bot seems to be running on it. Stop the bot first, then copy again. Nothing was written.`,
  );
}

async function readContents(source: LowdbSource, dir: string): Promise<StoreContents> {
  const state = source.state();
  const open = Object.values(state.requests);
  const openIds = new Set(open.map((r) => r.id));
  const closing = new Set(Object.keys(state.closing ?? {}));
  // Every request has at least its "submitted" record: the chain names them all.
  const ids = new Set<string>();
  for await (const record of source.readAudit())
    if (record.requestId && !openIds.has(record.requestId)) ids.add(record.requestId);
  for (const id of closing) ids.add(id);
  const closed: AccessRequest[] = [];
  for (const id of ids) {
    const request = await source.get(id);
    if (request) closed.push(request);
  }
  // The history's own index of closed requests: one the chain does not name would be lost.
  const history = new History(path.join(dir, 'history.jsonl'));
  try {
    await history.load((id) => openIds.has(id) || closing.has(id), { readOnly: true });
  } finally {
    await history.close();
  }
  const expected = history.size + [...closing].filter((id) => !openIds.has(id)).length;
  if (closed.length !== expected)
    throw new DomainError(
      ErrorCodes.STORE_CORRUPT,
      `${dir} holds ${expected} closed request(s), but its audit chain names ${closed.length}: it cannot be copied whole. Nothing was written.`,
    );
  const checkpoints: AuditCheckpoint[] = [];
  for await (const c of source.readAuditCheckpoints()) checkpoints.push(c);
  return {
    open,
    dueAt: state.dueAt ?? {},
    closed,
    effects: state.effects,
    baselines: Object.values(state.baselines ?? {}) as GroupBaseline[],
    chats: state.personalChats,
    serviceUrls: state.serviceUrls,
    welcomed: state.welcomed ?? {},
    ...(state.signingKeys ? { signingKeys: state.signingKeys } : {}),
    ...(state.delegations ? { delegations: state.delegations } : {}),
    audit: () => source.readAudit(),
    checkpoints,
  };
}

/** The target read back: its chain verifies and ends at the source's head, and every count matches. */
async function checkTarget(options: CopyOptions, summary: CopySummary): Promise<void> {
  const target = new PostgresStore(options.to, { readOnly: true });
  await target.open();
  let result: VerifyResult;
  try {
    result = await verifyAuditRecords(target.readAudit(), target.readAuditCheckpoints());
  } finally {
    await target.close();
  }
  const fail = (what: string) =>
    new DomainError(
      ErrorCodes.STORE_CORRUPT,
      `The copy in ${options.toLabel} does not match the source: ${what}. Empty the database before trying again.`,
    );
  if (!result.ok) throw fail(`its audit chain does not verify (${result.problem})`);
  if (result.head?.hash !== summary.head?.hash) throw fail('its audit chain ends at another head');
  const db = await connect(options.to, options.toLabel);
  let held: Holdings;
  try {
    held = await countHoldings(db);
  } finally {
    await db.end().catch(() => undefined);
  }
  const want: Holdings = {
    requests: summary.requests,
    effects: summary.effects,
    audit: summary.audit,
    chats: summary.chats,
    baselines: summary.baselines,
    welcomes: summary.welcomes,
  };
  for (const key of Object.keys(want) as Array<keyof Holdings>)
    if (held[key] !== want[key]) throw fail(`${held[key]} ${key} there, ${want[key]} in the source`);
}

const n = (value: number) => value.toLocaleString('en-US');

export function describeCopy(summary: CopySummary): string {
  const head = summary.head ? `, head ${summary.head.seq}:${summary.head.hash}` : '';
  const lines = [
    `copied ${n(summary.requests)} requests (${n(summary.open)} open), ${n(summary.effects)} effects, ${n(summary.baselines)} baselines, ${n(summary.chats)} chats, ${n(summary.serviceUrls)} service URLs, ${n(summary.audit)} audit records; audit chain verified on both sides${head}`,
  ];
  if (summary.checkpoints > 0) lines.push(`${n(summary.checkpoints)} signed checkpoints copied.`);
  return lines.join('\n');
}
