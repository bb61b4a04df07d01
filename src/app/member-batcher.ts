import type { AddOutcome, Directory, MemberChange, MemberChangeResult } from '../ports/directory';

interface Waiting {
  change: MemberChange;
  settle: (result: MemberChangeResult) => void;
}

export interface MemberBatcherOptions {
  /** Changes in one call of `changeMembers` (Graph: 20 a JSON batch). */
  maxBatch: number;
  /** Batches under way at once. */
  maxInFlight: number;
}

/**
 * Gathers the membership adds and removals the worker's effects ask for in the same turn of
 * the event loop into batches (`Directory.changeMembers`, Graph JSON batching), so that 1,000
 * removals falling due together cost 50 round trips, not 1,000. Each caller still gets its
 * own answer, as from the single call. A directory without `changeMembers` is called one
 * change at a time, at once (no batching, no delay); a lone change goes as the single call.
 */
export class MemberBatcher {
  private readonly queue: Waiting[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly directory: Directory,
    private readonly options: MemberBatcherOptions = { maxBatch: 20, maxInFlight: 8 },
  ) {}

  async add(groupId: string, userId: string): Promise<AddOutcome> {
    if (!this.directory.changeMembers) return this.directory.addMember(groupId, userId);
    const result = await this.enqueue({ op: 'add', groupId, userId });
    if (!result.ok) throw result.error;
    return result.outcome ?? 'added';
  }

  async remove(groupId: string, userId: string): Promise<void> {
    if (!this.directory.changeMembers) return this.directory.removeMember(groupId, userId);
    const result = await this.enqueue({ op: 'remove', groupId, userId });
    if (!result.ok) throw result.error;
  }

  private enqueue(change: MemberChange): Promise<MemberChangeResult> {
    return new Promise((settle) => {
      this.queue.push({ change, settle });
      if (this.scheduled) return;
      this.scheduled = true;
      // NB: one macrotask later, so that every effect started in the same worker pass (each
      // after a few store reads that resolve in microtasks) is in the queue by then.
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async send(batch: Waiting[]): Promise<void> {
    let results: MemberChangeResult[];
    try {
      results = await this.directory.changeMembers!(batch.map((w) => w.change));
    } catch (error) {
      results = batch.map(() => ({ ok: false, error: error as Error }));
    }
    batch.forEach((waiting, i) =>
      waiting.settle(
        results[i] ?? { ok: false, error: new Error('the directory gave no answer for this change') },
      ),
    );
  }
}
