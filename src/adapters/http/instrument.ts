import { DomainError } from '../../domain/errors';
import { formatDuration } from '../../domain/duration';
import type { AccessRequest, Person, RequestEvent, Status } from '../../domain/request';
import type { Directory, MemberChange } from '../../ports/directory';
import type { Logger } from '../../ports/logger';
import type { Notifier } from '../../ports/notifier';
import type { Commit, Store } from '../../ports/store';

/** The outcome label of a call: `ok`, the DomainError code (a fixed set), or `error`. */
export function outcomeOf(error?: unknown): string {
  if (error === undefined) return 'ok';
  return error instanceof DomainError ? error.code : 'error';
}

/** What the instruments report to (the metrics; a test's recorder). */
export interface Observer {
  /** A Graph call through the Directory port ended (`operation` is the port's method). */
  directoryCall(operation: string, outcome: string, seconds: number): void;
  /** A Bot Connector call through the Notifier port ended. */
  connectorCall(operation: string, outcome: string, seconds: number): void;
  /** A request was first decided (approved, denied, auto-approved, break-glass), `seconds` after it was made. */
  decision(outcome: string, seconds: number): void;
  /** A membership was taken away, `seconds` after the grant ended. */
  removalLag(seconds: number): void;
}

type Methods<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T];

/**
 * `target` with some methods replaced. NB: a Proxy whose other methods run with `this` the
 * target itself, so a class's own fields (and #private ones) keep working.
 */
function withMethods<T extends object>(target: T, replaced: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.prototype.hasOwnProperty.call(replaced, property)) return replaced[property as keyof T];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

function timed<T extends object>(
  target: T,
  methods: Array<Methods<T>>,
  report: (operation: string, outcome: string, seconds: number) => void,
): T {
  const replaced: Partial<Record<keyof T, unknown>> = {};
  for (const name of methods) {
    const original = target[name] as unknown as (...args: unknown[]) => Promise<unknown>;
    replaced[name] = async (...args: unknown[]) => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await original.apply(target, args);
        report(String(name), 'ok', seconds());
        return result;
      } catch (error) {
        report(String(name), outcomeOf(error), seconds());
        throw error;
      }
    };
  }
  return withMethods(target, replaced);
}

/** Counts and times every Graph call the bot makes through the Directory port, by outcome. */
export function instrumentDirectory(directory: Directory, observer: Observer): Directory {
  const instrumented = timed(
    directory,
    [
      'findUser',
      'findServicePrincipal',
      'revokeSignInSessions',
      'automaticReplies',
      'isMember',
      'memberGroups',
      'addMember',
      'removeMember',
      'listMembers',
      'assignTimeBound',
      'extendTimeBound',
      'removeTimeBound',
    ],
    (op, outcome, s) => observer.directoryCall(op, outcome, s),
  );
  const batch = directory.changeMembers?.bind(directory);
  if (!batch) return instrumented;
  // NB: a $batch is counted per change, under the single call's name, so the figures and the
  // alerts read the same whether the worker batched or not; each change takes the batch's time.
  return withMethods(instrumented, {
    changeMembers: async (changes: MemberChange[]) => {
      const started = process.hrtime.bigint();
      const results = await batch(changes);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      results.forEach((result, i) =>
        observer.directoryCall(
          changes[i]!.op === 'add' ? 'addMember' : 'removeMember',
          result.ok ? 'ok' : outcomeOf(result.error),
          seconds,
        ),
      );
      return results;
    },
  });
}

/** Counts and times every proactive Bot Connector call (posts, updates, replies, personal notices), by outcome. */
export function instrumentNotifier(notifier: Notifier, observer: Observer): Notifier {
  return timed(notifier, ['postToChannel', 'updateCard', 'replyInThread', 'sendToPerson'], (op, outcome, s) =>
    observer.connectorCall(op, outcome, s),
  );
}

const DECISIONS = new Set<RequestEvent['type']>(['approved', 'denied', 'auto_approved', 'break_glass']);

/** When the grant ended: its expiry, or earlier when it was released or revoked. */
function endOf(request: AccessRequest): number | undefined {
  const ends = [request.expiresAt, request.resolution?.at].filter((t): t is number => t !== undefined);
  return ends.length ? Math.min(...ends) : undefined;
}

