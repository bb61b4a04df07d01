import { randomUUID } from 'node:crypto';
import { GraphFailure, badRequest } from './graph-error';
import { parseIsoDuration } from './iso-duration';
import type {
  DirectoryModel,
  DirectoryObject,
  LocalAutomaticReplies,
  LocalGroup,
  LocalServicePrincipal,
  LocalUser,
  ObjectKind,
} from './model';

/** One Graph call as the router sees it: path relative to the /v1.0 base, segments decoded. */
export interface GraphCall {
  method: string;
  segments: string[];
  query: Record<string, string>;
  body: unknown;
  /** The base URL incl. /v1.0, for @odata.context and @odata.nextLink. */
  baseUrl: string;
  /** Entra refuses PIM assignments shorter than 5 minutes; 0 lets tests use seconds. */
  pimMinimumDurationMs?: number;
}

export interface GraphAnswer {
  status: number;
  body?: unknown;
}

const PIM_REQUESTS = ['identityGovernance', 'privilegedAccess', 'group', 'assignmentScheduleRequests'];
const PIM_SCHEDULES = ['identityGovernance', 'privilegedAccess', 'group', 'assignmentSchedules'];
const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;

function userView(user: LocalUser): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.user',
    id: user.id,
    displayName: user.displayName,
    userPrincipalName: user.userPrincipalName,
    mail: user.userPrincipalName,
    accountEnabled: true,
    ...(user.signInSessionsValidFromDateTime
      ? { signInSessionsValidFromDateTime: user.signInSessionsValidFromDateTime }
      : {}),
  };
}

/** A wall-clock time as Graph writes one: seven fraction digits, no offset. */
function wallTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}.0000000`;
}

/**
 * An `automaticRepliesSetting` as Graph answers it: every property present, the schedule too
 * when replies are off (Graph keeps the last one; here the next hour for a day, in UTC).
 */
function repliesView(setting: LocalAutomaticReplies, now: Date): Record<string, unknown> {
  const hour = new Date(Math.ceil(now.getTime() / 3_600_000) * 3_600_000);
  return {
    status: setting.status,
    externalAudience: setting.externalAudience ?? 'all',
    scheduledStartDateTime: setting.scheduledStartDateTime ?? { dateTime: wallTime(hour), timeZone: 'UTC' },
    scheduledEndDateTime: setting.scheduledEndDateTime ?? {
      dateTime: wallTime(new Date(hour.getTime() + 86_400_000)),
      timeZone: 'UTC',
    },
    internalReplyMessage: setting.internalReplyMessage ?? '',
    externalReplyMessage: setting.externalReplyMessage ?? '',
  };
}

/** The mailbox settings the local directory keeps (Graph has more: they are accepted and not kept). */
const MAILBOX_SETTINGS = [
  'automaticRepliesSetting',
  'archiveFolder',
  'timeZone',
  'language',
  'workingHours',
  'dateFormat',
  'timeFormat',
  'delegateMeetingMessageDeliveryOptions',
];

/** `PATCH /users/{id}/mailboxSettings`: only automatic replies change here. */
function patchMailboxSettings(model: DirectoryModel, call: GraphCall, id: string, now: Date): GraphAnswer {
  const body = call.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('The request body must be a mailboxSettings object.');
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((k) => !MAILBOX_SETTINGS.includes(k) && !k.startsWith('@odata.'));
  if (unknown)
    throw badRequest(`The property '${unknown}' does not exist on type 'microsoft.graph.mailboxSettings'.`);
  const user = model.requireUser(id);
  const setting =
    fields.automaticRepliesSetting === undefined
      ? model.automaticReplies(user.id)
      : model.updateAutomaticReplies(user.id, fields.automaticRepliesSetting);
  return {
    status: 200,
    body: {
      '@odata.context': `${call.baseUrl}/$metadata#users('${user.id}')/mailboxSettings`,
      automaticRepliesSetting: repliesView(setting, now),
    },
  };
}

function servicePrincipalView(sp: LocalServicePrincipal): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.servicePrincipal',
    id: sp.id,
    appId: sp.appId,
    displayName: sp.displayName,
    servicePrincipalType: 'Application',
    accountEnabled: true,
  };
}

function objectView(object: DirectoryObject): Record<string, unknown> {
  if (object.kind === 'user') return userView(object);
  if (object.kind === 'servicePrincipal') return servicePrincipalView(object);
  return groupView(object);
}

/** `servicePrincipals(appId='…')`: Graph's alternate key for a service principal, as one segment. */
const BY_APP_ID = /^servicePrincipals\(appId='((?:[^']|'')*)'\)$/i;

