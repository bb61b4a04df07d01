import { z } from 'zod';
import {
  approvalKeys,
  asRecord,
  checkApprovalTarget,
  durationText,
  GUID,
  principals,
  type AddProblem,
} from './policy-primitives';
import { isHttpsOrLoopback } from './urls';

/**
 * The policy keys of §11: `actions` (approval gates with no membership), `clients` (the
 * workload identities that may call the API) and `webhooks`.
 */

/** An action gate: a group's keys that make sense without a membership, plus approvalValidFor. */
export const actionSchema = z
  .object({
    displayName: z.string().min(1).max(120),
    approverChannel: z.string().min(1),
    approvers: principals,
    eligible: principals.optional(),
    autoApprove: z
      .object({
        requesterInGroups: z.array(z.string().min(1)).min(1),
        maxPerDay: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
    approvalValidFor: durationText.optional(),
    ...approvalKeys,
  })
  .strict();

export const clientSchema = z
  .object({
    appId: z.string().regex(GUID, {
      message:
        "must be the workload's Entra application (client) id, a GUID (Entra admin center → App registrations or Enterprise applications → Application ID)",
    }),
    displayName: z.string().min(1).max(120).optional(),
    /** The groups and actions this client may ask for. */
    may: z
      .array(z.string().min(1))
      .min(1, { message: 'name at least one group or action the client may request' }),
    /** Whether it may ask on behalf of a person (`onBehalfOf`); else it is the requester itself. */
    onBehalfOf: z.boolean().default(false),
  })
  .strict();

export const WEBHOOK_EVENTS = ['requested', 'decided', 'granted', 'extended', 'ended', 'failed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const webhookUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text.slice(0, 100)}" is not a URL` });
    return;
  }
  if (isHttpsOrLoopback(url)) return;
  ctx.addIssue({ code: 'custom', message: 'must be https (plain http only to this machine, for tests)' });
});

export const webhookSchema = z
  .object({
    url: webhookUrl,
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
    /** The environment variable holding the HMAC secret: the secret itself never goes in the file. */
    secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
      message: 'the name of an environment variable (upper case, digits, _), e.g. TIMEBOX_WEBHOOK_SECRET',
    }),
  })
  .strict();

export type ActionPolicy = z.output<typeof actionSchema>;
export type ClientPolicy = z.output<typeof clientSchema>;
export type WebhookPolicy = z.output<typeof webhookSchema>;

/**
 * The checks across keys for §11 (written for raw input, as policy.ts' crossCheck): action
 * aliases share one namespace with group aliases (a pipeline names a target, never its kind),
 * every `may` names a known target, and no two clients have one application id.
 */
export function crossCheckWorkflows(root: Record<string, unknown>, add: AddProblem): void {
  const groups = asRecord(root.groups);
  const actions = asRecord(root.actions);
  const channels = asRecord(root.approverChannels);
  for (const [alias, value] of Object.entries(actions)) {
    checkApprovalTarget('actions', alias, asRecord(value), channels, add);
    if (Object.hasOwn(groups, alias))
      add(['actions', alias], `"${alias}" is also a group: a target alias names one group or one action`);
  }
  const seenAppIds = new Map<string, string>();
  for (const [name, value] of Object.entries(asRecord(root.clients))) {
    const client = asRecord(value);
    const may = Array.isArray(client.may) ? client.may : [];
    may.forEach((target, index) => {
      if (typeof target !== 'string') return;
      if (!Object.hasOwn(groups, target) && !Object.hasOwn(actions, target))
        add(['clients', name, 'may', String(index)], `"${target}" is neither a group nor an action`);
    });
    if (typeof client.appId === 'string') {
      const key = client.appId.toLowerCase();
      const other = seenAppIds.get(key);
      if (other !== undefined)
        add(
          ['clients', name, 'appId'],
          `the same application id as clients.${other}: one entry per application`,
        );
      else seenAppIds.set(key, name);
    }
  }
}