/** Where a status-changing event always starts and ends (the domain's transition table). */
const MOVES: Partial<Record<RequestEvent['type'], { from: Status; to: string }>> = {
  approved: { from: 'pending', to: 'approved' },
  denied: { from: 'pending', to: 'denied' },
  cancelled: { from: 'pending', to: 'cancelled' },
  timed_out: { from: 'pending', to: 'timed out' },
  failed: { from: 'approved', to: 'failed' },
  expired: { from: 'active', to: 'expired' },
};

/** A display name comes from Teams: no control characters, so it cannot forge a log line. */
function nameOf(person: Person | undefined): string {
  const name = (person?.name ?? '').replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  return name === '' ? (person?.id ?? 'someone') : name.slice(0, 80);
}

const clock = (at: number | undefined): string =>
  at === undefined ? '?' : `${new Date(at).toISOString().slice(11, 16)} UTC`;

/**
 * One short line a person reads in the dev terminal ("R-4F2K pending → approved by Megan
 * Bowen"). Never a justification or a reason: those are the requester's and approvers' words.
 */
export function describeTransition(stored: AccessRequest, event: RequestEvent): string {
  const id = stored.id;
  const by = event.actor ? ` by ${nameOf(event.actor)}` : '';
  const move = MOVES[event.type];
  if (move) {
    const code =
      // A failure's code is a fixed identifier; anything else in its place is not printed.
      event.type === 'failed' && /^[A-Za-z_]{1,40}$/.test(String(event.detail?.code))
        ? ` (${String(event.detail?.code)})`
        : '';
    return `${id} ${move.from} → ${move.to}${by}${code}`;
  }
  const group = stored.group.alias;
  const requester = nameOf(stored.requester);
  switch (event.type) {
    case 'submitted':
      return `${id} pending: ${requester} asks for ${group} for ${formatDuration(stored.durationMs)}`;
    case 'voted':
      return `${id} pending: approved${by} (${String(event.detail?.approvals)} of ${String(event.detail?.required)})`;
    case 'auto_approved':
      return `${id} pending → approved automatically (policy of ${group})`;
    case 'break_glass':
      return `${id} pending → approved by break-glass of ${requester}`;
    case 'granted':
      return `${id} active: added ${requester} to ${group} until ${clock(stored.expiresAt)}`;
    case 'member_removed':
      return `${id} ${stored.status}: removed ${requester} from ${group}`;
    case 'released':
    case 'revoked':
      // Only a grant in place has a grantedAt: before it, the request was merely approved.
      return `${id} ${stored.grantedAt === undefined ? 'approved' : 'active'} → ${event.type}${by}`;
    case 'extended':
      return `${id} active: extended${by} until ${clock(stored.expiresAt)}`;
    default:
      return `${id} ${stored.status}: ${event.type.replace(/_/g, ' ')}${by}`;
  }
}

/**
 * The store, observed: every committed transition is logged at info, one line each, its message
 * a short human line (describeTransition) and its fields the request id, group, actor id, event
 * (never a justification, a token or a secret); it also feeds the decision and removal
 * histograms. Observing after the commit means only what was really written counts.
 */
export function observeStore(store: Store, observer: Observer, logger: Logger): Store {
  const commit = async (change: Commit) => {
    const stored = await store.commit(change);
    for (const event of change.events) {
      logger.info(
        {
          requestId: stored.id,
          event: event.type,
          status: stored.status,
          group: stored.group.alias,
          groupId: stored.group.id,
          actor: event.actor?.id,
          requester: stored.requester.id,
        },
        describeTransition(stored, event),
      );
      if (DECISIONS.has(event.type))
        observer.decision(event.type, Math.max(0, event.at - stored.createdAt) / 1000);
      if (event.type === 'member_removed') {
        const end = endOf(stored);
        if (end !== undefined)
          observer.removalLag(Math.max(0, (stored.membershipRemovedAt ?? event.at) - end) / 1000);
      }
    }
    return stored;
  };
  return withMethods(store, { commit });
}
