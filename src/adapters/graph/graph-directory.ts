import type { TokenCredential } from '@azure/identity';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { Clock } from '../../ports/clock';
import type {
  AddOutcome,
  AutomaticReplies,
  Directory,
  DirectoryServicePrincipal,
  DirectoryUser,
  MemberChange,
  MemberChangeResult,
  TimeBoundAssignment,
} from '../../ports/directory';
import type { Logger } from '../../ports/logger';
import {
  Permissions,
  commonDomainError,
  describeBatchItem,
  describeGraphError,
  dynamicGroup,
  groupNotFound,
  invalidRequest,
  namesObject,
  permissionError,
  userNotFound,
  type BatchItemAnswer,
  type GraphFailureInfo,
} from './graph-errors';
import {
  readRepliesSetting,
  repliesAt,
  type AutomaticRepliesSetting,
  type RepliesWindow,
} from './automatic-replies';
import { GraphHttp } from './graph-http';
import { toIsoDuration } from './iso-duration';
import {
  backoffDelayMs,
  defaultRetryPolicy,
  isRetryableStatus,
  type RetryEvent,
  type RetryPolicy,
} from './retry-middleware';
import { TtlCache } from './ttl-cache';

export interface GraphDirectoryOptions {
  /** GRAPH_BASE_URL: https://graph.microsoft.com/v1.0, a national cloud's, or the local directory's. */
  baseUrl: string;
  /** Omitted: no token is sent (the local directory). */
  credential?: TokenCredential;
  retry?: Partial<RetryPolicy>;
  /** Per attempt. Default 15 s. */
  timeoutMs?: number;
  /** How long a looked-up user is reused. Default 5 minutes; 0 = no cache. */
  cacheTtlMs?: number;
  /** How long a user's automatic replies setting is reused. Default 3 minutes; 0 = no cache. */
  automaticRepliesTtlMs?: number;
  clock?: Pick<Clock, 'now'>;
  scopes?: string[];
  logger?: Logger;
  /** Test seams for the retry waits. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
}

/** What a failed write needs to know about the group to say what is wrong. */
interface GroupFacts {
  dynamic: boolean;
  roleAssignable: boolean;
  onPremises: boolean;
}

const CHECK_BATCH = 20;
/** Graph's limit of requests in one JSON batch (`POST /$batch`). */
export const GRAPH_BATCH_LIMIT = 20;
const PAGE_SIZE = '999';
const enc = encodeURIComponent;
const PIM_REQUESTS = '/identityGovernance/privilegedAccess/group/assignmentScheduleRequests';
/** How long a failed read of automatic replies is answered `unknown` before Graph is asked again. */
const REPLIES_FAILURE_TTL_MS = 30_000;

/**
 * The Directory port on Microsoft Graph. Writes are idempotent ("already a member" on add and
 * "not a member" on remove are success; removal is always DELETE .../members/{id}/$ref, never
 * the call without /$ref that deletes the user); failures become DomainErrors an admin can act on.
 */
export class GraphDirectory implements Directory {
  private readonly http: GraphHttp;
  private readonly users: TtlCache<DirectoryUser>;
  private readonly servicePrincipals: TtlCache<DirectoryServicePrincipal>;
  /**
   * Object ids known to be service principals (lower-case): their membership checks skip the
   * user route. Only ids Graph itself answered for as service principals: a few clients' own.
   */
  private readonly knownServicePrincipals = new Set<string>();
  private readonly retryPolicy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  /**
   * Reads that must answer fast or not at all (automatic replies): fewer, shorter retries than
   * the membership changes get, since nothing waits on them but a mention.
   */
  private readonly quickHttp: GraphHttp;
  /** Automatic replies settings as read, by lower-case user id; failed reads for a shorter time. */
  private readonly replies: TtlCache<RepliesWindow>;
  private readonly repliesFailed: TtlCache<RepliesWindow>;
  /** The one warning about a missing MailboxSettings.Read has been logged. */
  private warnedMailboxSettings = false;
  private readonly now: () => number;

