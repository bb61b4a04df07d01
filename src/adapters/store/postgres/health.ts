import type { Pool } from 'pg';

/** How long `SELECT 1` may take, and how long its answer is reused (every replica's probes come often). */
const HEALTH_TIMEOUT_MS = 2_000;
const HEALTH_CACHE_MS = 1_000;

export interface Health {
  ok: boolean;
  detail?: string;
}

/**
 * The readiness check of a PostgresStore: `SELECT 1` within 2 s, its answer reused for 1 s, so
 * that probes cost the database next to nothing and a hung connection never hangs /readyz.
 */
export class HealthCheck {
  private last?: { at: number; result: Promise<Health> };

  constructor(private readonly pool: Pool) {}

  check(): Promise<Health> {
    const now = Date.now();
    if (this.last && now - this.last.at < HEALTH_CACHE_MS) return this.last.result;
    const result = this.probe();
    this.last = { at: now, result };
    return result;
  }

  private async probe(): Promise<Health> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)),
        HEALTH_TIMEOUT_MS,
      );
      timer.unref();
    });
    try {
      await Promise.race([this.pool.query('SELECT 1'), late]);
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