function groupView(group: LocalGroup): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.group',
    id: group.id,
    displayName: group.displayName,
    groupTypes: group.dynamic ? ['DynamicMembership'] : [],
    membershipRule: group.dynamic ? '(user.accountEnabled -eq true)' : null,
    membershipRuleProcessingState: group.dynamic ? 'On' : null,
    securityEnabled: true,
    mailEnabled: false,
    isAssignableToRole: group.isAssignableToRole === true,
  };
}

/** Applies `$select` the way Graph does: the named properties (and OData annotations) only. */
function select(entity: Record<string, unknown>, query: Record<string, string>): Record<string, unknown> {
  const wanted = query.$select
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!wanted || wanted.length === 0) return entity;
  return Object.fromEntries(
    Object.entries(entity).filter(([k]) => k.startsWith('@odata.') || wanted.includes(k)),
  );
}

/** A collection page with `$top` and Graph-style `@odata.nextLink` / `$skiptoken` paging. */
function page(items: Record<string, unknown>[], call: GraphCall, context: string): GraphAnswer {
  const top = call.query.$top === undefined ? DEFAULT_PAGE : Number(call.query.$top);
  if (!Number.isInteger(top) || top < 1 || top > MAX_PAGE) {
    throw badRequest(
      `Invalid page size specified: '${call.query.$top}'. Must be between 1 and ${MAX_PAGE} inclusive.`,
    );
  }
  const token = call.query.$skiptoken;
  const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('Invalid $skiptoken.');
  const body: Record<string, unknown> = {
    '@odata.context': `${call.baseUrl}/$metadata#${context}`,
    value: items.slice(offset, offset + top).map((item) => select(item, call.query)),
  };
  if (offset + top < items.length) {
    const next = new URLSearchParams({
      ...call.query,
      $skiptoken: Buffer.from(String(offset + top)).toString('base64url'),
    });
    body['@odata.nextLink'] =
      `${call.baseUrl}/${call.segments.map(encodeURIComponent).join('/')}?${next.toString()}`;
  }
  return { status: 200, body };
}

function matches(segments: string[], pattern: (string | null)[]): boolean {
  return (
    segments.length === pattern.length &&
    pattern.every((p, i) => p === null || p.toLowerCase() === segments[i].toLowerCase())
  );
}

