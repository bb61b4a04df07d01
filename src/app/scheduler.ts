import { Status, type AccessRequest } from '../domain/request';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import type { AccessService } from './access-service';

type Due = { at: number; requestId: string; action: 'expire' | 'timeOut' | 'remind' | 'warn' };

/**
 * Time-driven transitions — expiries, expiry warnings, reminders, pending timeouts — computed
 * from the store every time (never from memory alone), so a restart rebuilds them and a grant
 * that ended while we were down is handled right after start. One timer, set to the earliest.
 */
export class Scheduler {
  private cancelTimer?: () => void;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly deps: { store: Store; service: AccessService; clock: Clock; logger: Logger },
  ) {}

  /** Recomputes what is due; runs what is due now and sleeps until the next. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.running;
  }

  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Whether a pass is running or about to (for tests that wait until nothing moves). */
  get busy(): boolean {
    return this.running !== undefined || this.again;
  }

  /** Every timed action of the open requests, earliest first. */
  async plan(): Promise<Due[]> {
    const open = await this.deps.store.listOpen({ statuses: [Status.PENDING, Status.ACTIVE] });
    return open.flatMap((r) => this.dueOf(r)).sort((a, b) => a.at - b.at);
  }

  private dueOf(request: AccessRequest): Due[] {
    const rules = this.deps.service.rulesOf(request);
    const out: Due[] = [];
    if (request.status === Status.PENDING) {
      out.push({ at: request.createdAt + rules.pendingTimeoutMs, requestId: request.id, action: 'timeOut' });
      if (request.remindedAt === undefined && rules.remindAfterMs < rules.pendingTimeoutMs) {
        out.push({ at: request.createdAt + rules.remindAfterMs, requestId: request.id, action: 'remind' });
      }
    } else if (request.status === Status.ACTIVE && request.expiresAt !== undefined) {
      out.push({ at: request.expiresAt, requestId: request.id, action: 'expire' });
      const warnAt = request.expiresAt - rules.expiryWarningMs;
      if (request.warnedAt === undefined && warnAt > (request.grantedAt ?? 0)) {
        out.push({ at: warnAt, requestId: request.id, action: 'warn' });
      }
    }
    return out;
  }

  private async tick(): Promise<void> {
    this.cancelTimer?.();
    try {
      const plan = await this.plan();
      const now = this.deps.clock.now();
      // Expiries first: ending access on time matters more than any notice.
      const due = plan.filter((d) => d.at <= now).sort((a, b) => rank(a) - rank(b) || a.at - b.at);
      let acted = 0;
      let failed = 0;
      for (const item of due) {
        if (this.stopped) return;
        try {
          if (await this.deps.service[item.action](item.requestId)) acted++;
        } catch (error) {
          failed++;
          this.deps.logger.error({ err: error, requestId: item.requestId, action: item.action }, 'scheduled action failed; will retry');
        }
      }
      if (this.stopped) return;
      if (acted > 0) {
        this.again = true; // what was done may have made more due (or moved the next time)
      } else {
        const upcoming = plan.find((d) => d.at > now)?.at;
        const next = failed > 0 ? Math.min(now + 1000, upcoming ?? Infinity) : upcoming;
        if (next !== undefined) this.cancelTimer = this.deps.clock.setTimer(Math.max(0, next - this.deps.clock.now()), () => this.poke());
      }
    } catch (error) {
      this.deps.logger.error({ err: error }, 'scheduler failed; retrying in 1s');
      if (!this.stopped) this.cancelTimer = this.deps.clock.setTimer(1000, () => this.poke());
    }
  }
}

function rank(due: Due): number {
  return due.action === 'expire' ? 0 : due.action === 'timeOut' ? 1 : 2;
}