  constructor(private readonly options: GraphDirectoryOptions) {
    const logger = options.logger;
    this.retryPolicy = { ...defaultRetryPolicy, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.http = new GraphHttp({
      baseUrl: options.baseUrl,
      credential: options.credential,
      scopes: options.scopes,
      retry: options.retry,
      timeoutMs: options.timeoutMs,
      sleep: options.sleep,
      random: options.random,
      onRetry: (event) => {
        logger?.warn(
          { attempt: event.attempt, delayMs: event.delayMs, reason: event.reason },
          'retrying a Microsoft Graph call',
        );
        options.onRetry?.(event);
      },
    });
    this.quickHttp = new GraphHttp({
      baseUrl: options.baseUrl,
      credential: options.credential,
      scopes: options.scopes,
      retry: {
        ...this.retryPolicy,
        maxAttempts: Math.min(this.retryPolicy.maxAttempts, 2),
        maxDelayMs: Math.min(this.retryPolicy.maxDelayMs, 2_000),
      },
      timeoutMs: Math.min(options.timeoutMs ?? 15_000, 5_000),
      sleep: options.sleep,
      random: options.random,
      onRetry: options.onRetry,
    });
    const now = options.clock ? () => options.clock!.now() : () => Date.now();
    this.now = now;
    const repliesTtl = options.automaticRepliesTtlMs ?? 3 * 60_000;
    this.replies = new TtlCache<RepliesWindow>(repliesTtl, now);
    this.repliesFailed = new TtlCache<RepliesWindow>(Math.min(repliesTtl, REPLIES_FAILURE_TTL_MS), now);
    this.users = new TtlCache<DirectoryUser>(options.cacheTtlMs ?? 5 * 60_000, now);
    this.servicePrincipals = new TtlCache<DirectoryServicePrincipal>(options.cacheTtlMs ?? 5 * 60_000, now);
  }

  /** The base URL in use (no trailing slash). */
  get baseUrl(): string {
    return this.http.baseUrl;
  }

  async findUser(idOrUpn: string): Promise<DirectoryUser | undefined> {
    const key = idOrUpn.trim().toLowerCase();
    if (!key) return undefined;
    const cached = this.users.get(key);
    if (cached) return cached;
    let user: DirectoryUser;
    try {
      const found = await this.http.get<DirectoryUser>(`/users/${enc(idOrUpn.trim())}`, {
        $select: 'id,displayName,userPrincipalName',
      });
      user = {
        id: found.id,
        displayName: found.displayName ?? found.userPrincipalName,
        userPrincipalName: found.userPrincipalName,
      };
    } catch (error) {
      const info = describeGraphError(error);
      // 404: no such user; 400: not even a valid object id or UPN (e.g. a typo in the policy).
      if (info.status === 404 || (info.status === 400 && info.code === 'Request_BadRequest'))
        return undefined;
      throw this.readError(info, `look up user ${idOrUpn}`, Permissions.readUsers);
    }
    this.users.set(user.id.toLowerCase(), user);
    this.users.set(user.userPrincipalName.toLowerCase(), user);
    return user;
  }

  async findServicePrincipal(
    id: string,
    by: 'id' | 'appId' = 'id',
  ): Promise<DirectoryServicePrincipal | undefined> {
    const wanted = id.trim();
    if (!wanted) return undefined;
    const key = `${by}:${wanted.toLowerCase()}`;
    const cached = this.servicePrincipals.get(key);
    if (cached) return cached;
    // NB: by appId, Graph's alternate key; the quote is doubled, as OData escapes it, should one be in the id.
    const path =
      by === 'appId'
        ? `/servicePrincipals(appId='${enc(wanted.replace(/'/g, "''"))}')`
        : `/servicePrincipals/${enc(wanted)}`;
    let sp: DirectoryServicePrincipal;
    try {
      const found = await this.http.get<Partial<DirectoryServicePrincipal>>(path, {
        $select: 'id,appId,displayName',
      });
      if (typeof found.id !== 'string' || typeof found.appId !== 'string') return undefined;
      sp = { id: found.id, appId: found.appId, displayName: found.displayName ?? found.appId };
    } catch (error) {
      const info = describeGraphError(error);
      // 404: none (a user's id is none too); 400: not even a valid id.
      if (info.status === 404 || (info.status === 400 && info.code === 'Request_BadRequest'))
        return undefined;
      throw this.readError(info, `look up service principal ${wanted}`, Permissions.readApplications);
    }
    this.servicePrincipals.set(`id:${sp.id.toLowerCase()}`, sp);
    this.servicePrincipals.set(`appId:${sp.appId.toLowerCase()}`, sp);
    this.knownServicePrincipals.add(sp.id.toLowerCase());
    return sp;
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    const wanted = userId.toLowerCase();
    // A JIT group is small, so scanning its direct members is cheaper than the user's memberOf.
    const members = await this.memberObjects(groupId, (m) => m.id.toLowerCase() === wanted);
    return members.some((m) => m.id.toLowerCase() === wanted);
  }

  /**
   * `POST /users/{id}/checkMemberGroups` for a person, as always (User.Read.All and
   * GroupMember.Read.All), and `/servicePrincipals/{id}/…` for a client's service principal
   * (Application.Read.All): a user's route answers 404 for one, so a 404 there is asked again
   * as a service principal, and the id remembered as one (as `findServicePrincipal` does).
   * NB: not `/directoryObjects/{id}/…` for everyone: Microsoft documents its permissions less
   * clearly, and a person's check must keep working with the permissions it always had.
   */
  async memberGroups(userId: string, groupIds: string[]): Promise<string[]> {
    const unique = [...new Map(groupIds.map((id) => [id.toLowerCase(), id])).values()];
    const found = new Set<string>();
    for (let i = 0; i < unique.length; i += CHECK_BATCH) {
      const batch = unique.slice(i, i + CHECK_BATCH);
      for (const id of await this.checkMemberGroups(userId, batch)) found.add(id.toLowerCase());
    }
    return unique.filter((id) => found.has(id.toLowerCase()));
  }

  private async checkMemberGroups(principalId: string, groupIds: string[]): Promise<string[]> {
    const key = principalId.toLowerCase();
    const ask = async (kind: 'users' | 'servicePrincipals') =>
      (
        await this.http.post<{ value?: string[] }>(`/${kind}/${enc(principalId)}/checkMemberGroups`, {
          groupIds,
        })
      ).value ?? [];
    if (!this.knownServicePrincipals.has(key)) {
      try {
        return await ask('users');
      } catch (error) {
        const info = describeGraphError(error);
        if (info.status !== 404)
          throw this.readError(
            info,
            `check the group memberships of user ${principalId}`,
            `${Permissions.readUsers} and ${Permissions.readGroups}`,
          );
      }
    }
    try {
      const value = await ask('servicePrincipals');
      this.knownServicePrincipals.add(key);
      return value;
    } catch (error) {
      const info = describeGraphError(error);
      if (info.status === 404) throw userNotFound(info, principalId);
      throw this.readError(
        info,
        `check the group memberships of service principal ${principalId}`,
        Permissions.readApplications,
      );
    }
  }

  async addMember(groupId: string, userId: string): Promise<AddOutcome> {
    try {
      await this.http.post(`/groups/${enc(groupId)}/members/$ref`, this.reference(userId));
      return 'added';
    } catch (error) {
      const result = await this.judge({ op: 'add', groupId, userId }, describeGraphError(error));
      if (!result.ok) throw result.error;
      return result.outcome ?? 'added';
    }
  }

  async removeMember(groupId: string, userId: string): Promise<void> {
    try {
      // NB: the /$ref is what makes this "remove the membership"; without it Graph deletes the user.
      await this.http.delete(this.memberRef(groupId, userId));
    } catch (error) {
      const result = await this.judge({ op: 'remove', groupId, userId }, describeGraphError(error));
      if (!result.ok) throw result.error;
    }
  }

  /**
   * Adds and removals through Graph JSON batching: `POST /$batch`, at most 20 requests a call
   * (larger lists go as several batches at once). Each item's answer is judged exactly as the
   * single call's (`judge`): 204 done, 404 on a removal = not a member = done, 400 "already
   * exist" on an add = `already-member`, 403 a permission error of that item. Items answered
   * 429/503/504 are sent again in a new batch after their Retry-After (or our backoff), within
   * the same retry policy as single calls; past it they fail with DIRECTORY_THROTTLED /
   * UNAVAILABLE and the worker retries them later. A failure of the batch call itself (after the
   * retry middleware's own retries) fails every item with that error. One change alone goes as
   * the single call.
   */
  async changeMembers(changes: MemberChange[]): Promise<MemberChangeResult[]> {
    if (changes.length === 1) return [await this.changeOne(changes[0])];
    const chunks: Promise<MemberChangeResult[]>[] = [];
    for (let i = 0; i < changes.length; i += GRAPH_BATCH_LIMIT)
      chunks.push(this.batch(changes.slice(i, i + GRAPH_BATCH_LIMIT)));
    return (await Promise.all(chunks)).flat();
  }

  private async changeOne(change: MemberChange): Promise<MemberChangeResult> {
    try {
      if (change.op === 'add')
        return { ok: true, outcome: await this.addMember(change.groupId, change.userId) };
      await this.removeMember(change.groupId, change.userId);
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    }
  }

  private async batch(changes: MemberChange[]): Promise<MemberChangeResult[]> {
    const results: (MemberChangeResult | undefined)[] = changes.map(() => undefined);
    let pending = changes.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      let answers: BatchItemAnswer[];
      try {
        const answer = await this.http.post<{ responses?: BatchItemAnswer[] }>('/$batch', {
          requests: pending.map((i) => this.batchRequest(String(i), changes[i])),
        });
        answers = answer?.responses ?? [];
      } catch (error) {
        // The batch call itself failed (its retries spent): every item it carried failed alike.
        const info = describeGraphError(error);
        const failure = commonDomainError(info) ?? invalidRequest(info, 'send a batch of membership changes');
        for (const i of pending) results[i] = { ok: false, error: failure };
        break;
      }
      const byId = new Map(answers.map((a) => [String(a.id), a]));
      const again: number[] = [];
      let wait = 0;
      for (const i of pending) {
        const item = byId.get(String(i));
        if (!item) {
          results[i] = {
            ok: false,
            error: commonDomainError({
              status: 503,
              code: 'MissingBatchResponse',
              message: `no answer for item ${i} of a batch`,
            })!,
          };
          continue;
        }
        if (item.status >= 200 && item.status < 300) {
          results[i] = changes[i].op === 'add' ? { ok: true, outcome: 'added' } : { ok: true };
          continue;
        }
        const info = describeBatchItem(item);
        if (isRetryableStatus(item.status) && attempt < Math.max(1, this.retryPolicy.maxAttempts)) {
          const delay = info.retryAfterMs ?? backoffDelayMs(this.retryPolicy, attempt, this.options.random);
          if (delay <= this.retryPolicy.maxDelayMs) {
            again.push(i);
            wait = Math.max(wait, delay);
            continue;
          }
        }
        results[i] = await this.judge(changes[i], info);
      }
      if (again.length > 0) {
        this.options.logger?.warn(
          { attempt, delayMs: wait, items: again.length },
          'retrying throttled items of a Microsoft Graph batch',
        );
        this.options.onRetry?.({
          attempt,
          delayMs: wait,
          reason: `batch items answered ${again.length} × 429/503/504`,
        });
        await this.sleep(wait);
      }
      pending = again;
    }
    return results.map(
      (r) =>
        r ?? {
          ok: false,
          error: commonDomainError({ status: -1, code: 'Unknown', message: 'batch item not answered' })!,
        },
    );
  }