/** The object id at the end of an `@odata.id` reference (".../directoryObjects/{id}", ".../users/{id}"). */
function referencedId(body: unknown): string {
  const ref = (body as Record<string, unknown> | null)?.['@odata.id'];
  if (typeof ref !== 'string') {
    throw badRequest(
      "The request body must be a JSON object with an '@odata.id' reference to a directory object.",
    );
  }
  const match =
    /\/(directoryObjects|users|groups|servicePrincipals)\/([^/?#]+)$/i.exec(ref) ??
    /\/(directoryObjects|users|groups|servicePrincipals)\('([^']+)'\)$/i.exec(ref);
  if (!match) throw badRequest(`Invalid object identifier '${ref}'.`);
  return decodeURIComponent(match[2]);
}

function pimRequest(model: DirectoryModel, call: GraphCall, now: Date): GraphAnswer {
  const body = (call.body ?? {}) as Record<string, unknown>;
  const { action, accessId, principalId, groupId, justification } = body;
  if (typeof principalId !== 'string' || typeof groupId !== 'string')
    throw badRequest('principalId and groupId are required.');
  if (accessId !== 'member') {
    throw badRequest(
      `accessId '${String(accessId)}' is not supported by the local directory (only 'member').`,
    );
  }
  const scheduleInfo = (body.scheduleInfo ?? {}) as Record<string, unknown>;
  const end = (start: Date): Date => {
    const expiration = (scheduleInfo.expiration ?? {}) as Record<string, unknown>;
    if (expiration.type === 'afterDuration' && typeof expiration.duration === 'string') {
      const ms = parseIsoDuration(expiration.duration);
      if (ms === undefined || ms <= 0) throw badRequest(`Invalid duration '${expiration.duration}'.`);
      return new Date(start.getTime() + ms);
    }
    if (expiration.type === 'afterDateTime' && typeof expiration.endDateTime === 'string') {
      const at = new Date(expiration.endDateTime);
      if (Number.isNaN(at.getTime())) throw badRequest(`Invalid endDateTime '${expiration.endDateTime}'.`);
      return at;
    }
    // Timebox never asks for a permanent assignment; the default PIM policy for groups refuses it too.
    throw new GraphFailure(
      400,
      'RoleAssignmentRequestPolicyValidationFailed',
      'The following policy rules failed: ["ExpirationRule"]',
    );
  };
  const startText = scheduleInfo.startDateTime;
  const start = typeof startText === 'string' ? new Date(startText) : now;
  if (Number.isNaN(start.getTime())) throw badRequest(`Invalid startDateTime '${String(startText)}'.`);
  const note = typeof justification === 'string' ? justification : undefined;
  const endChecked = (from: Date): Date => {
    const at = end(from);
    if (at.getTime() - from.getTime() < (call.pimMinimumDurationMs ?? 0)) {
      throw new GraphFailure(
        400,
        'RoleAssignmentRequestPolicyValidationFailed',
        'The following policy rules failed: ["ExpirationRule"]',
      );
    }
    return at;
  };

  let assignmentId: string;
  let status = 'Provisioned';
  switch (action) {
    case 'adminAssign':
      // A future start is provisioned at once: Timebox always starts assignments now.
      assignmentId = model.pimAssign(groupId, principalId, start, endChecked(start), note).id;
      break;
    case 'adminExtend':
    case 'adminRenew':
    case 'adminUpdate':
      assignmentId = model.pimExtend(groupId, principalId, endChecked(start)).id;
      break;
    case 'adminRemove':
      assignmentId = model.pimRemove(groupId, principalId).id;
      status = 'Revoked';
      break;
    default:
      throw badRequest(`Action '${String(action)}' is not supported by the local directory.`);
  }
  return {
    status: 201,
    body: {
      '@odata.context': `${call.baseUrl}/$metadata#identityGovernance/privilegedAccess/group/assignmentScheduleRequests/$entity`,
      id: randomUUID(),
      status,
      action,
      accessId,
      principalId,
      groupId,
      targetScheduleId: assignmentId,
      justification: note ?? null,
      createdDateTime: now.toISOString(),
      completedDateTime: now.toISOString(),
      scheduleInfo,
    },
  };
}

/** The PIM schedules list, filtered by Graph's required `groupId eq '..'` / `principalId eq '..'`. */
function pimSchedules(model: DirectoryModel, call: GraphCall): GraphAnswer {
  const filter = call.query.$filter ?? '';
  const want = (name: string) => new RegExp(`${name}\\s+eq\\s+'([^']+)'`, 'i').exec(filter)?.[1];
  const groupId = want('groupId');
  const principalId = want('principalId');
  if (!groupId && !principalId) {
    throw badRequest('The $filter must contain groupId or principalId.');
  }
  const items = model
    .pimAssignments()
    .filter((a) => (!groupId || a.groupId === groupId) && (!principalId || a.principalId === principalId))
    .map((a) => ({
      id: a.id,
      groupId: a.groupId,
      principalId: a.principalId,
      accessId: a.accessId,
      memberType: 'direct',
      status: 'Provisioned',
      scheduleInfo: {
        startDateTime: a.startDateTime,
        expiration: { type: 'afterDateTime', endDateTime: a.endDateTime },
      },
    }));
  return page(items, call, 'identityGovernance/privilegedAccess/group/assignmentSchedules');
}

/** `POST /{kind}s/{id}/checkMemberGroups`: the object must be of the route's kind (any, for directoryObjects). */
function checkMemberGroups(
  model: DirectoryModel,
  call: GraphCall,
  id: string,
  kind: ObjectKind,
): GraphAnswer {
  const groupIds = (call.body as Record<string, unknown> | null)?.groupIds;
  if (!Array.isArray(groupIds) || !groupIds.every((g) => typeof g === 'string')) {
    throw badRequest("The request body must contain 'groupIds', an array of strings.");
  }
  return {
    status: 200,
    body: {
      '@odata.context': `${call.baseUrl}/$metadata#Collection(Edm.String)`,
      value: model.checkMemberGroups(id, groupIds as string[], kind),
    },
  };
}

/** Answers one Graph call against the model, or throws a GraphFailure in Graph's terms. */
export function routeGraphCall(model: DirectoryModel, call: GraphCall, now: Date): GraphAnswer {
  const { method, segments: s } = call;
  const is = (m: string, pattern: (string | null)[]) => method === m && matches(s, pattern);

  if (is('GET', ['organization'])) {
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#organization`,
        value: [{ id: '00000000-0000-4000-8000-00000000d1d1', displayName: 'Timebox local directory' }],
      },
    };
  }
  if (is('GET', ['users'])) return page(model.users().map(userView), call, 'users');
  if (is('GET', ['users', null])) {
    const user = model.requireUser(s[1]);
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#users/$entity`,
        ...select(userView(user), call.query),
      },
    };
  }
  if (is('POST', ['users', null, 'revokeSignInSessions'])) {
    model.revokeSignInSessions(s[1]!, now);
    // NB: documented as 204 No Content; Graph answers this (a known issue), and so do we.
    return {
      status: 200,
      body: { '@odata.context': `${call.baseUrl}/$metadata#Edm.Boolean`, value: true },
    };
  }
  if (is('GET', ['users', null, 'mailboxSettings', 'automaticRepliesSetting'])) {
    const user = model.requireUser(s[1]!);
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#users('${user.id}')/mailboxSettings/automaticRepliesSetting`,
        ...repliesView(model.automaticReplies(user.id), now),
      },
    };
  }
  if (is('GET', ['users', null, 'mailboxSettings'])) {
    const user = model.requireUser(s[1]!);
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#users('${user.id}')/mailboxSettings`,
        automaticRepliesSetting: repliesView(model.automaticReplies(user.id), now),
        timeZone: 'UTC',
        language: { locale: 'en-US', displayName: 'English (United States)' },
      },
    };
  }
  if (is('PATCH', ['users', null, 'mailboxSettings'])) return patchMailboxSettings(model, call, s[1]!, now);
  const checkKind: Record<string, ObjectKind> = {
    users: 'user',
    serviceprincipals: 'servicePrincipal',
    groups: 'group',
    directoryobjects: 'directoryObject',
  };
  if (method === 'POST' && s.length === 3 && s[2]!.toLowerCase() === 'checkmembergroups') {
    const kind = checkKind[s[0]!.toLowerCase()];
    if (kind) return checkMemberGroups(model, call, s[1]!, kind);
  }
  if (is('GET', ['servicePrincipals'])) {
    return page(model.servicePrincipals().map(servicePrincipalView), call, 'servicePrincipals');
  }
  const byAppId = s.length === 1 ? BY_APP_ID.exec(s[0]!) : null;
  if (is('GET', ['servicePrincipals', null]) || (method === 'GET' && byAppId)) {
    const sp = byAppId
      ? model.requireServicePrincipal(byAppId[1]!.replace(/''/g, "'"), 'appId')
      : model.requireServicePrincipal(s[1]!);
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#servicePrincipals/$entity`,
        ...select(servicePrincipalView(sp), call.query),
      },
    };
  }
  if (is('GET', ['directoryObjects', null])) {
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#directoryObjects/$entity`,
        ...select(objectView(model.requireObject(s[1]!, 'directoryObject')), call.query),
      },
    };
  }
  if (is('GET', ['groups'])) return page(model.groups().map(groupView), call, 'groups');
  if (is('GET', ['groups', null])) {
    const group = model.requireGroup(s[1]);
    return {
      status: 200,
      body: {
        '@odata.context': `${call.baseUrl}/$metadata#groups/$entity`,
        ...select(groupView(group), call.query),
      },
    };
  }
  if (is('GET', ['groups', null, 'members'])) {
    const group = model.requireGroup(s[1]);
    // Every kind of member, as Graph lists directoryObjects: users, service principals, groups.
    const members = group.members.flatMap((id) => {
      const object = model.findObject(id);
      return object ? [objectView(object)] : [];
    });
    return page(members, call, 'directoryObjects');
  }
  if (is('POST', ['groups', null, 'members', '$ref'])) {
    model.addMember(s[1], referencedId(call.body));
    return { status: 204 };
  }
  if (is('DELETE', ['groups', null, 'members', null, '$ref'])) {
    model.removeMember(s[1], s[3]);
    return { status: 204 };
  }
  if (method === 'DELETE') {
    // In Graph, DELETE without /$ref deletes the object itself (a user, when the app may do so).
    // The local directory never deletes anything; the call is recorded so tests can prove it never happens.
    throw new GraphFailure(
      405,
      'Request_MethodNotAllowed',
      `The local directory refuses DELETE /${s.join('/')}: in Microsoft Graph this deletes the object itself. Remove a member with DELETE /groups/{id}/members/{id}/$ref.`,
    );
  }
  if (is('POST', PIM_REQUESTS)) return pimRequest(model, call, now);
  if (is('GET', PIM_SCHEDULES)) return pimSchedules(model, call);
  const known = [
    'users',
    'groups',
    'servicePrincipals',
    'directoryObjects',
    'organization',
    'identityGovernance',
  ];
  if (s.length > 0 && !known.some((k) => k.toLowerCase() === s[0].toLowerCase()) && !BY_APP_ID.test(s[0])) {
    throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${s[0]}'.`);
  }
  throw new GraphFailure(
    405,
    'Request_BadRequest',
    `${method} /${s.join('/')} is not supported by the local directory.`,
  );
}
