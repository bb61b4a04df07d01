import { insightRecordOf, type InsightRecord } from '../../domain/insights';
import { mayHoldMembership, sameId, type AccessRequest } from '../../domain/request';
import type { AuditCheckpoint, AuditRecord } from '../../ports/store';
import { GENESIS_HASH, toAuditRecord } from './audit-log';
import { StoreCore, byCreation, clone, keepNewest, type Entry } from './store-core';

/**
 * A Store without files, for tests only: the same rules as LowdbStore (it shares its core:
 * validation, indexes, claims, group commit), with history and the hash-chained audit log in
 * memory. `failNextWrites(n)` makes the next n batches fail as a full disk would.
 * One process only; nothing survives the process.
 */
export class InMemoryStore extends StoreCore {
  private readonly archived = new Map<string, AccessRequest>();
  /** Closed ids per requester (lower-case), in the order they first closed. */
  private readonly closedOrder = new Map<string, string[]>();
  private readonly records: AuditRecord[] = [];
  private failures = 0;

  protected get where(): string {
    return 'memory';
  }

  /** Opening again after close() is a restart on the same data: leases are freed, as a new process's would be. */
  async open(): Promise<void> {
    this.freeLeases();
    this.closed = false;
    this.opened = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.idle();
    this.closed = true;
  }

  /** Test hook: the next `batches` writes fail with ENOSPC. */
  failNextWrites(batches = 1): void {
    this.failures = batches;
  }

  async *readAudit(): AsyncIterable<AuditRecord> {
    this.ready();
    await this.appended();
    for (const record of [...this.records]) yield clone(record);
  }

  /** None: this store signs no checkpoints (it has no key, and nothing outlives the process to vouch for). */
  async *readAuditCheckpoints(): AsyncIterable<AuditCheckpoint> {
    this.ready();
  }

  async listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]> {
    this.ready();
    await this.appended();
    const ids = this.closedOrder.get(requesterId.toLowerCase()) ?? [];
    const out: AccessRequest[] = [];
    for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) {
      const r = this.archived.get(ids[i]!) ?? this.closing.get(ids[i]!);
      if (r) out.push(r);
    }
    return out;
  }

  protected async persist(_entries: Entry[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
  }

  protected async findArchived(id: string): Promise<AccessRequest | undefined> {
    return this.archived.get(id);
  }

  protected async createdBetweenArchived(
    since: number,
    until: number,
    limit?: number,
  ): Promise<AccessRequest[]> {
    const found = [...this.archived.values()]
      .filter((r) => r.createdAt >= since && r.createdAt < until)
      .sort(byCreation);
    return limit === undefined ? found : found.slice(0, limit);
  }

  protected async *scanArchivedInsights(
    since: number,
    until: number,
  ): AsyncGenerator<readonly InsightRecord[]> {
    const found = [...this.archived.values()]
      .filter((r) => r.createdAt >= since && r.createdAt < until)
      .map(insightRecordOf);
    // Two batches when there are several, so that the callers' batch handling is exercised.
    const half = Math.ceil(found.length / 2);
    if (found.length > 0) yield found.slice(0, half);
    if (found.length > half) yield found.slice(half);
  }

  protected async lastRequestedArchived(until: number): Promise<Map<string, number>> {
    const last = new Map<string, number>();
    for (const r of this.archived.values())
      if (r.createdAt < until) keepNewest(last, r.group.id.toLowerCase(), r.createdAt);
    return last;
  }

  protected async holdingArchived(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    return [...this.archived.values()].filter(
      (r) => sameId(r.requester.id, requesterId) && sameId(r.group.id, groupId) && mayHoldMembership(r),
    );
  }

  protected async afterBatch(): Promise<void> {
    let prevHash = this.records[this.records.length - 1]?.hash ?? GENESIS_HASH;
    for (const { seq, event } of this.auditQueue.sort((a, b) => a.seq - b.seq)) {
      const record = toAuditRecord(event, seq, prevHash);
      this.records.push(record);
      prevHash = record.hash;
    }
    this.auditQueue = [];
    for (const [id, request] of this.closing) {
      const requester = request.requester.id.toLowerCase();
      if (!this.archived.has(id)) {
        const list = this.closedOrder.get(requester) ?? [];
        list.push(id);
        this.closedOrder.set(requester, list);
      }
      this.archived.set(id, request);
    }
    this.closing.clear();
  }
}