  private batchRequest(id: string, change: MemberChange): Record<string, unknown> {
    return change.op === 'add'
      ? {
          id,
          method: 'POST',
          url: `/groups/${enc(change.groupId)}/members/$ref`,
          headers: { 'Content-Type': 'application/json' },
          body: this.reference(change.userId),
        }
      : { id, method: 'DELETE', url: this.memberRef(change.groupId, change.userId) };
  }

  /** The outcome of a failed add or removal, single or in a batch: some failures mean the goal is met. */
  private async judge(change: MemberChange, info: GraphFailureInfo): Promise<MemberChangeResult> {
    const { op, groupId, userId } = change;
    if (op === 'add') {
      // A retry of an add that did land (or a standing member) answers "already exist": the goal is met.
      if (info.status === 400 && /added object references already exist/i.test(info.message))
        return { ok: true, outcome: 'already-member' };
      return {
        ok: false,
        error: await this.writeError(info, groupId, userId, `add ${userId} to group ${groupId}`),
      };
    }
    if (info.status === 404 && !namesObject(info, groupId)) return { ok: true }; // not (or no longer) a member
    return {
      ok: false,
      error: await this.writeError(info, groupId, userId, `remove ${userId} from group ${groupId}`),
    };
  }

  private reference(userId: string): { '@odata.id': string } {
    return { '@odata.id': `${this.http.baseUrl}/directoryObjects/${enc(userId)}` };
  }

