/**
 * Error answers Microsoft Graph really sends, as recorded in Microsoft's documentation, its
 * support blog and issue threads (request ids and dates as published). The adapter's mapping
 * is tested against these, not against bodies we made up.
 */
const inner = (date: string, requestId: string) => ({
  date,
  'request-id': requestId,
  'client-request-id': requestId,
});

/** 403 on POST /groups/{id}/members/$ref without GroupMember.ReadWrite.All (or on a role-assignable or dynamic group).
 * Microsoft Entra developer support blog, "Authorization_RequestDenied error when using Microsoft Graph API to add
 * users to a group" (2024-05); same body in microsoftgraph/microsoft-graph-docs#14730. */
export const insufficientPrivileges = {
  status: 403,
  body: {
    error: {
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
      innerError: inner('2024-05-07T15:39:39', 'aa324f0f-b4a3-4af6-9c4f-996e1959074e'),
    },
  },
};

/** 404 for an object that does not exist (GET /users/{id}, POST .../members/$ref naming an unknown group or member). */
export const resourceNotFound = (id: string) => ({
  status: 404,
  body: {
    error: {
      code: 'Request_ResourceNotFound',
      message: `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
      innerError: inner('2023-03-14T10:02:11', '5f0c1f4e-8d3b-4f0a-9a51-0c2f6a0c7f11'),
    },
  },
});

/** 400 on POST .../members/$ref when the object already is a member (Graph docs, "Add members": 400 when already a member). */
export const alreadyMember = {
  status: 400,
  body: {
    error: {
      code: 'Request_BadRequest',
      message:
        "One or more added object references already exist for the following modified properties: 'members'.",
      innerError: inner('2023-06-01T08:12:45', '0e5a37a2-6c55-4a8e-9a44-1d3c8c9b7f20'),
    },
  },
};

/** 404 on DELETE .../members/{id}/$ref when the object is not a member. */
export const notMember = {
  status: 404,
  body: {
    error: {
      code: 'Request_ResourceNotFound',
      message:
        "One or more removed object references do not exist for the following modified properties: 'members'.",
      innerError: inner('2023-06-01T08:13:02', '7d1b0b8a-2f1e-4a53-8c6e-43e1d0f3a9b2'),
    },
  },
};

/** 400 when the group is mastered in on-premises AD (Request_BadRequest on any write to a synced object). */
export const onPremisesMastered = {
  status: 400,
  body: {
    error: {
      code: 'Request_BadRequest',
      message:
        'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
      innerError: inner('2023-02-17T01:22:59', '22e0aabc-9acb-4673-9c8d-2433d54bd1ed'),
    },
  },
};

/** 429 from Graph with Retry-After (Microsoft Q&A "Receiving tooManyRequest ...", 2022-12-22, headers as recorded). */
export const tooManyRequests = {
  status: 429,
  headers: { 'Retry-After': '5' },
  body: {
    error: {
      code: 'TooManyRequests',
      message:
        'Too many requests from Identifier:West Europe under category:throttle.aad.ags.subscriptionservice.dc.list. Please try again later.',
      innerError: inner('2022-12-22T08:00:18', 'a15c7ea4-d7e4-4d57-9cf0-d5b8fd22aad0'),
    },
  },
};

/** 429 whose body says nothing useful: status decides (Microsoft archive blog, Graph/Outlook throttling, 2018). */
export const throttledUnknownError = {
  status: 429,
  body: {
    error: {
      code: 'UnknownError',
      message: '',
      innerError: { 'request-id': 'b1a2c3d4-esse0-4480-90d4-0a1b2c3d4e5f', date: '2018-05-05T09:12:35' },
    },
  },
};

/** 503 (Graph docs, "Microsoft Graph error responses": serviceNotAvailable, may carry Retry-After). */
export const serviceNotAvailable = {
  status: 503,
  headers: { 'Retry-After': '1' },
  body: {
    error: {
      code: 'serviceNotAvailable',
      message: 'The service is not available. Try the request again after a delay.',
      innerError: inner('2023-09-09T10:00:00', 'c4d3e2f1-0a9b-4c8d-8e7f-6a5b4c3d2e1f'),
    },
  },
};

/** 401 when the token has expired (Graph docs, error codes: InvalidAuthenticationToken). */
export const expiredToken = {
  status: 401,
  body: {
    error: {
      code: 'InvalidAuthenticationToken',
      message: 'Access token has expired or is not yet valid.',
      innerError: inner('2023-04-04T12:00:00', '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'),
    },
  },
};

/** 403 from PIM for Groups without the permission: a different body shape, {"errorCode","message","instanceAnnotations"}
 * (hashicorp/terraform-provider-azuread#1386; microsoftgraph/microsoft-graph-explorer-v4#2176). */
export const pimPermissionScopeNotGranted = {
  status: 403,
  body: {
    errorCode: 'PermissionScopeNotGranted',
    message:
      'Authorization failed due to missing permission scope PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup,PrivilegedAccess.ReadWrite.AzureADGroup.',
    instanceAnnotations: [],
  },
};

/** 400 when the assignment already exists (Microsoft365DSC/Microsoft365DSC#5532: "[RoleAssignmentExists] : The Role assignment already exists."). */
export const roleAssignmentExists = {
  status: 400,
  body: {
    error: {
      code: 'RoleAssignmentExists',
      message: 'The Role assignment already exists.',
      innerError: inner('2024-11-05T09:30:00', 'e1d2c3b4-a596-4877-8a69-5b4c3d2e1f00'),
    },
  },
};

/** adminRemove/adminExtend when there is no assignment (the code reported in Microsoft365DSC/Microsoft365DSC#6416). */
export const roleAssignmentDoesNotExist = {
  status: 400,
  body: {
    error: {
      code: 'RoleAssignmentDoesNotExist',
      message: 'The Role assignment does not exist.',
      innerError: inner('2025-06-02T14:00:00', 'f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f'),
    },
  },
};

/** GET /groups/{id} of a dynamic group, a role-assignable group and a plain security group (selected properties). */
export const group = (id: string, kind: 'dynamic' | 'roleAssignable' | 'assigned' | 'onPremises') => ({
  status: 200,
  body: {
    '@odata.context':
      'https://graph.microsoft.com/v1.0/$metadata#groups(id,groupTypes,isAssignableToRole,onPremisesSyncEnabled)/$entity',
    id,
    groupTypes: kind === 'dynamic' ? ['DynamicMembership'] : [],
    isAssignableToRole: kind === 'roleAssignable',
    onPremisesSyncEnabled: kind === 'onPremises' ? true : null,
  },
});
