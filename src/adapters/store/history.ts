import { promises as fs } from 'node:fs';
import type { AccessRequest } from '../../domain/request';
import { DomainError, ErrorCodes } from '../../domain/errors';

/**
 * Closed requests: an append-only JSONL file (the last line for an id wins), held in memory
 * as a map for lookups. Appending is O(1) whatever the size of the history.
 */
export class History {
  private readonly byId = new Map<string, AccessRequest>();
  private readonly byRequester = new Map<string, string[]>();

  constructor(readonly file: string) {}

  /** Loads the file; `isOpen(id)` tells which ids the hot state still holds (those win). */
  async load(isOpen: (id: string) => boolean): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `Cannot read the history file ${this.file}: ${(error as Error).message}`);
    }
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      if (!line.trim()) return;
      let request: AccessRequest;
      try {
        request = JSON.parse(line) as AccessRequest;
      } catch {
        // A torn last line is a crash during an append that was never committed.
        if (index === lines.length - 1) return;
        throw new DomainError(ErrorCodes.STORE_CORRUPT, `The history file ${this.file} has a corrupt line ${index + 1}. It was left as it is.`);
      }
      if (!isOpen(request.id)) this.remember(request);
    });
  }

  get(id: string): AccessRequest | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  async append(request: AccessRequest): Promise<void> {
    const handle = await fs.open(this.file, 'a');
    try {
      await handle.write(JSON.stringify(request) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.remember(request);
  }

  /** Undoes `append` in memory after the hot write that should have followed it failed. */
  forget(id: string, stillOpen: AccessRequest | undefined): void {
    if (stillOpen) this.byId.delete(id);
  }

  recentOf(requesterId: string, limit: number): AccessRequest[] {
    const ids = this.byRequester.get(requesterId) ?? [];
    const out: AccessRequest[] = [];
    for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) {
      const request = this.byId.get(ids[i]!);
      if (request) out.push(request);
    }
    return out;
  }

  private remember(request: AccessRequest): void {
    if (!this.byId.has(request.id)) {
      const list = this.byRequester.get(request.requester.id) ?? [];
      list.push(request.id);
      this.byRequester.set(request.requester.id, list);
    }
    this.byId.set(request.id, request);
  }
}
