import { formatDuration } from '../domain/duration';
import {
  Status,
  wasApproved,
  type AccessRequest,
  type Person,
  type WorkflowContext,
} from '../domain/request';

/** Someone as the API and webhooks show them: object id and name, never more than the card shows. */
export interface PersonJson {
  id: string;
  name: string;
}

/**
 * A request as the workflow API answers it and webhooks carry it (PRODUCT.md §11): the
 * lifecycle's status names, times as ISO 8601. `approvalToken` is added by the API route, not
 * here: a webhook never carries one.
 */
export interface RequestJson {
  id: string;
  status: Status;
  target: string;
  kind: 'group' | 'action';
  requester: PersonJson & { upn?: string; kind: 'person' | 'service_principal' };
  /** Filed by an API client for a person (the requester), not for the client's own identity. */
  onBehalfOf?: boolean;
  /** The API client that filed it; absent = asked in Teams. */
  caller?: { appId: string; name: string };
  /** "30m", "1h30m": the length asked for (an action: how long the approval may be used). */
  duration: string;
  durationMs: number;
  justification: string;
  ticket?: string;
  context?: WorkflowContext;
  approvals: { needed: number; by: Array<PersonJson & { at: string }> };
  /** Who decided: the approvers whose votes approved it, or the one who denied it; [] for a rule. */
  decidedBy?: PersonJson[];
  decidedAt?: string;
  /** When the grant (group) or the approval's validity (action) begins or began: a scheduled start, else the grant. */
  startsAt?: string;
  expiresAt?: string;
  createdAt: string;
  failure?: { code: string; message: string };
}

/** The statuses a request reaches only through an approval (by votes or by a rule). */

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const person = (p: Person): PersonJson => ({ id: p.id, name: p.name });

export function requestJson(request: AccessRequest): RequestJson {
  const approvals = request.votes.filter((v) => v.decision === 'approve');
  const decision = decisionOf(request);
  const json: RequestJson = {
    id: request.id,
    status: request.status,
    target: request.group.alias,
    kind: request.targetKind === 'action' ? 'action' : 'group',
    requester: {
      ...person(request.requester),
      ...(request.requester.upn ? { upn: request.requester.upn } : {}),
      kind: request.requester.kind === 'service_principal' ? 'service_principal' : 'person',
    },
    ...(request.client
      ? {
          onBehalfOf: request.requester.kind !== 'service_principal',
          caller: { appId: request.client.appId, name: request.client.name },
        }
      : {}),
    duration: formatDuration(request.durationMs),
    durationMs: request.durationMs,
    justification: request.justification,
    ...(request.ticket ? { ticket: request.ticket } : {}),
    ...(request.context && Object.keys(request.context).length ? { context: { ...request.context } } : {}),
    approvals: {
      needed: request.approvalsRequired,
      by: approvals.map((v) => ({ ...person(v.by), at: iso(v.at)! })),
    },
    ...(decision ? { decidedBy: decision.by, decidedAt: iso(decision.at) } : {}),
    ...((request.startsAt ?? request.grantedAt) !== undefined
      ? { startsAt: iso(request.startsAt ?? request.grantedAt) }
      : {}),
    ...(request.expiresAt !== undefined ? { expiresAt: iso(request.expiresAt) } : {}),
    createdAt: iso(request.createdAt)!,
    ...(request.failure ? { failure: { code: request.failure.code, message: request.failure.message } } : {}),
  };
  return json;
}

/**
 * Who decided and when, from the votes rather than `resolution` (a later release or revoke
 * overwrites that). A rule's approval (auto-approve, break-glass) was decided at filing, by nobody.
 */
function decisionOf(request: AccessRequest): { by: PersonJson[]; at: number } | undefined {
  if (request.status === Status.DENIED) {
    const deny = request.votes.find((v) => v.decision === 'deny');
    return deny
      ? { by: [person(deny.by)], at: deny.at }
      : { by: [], at: request.resolution?.at ?? request.updatedAt };
  }
  if (!wasApproved(request.status)) return undefined;
  const approvals = request.votes.filter((v) => v.decision === 'approve');
  if (request.kind !== 'standard' || approvals.length === 0) return { by: [], at: request.createdAt };
  return { by: approvals.map((v) => person(v.by)), at: Math.max(...approvals.map((v) => v.at)) };
}