  private memberRef(groupId: string, userId: string): string {
    return `/groups/${enc(groupId)}/members/${enc(userId)}/$ref`;
  }

  async listMembers(groupId: string): Promise<string[]> {
    return (await this.memberObjects(groupId)).map((m) => m.id);
  }

  async assignTimeBound(assignment: TimeBoundAssignment): Promise<void> {
    refuseServicePrincipal(assignment);
    await this.pim('adminAssign', assignment, assignment);
  }

  async extendTimeBound(assignment: TimeBoundAssignment): Promise<void> {
    refuseServicePrincipal(assignment);
    await this.pim('adminExtend', assignment, assignment);
  }

  async removeTimeBound(groupId: string, userId: string, justification: string): Promise<void> {
    await this.pim('adminRemove', { groupId, userId, justification });
  }

  /**
   * `POST /users/{id}/revokeSignInSessions` (User.RevokeSessions.All): Entra resets the user's
   * signInSessionsValidFromDateTime, so refresh tokens and browser sessions issued before stop
   * working (within a few minutes, by Microsoft's note). Documented as 204; Graph answers
   * 200 `{ value: true }` (a known issue): any 2xx is success. Retried by the middleware as
   * every write is; calling it again is harmless.
   */
  async revokeSignInSessions(userId: string): Promise<void> {
    try {
      await this.http.post(`/users/${enc(userId)}/revokeSignInSessions`, undefined);
    } catch (error) {
      const info = describeGraphError(error);
      const common = commonDomainError(info);
      if (common) throw common;
      if (info.status === 403) {
        throw permissionError(
          info,
          `Timebox may not end the sign-in sessions of user ${userId} (policy revokeSessionsOnEnd): grant its app registration (or managed identity) the Microsoft Graph application permission ${Permissions.revokeSessions}, with admin consent. The membership is removed; tokens issued before the removal stay valid until they expire.`,
          Permissions.revokeSessions,
        );
      }
      if (info.status === 404) throw userNotFound(info, userId);
      throw invalidRequest(info, `end the sign-in sessions of user ${userId}`);
    }
  }

