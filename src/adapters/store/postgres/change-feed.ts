import { Client, type ClientBase, type ClientConfig } from 'pg';

/** The channel every replica's commits are announced on (payload: the announcing store's id). */
export const CHANGE_CHANNEL = 'timebox_changes';

/**
 * Announces a change inside the caller's transaction: PostgreSQL delivers a NOTIFY only when
 * that transaction commits, so a rolled-back commit wakes nobody.
 */
export async function announceChange(db: ClientBase, origin: string): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, origin]);
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/**
 * One dedicated LISTEN connection per store, opened on the first subscriber: tells them of
 * each change another store (another replica) announced. A broken connection (the server
 * restarted, the network dropped) is re-established with backoff; once listening again the
 * subscribers are told once, since announcements sent meanwhile were lost. A wake-up is only a
 * hint: the scheduler's and worker's own timers stay the safety net.
 */
export class ChangeFeed {
  private readonly listeners = new Set<() => void>();
  private client?: Client;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;
  private connecting = false;
  /**
   * The backend pid of the LISTEN connection while it is open: this replica's sign of life.
   * Effect leases record it (outbox.ts, ownerGone), so that when this process dies, and its
   * connection with it, the other replicas take its effects at once.
   */
  backendPid?: number;

  constructor(
    private readonly config: ClientConfig,
    /** Our own announcements come back too; skipped, the local commit already woke our loops. */
    private readonly origin: string,
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.stopped = false;
    if (!this.client && !this.retryTimer && !this.connecting) void this.listen();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  /** Closes the connection and retries no more (a later subscribe starts it again). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.backendPid = undefined;
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ ...this.config, keepAlive: true });
    let lost = false;
    let pid: number | undefined;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = undefined;
        this.backendPid = undefined;
      }
      void client.end().catch(() => undefined);
      this.retryLater(error?.message ?? 'connection ended');
    };
    // NB: without an 'error' listener a broken idle connection would crash the process.
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === CHANGE_CHANNEL && message.payload !== this.origin) this.tell();
    });
    this.connecting = true;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      pid = rows[0]?.pid;
    } catch (error) {
      onLost(error as Error);
      return;
    } finally {
      this.connecting = false;
    }
    if (this.stopped || lost) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backendPid = pid;
    this.failures = 0;
    this.tell();
  }

  private retryLater(reason: string): void {
    if (this.stopped || this.retryTimer) return;
    const waitMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures++);
    this.onProblem(
      `the change feed lost its database connection (${reason}); listening again in ${waitMs} ms`,
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) void this.listen();
    }, waitMs);
    this.retryTimer.unref();
  }

  private tell(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the others are still told.
      }
    }
  }
}
