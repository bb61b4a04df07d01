import type { CloudAdapter, ConversationReference } from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import type { PagedMembersResult } from 'botbuilder';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';

export interface TeamMember {
  /** Teams id (29:...), what `refresh.userIds` and mentions take. */
  teamsId: string;
  aadObjectId: string;
  name: string;
  upn?: string;
}

const TTL_MS = 10 * 60_000;
const MAX_PAGES = 20;

/**
 * The members of a team, from the Bot Connector (`/v3/conversations/{teamId}/pagedmembers`),
 * cached for ten minutes: it maps Entra object ids to the Teams ids cards and mentions need.
 */
export class TeamRoster {
  private readonly cache = new Map<string, { at: number; members: TeamMember[] }>();

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly appId: string,
    private readonly botId: () => string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The team's members; empty (and logged) when the connector cannot tell, so cards still render. */
  async members(serviceUrl: string, teamId: string): Promise<TeamMember[]> {
    const key = `${serviceUrl}|${teamId}`;
    const cached = this.cache.get(key);
    if (cached && this.clock.now() - cached.at < TTL_MS) return cached.members;
    try {
      const members = await this.fetch(serviceUrl, teamId);
      this.cache.set(key, { at: this.clock.now(), members });
      return members;
    } catch (error) {
      this.logger.warn(
        { err: (error as Error).message, teamId },
        'could not read the team roster; cards show no personal buttons until it can',
      );
      return cached?.members ?? [];
    }
  }

  private async fetch(serviceUrl: string, teamId: string): Promise<TeamMember[]> {
    const members: TeamMember[] = [];
    const reference: Partial<ConversationReference> = {
      channelId: 'msteams',
      serviceUrl,
      conversation: { id: teamId, isGroup: true, conversationType: 'channel', name: '' },
      bot: { id: this.botId(), name: 'Timebox' },
    };
    await this.adapter.continueConversationAsync(this.appId, reference, async (context) => {
      const client = context.turnState.get<ConnectorClient>(context.adapter.ConnectorClientKey);
      let continuationToken: string | undefined = undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const result: PagedMembersResult = await client.conversations.getConversationPagedMembers(teamId, {
          pageSize: 500,
          continuationToken: continuationToken as string,
        });
        for (const m of result.members ?? []) {
          const account = m as typeof m & { aadObjectId?: string; userPrincipalName?: string };
          if (account.aadObjectId)
            members.push({
              teamsId: account.id,
              aadObjectId: account.aadObjectId,
              name: account.name,
              upn: account.userPrincipalName,
            });
        }
        continuationToken = result.continuationToken;
        if (!continuationToken) break;
      }
    });
    return members;
  }
}