  /**
   * `GET /users/{id}/mailboxSettings/automaticRepliesSetting` (MailboxSettings.Read), cached
   * for a few minutes. Never throws: without the permission (403, warned about once), for a
   * user without an Exchange Online mailbox (404 MailboxNotEnabledForRESTAPI and the like) or
   * when Graph fails (few, short retries) the answer is `unknown`.
   */
  async automaticReplies(userId: string): Promise<AutomaticReplies> {
    const id = userId.trim();
    if (!id) return 'unknown';
    const key = id.toLowerCase();
    const known = this.replies.get(key) ?? this.repliesFailed.get(key);
    if (known) return repliesAt(known, this.now());
    let window: RepliesWindow;
    try {
      const setting = await this.quickHttp.get<AutomaticRepliesSetting>(
        `/users/${enc(id)}/mailboxSettings/automaticRepliesSetting`,
      );
      window = readRepliesSetting(setting);
      this.replies.set(key, window);
    } catch (error) {
      window = { status: 'unknown' };
      const info = describeGraphError(error);
      const lasting = info.status === 403 || info.status === 404 || info.status === 400;
      (lasting ? this.replies : this.repliesFailed).set(key, window);
      if (info.status === 403) this.warnMailboxSettings(info);
      else
        this.options.logger?.debug(
          { userId: id, status: info.status, code: info.code },
          'automatic replies unknown: Microsoft Graph did not say',
        );
    }
    return repliesAt(window, this.now());
  }

