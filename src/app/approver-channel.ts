import type { Policy } from '../domain/policy';
import type { ChannelTarget } from '../ports/notifier';
import type { Store } from '../ports/store';

/**
 * Where a message to an approver channel goes: the channel the policy names, through the Bot
 * Connector URL learned from the tenant's activities (or the configured default). `missing`
 * says why there is nowhere to post yet.
 */
export async function approverChannel(
  deps: { policy: Policy; store: Store },
  channelAlias: string,
  tenantId: string | undefined,
  defaultServiceUrl: string | undefined,
): Promise<ChannelTarget | { missing: string }> {
  const channel = deps.policy.approverChannels[channelAlias];
  if (!channel) return { missing: `approver channel "${channelAlias}" is not in the policy` };
  const serviceUrl = (tenantId && (await deps.store.getServiceUrl(tenantId))) || defaultServiceUrl;
  if (!serviceUrl) return { missing: 'no Bot Connector service URL is known for this tenant yet' };
  return { serviceUrl, tenantId, teamId: channel.teamId, channelId: channel.channelId };
}