  private warnMailboxSettings(info: GraphFailureInfo): void {
    if (this.warnedMailboxSettings) return;
    this.warnedMailboxSettings = true;
    this.options.logger?.warn(
      { status: info.status, code: info.code, permission: Permissions.mailboxSettings },
      `Microsoft Graph refused to read automatic replies (out of office): grant the application permission ${Permissions.mailboxSettings} with admin consent so that Timebox can tell who is away. Until then nobody counts as away (this is said once).`,
    );
  }

  private async memberObjects(
    groupId: string,
    stop?: (m: { id: string }) => boolean,
  ): Promise<{ id: string }[]> {
    try {
      return await this.http.collect<{ id: string }>(
        `/groups/${enc(groupId)}/members`,
        { $select: 'id', $top: PAGE_SIZE },
        stop,
      );
    } catch (error) {
      const info = describeGraphError(error);
      if (info.status === 404) throw groupNotFound(info, groupId);
      throw this.readError(info, `read the members of group ${groupId}`, Permissions.readGroups);
    }
  }

  private async pim(
    action: 'adminAssign' | 'adminExtend' | 'adminRemove',
    { groupId, userId, justification }: { groupId: string; userId: string; justification: string },
    schedule?: { start: number; durationMs: number },
  ): Promise<void> {
    const body: Record<string, unknown> = {
      accessId: 'member',
      principalId: userId,
      groupId,
      action,
      justification,
    };
    if (schedule) {
      body.scheduleInfo = {
        startDateTime: new Date(schedule.start).toISOString(),
        expiration: { type: 'afterDuration', duration: toIsoDuration(schedule.durationMs) },
      };
    }
    try {
      await this.http.post(PIM_REQUESTS, body);
    } catch (error) {
      const info = describeGraphError(error);
      // Retried assign after one that landed, or remove of one already ended: the goal is met.
      if (action === 'adminAssign' && info.code === 'RoleAssignmentExists') return;
      if (
        action === 'adminRemove' &&
        (info.code === 'RoleAssignmentDoesNotExist' || (info.status === 404 && !namesObject(info, groupId)))
      )
        return;
      throw await this.pimError(info, action, groupId, userId);
    }
  }

  private readError(info: GraphFailureInfo, what: string, permission: string): DomainError {
    const common = commonDomainError(info);
    if (common) return common;
    if (info.status === 403) {
      return permissionError(
        info,
        `Timebox may not ${what}: grant its app registration (or managed identity) the Microsoft Graph application permission ${permission}, with admin consent.`,
        permission,
      );
    }
    return invalidRequest(info, what);
  }

  private async writeError(
    info: GraphFailureInfo,
    groupId: string,
    userId: string,
    what: string,
  ): Promise<DomainError> {
    const common = commonDomainError(info);
    if (common) return common;
    if (info.status === 404) {
      return namesObject(info, userId) && !namesObject(info, groupId)
        ? userNotFound(info, userId)
        : groupNotFound(info, groupId);
    }
    const facts = info.status === 403 || info.status === 400 ? await this.groupFacts(groupId) : undefined;
    if (facts?.dynamic) return dynamicGroup(info, groupId);
    if (info.status === 403) {
      if (facts?.roleAssignable) {
        return permissionError(
          info,
          `Timebox may not ${what}: the group is role-assignable, which also needs the Microsoft Graph application permission ${Permissions.roleAssignable} (besides ${Permissions.groupMembers}), with admin consent.`,
          Permissions.roleAssignable,
        );
      }
      return permissionError(
        info,
        `Timebox may not ${what}: grant its app registration (or managed identity) the Microsoft Graph application permission ${Permissions.groupMembers}, with admin consent${facts ? '' : ` (if the group is role-assignable, ${Permissions.roleAssignable} as well)`}.`,
        Permissions.groupMembers,
      );
    }
    if (facts?.onPremises || /on-premises mastered/i.test(info.message)) {
      return invalidRequest(
        info,
        `${what} (the group is synced from on-premises Active Directory: manage it there, or use a cloud security group)`,
      );
    }
    if (/mail-enabled security group|distribution list/i.test(info.message)) {
      return invalidRequest(
        info,
        `${what} (mail-enabled security groups and distribution lists are managed in Exchange: use a security group)`,
      );
    }
    return invalidRequest(info, what);
  }

  private async pimError(
    info: GraphFailureInfo,
    action: string,
    groupId: string,
    userId: string,
  ): Promise<DomainError> {
    const common = commonDomainError(info);
    if (common) return common;
    const what = `${action} a PIM for Groups assignment of ${userId} to group ${groupId}`;
    if (info.status === 403) {
      return permissionError(
        info,
        `Timebox may not ${what}: grant the Microsoft Graph application permission ${Permissions.pim} with admin consent; PIM for Groups also needs Microsoft Entra ID P2 or ID Governance licences in the tenant.`,
        Permissions.pim,
      );
    }
    if (info.status === 404) {
      return namesObject(info, userId) && !namesObject(info, groupId)
        ? userNotFound(info, userId)
        : groupNotFound(info, groupId);
    }
    const facts = await this.groupFacts(groupId);
    if (facts?.dynamic) return dynamicGroup(info, groupId);
    if (facts?.onPremises)
      return invalidRequest(info, `${what} (PIM for Groups does not support groups synced from on-premises)`);
    if (info.code === 'RoleAssignmentDoesNotExist')
      return invalidRequest(info, `${what} (there is no active assignment to change)`);
    if (/PolicyValidationFailed/i.test(info.code)) {
      return invalidRequest(
        info,
        `${what} (the group's PIM settings refuse it: check the maximum active assignment duration and the justification/ticket rules in Entra PIM → Groups → Settings)`,
      );
    }
    return invalidRequest(info, what);
  }

  /** Reads the group's kind to explain a refused write; undefined when even that read fails. */
  private async groupFacts(groupId: string): Promise<GroupFacts | undefined> {
    try {
      const group = await this.http.get<{
        groupTypes?: string[];
        isAssignableToRole?: boolean | null;
        onPremisesSyncEnabled?: boolean | null;
      }>(`/groups/${enc(groupId)}`, { $select: 'id,groupTypes,isAssignableToRole,onPremisesSyncEnabled' });
      return {
        dynamic: (group.groupTypes ?? []).includes('DynamicMembership'),
        roleAssignable: group.isAssignableToRole === true,
        onPremises: group.onPremisesSyncEnabled === true,
      };
    } catch (error) {
      this.options.logger?.debug(
        { groupId, cause: describeGraphError(error) },
        'cannot read the group to explain a refused change',
      );
      return undefined;
    }
  }
}

/**
 * PIM for Groups is documented for users (and groups) as members, never for service
 * principals: rather than send one and get an unclear refusal (or an assignment nobody
 * promised works), say what to do instead. Nothing is sent.
 */
function refuseServicePrincipal(assignment: TimeBoundAssignment): void {
  if (assignment.principalKind !== 'service_principal') return;
  throw new DomainError(
    ErrorCodes.DIRECTORY_INVALID,
    `PIM mode cannot give group ${assignment.groupId} to service principal ${assignment.userId}: PIM for Groups assigns users, not workload identities. Let the client ask on behalf of a person (onBehalfOf), ask for an action approval instead, or run Timebox in membership mode (TIMEBOX_GRANT_MODE=membership).`,
    { groupId: assignment.groupId, principalId: assignment.userId, principalKind: 'service_principal' },
  );
}
