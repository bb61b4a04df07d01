/** Reads (and resets) the local directory the bot talks to, over its HTTP API. */
export interface DirectorySnapshot {
  users: { id: string; displayName: string; userPrincipalName: string }[];
  groups: { id: string; displayName: string; members: string[] }[];
  pimAssignments: unknown[];
  calls: { method: string; path: string; status: number; at: number }[];
}

export class DirectoryClient {
  /** Base of the admin API (`/_admin/...`): the Graph URL without `/v1.0`. */
  readonly adminUrl: string;

  constructor(readonly graphUrl: string) {
    this.adminUrl = graphUrl.replace(/\/v1\.0\/?$/, '');
  }

  async state(): Promise<DirectorySnapshot> {
    return (await this.json(`${this.adminUrl}/_admin/state`)) as DirectorySnapshot;
  }

  /**
   * Direct member ids of a group. Read from the admin state, not through Graph, so that the
   * directory's call log (what the bot called) is not mixed with the test's own reads.
   */
  async members(groupId: string): Promise<string[]> {
    const group = (await this.state()).groups.find((g) => g.id === groupId);
    if (!group) throw new Error(`the local directory has no group ${groupId}`);
    return group.members;
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    return (await this.members(groupId)).includes(userId);
  }

  /**
   * The bot's membership changes on a group, from the directory's call log, as
   * "POST 201" (add) and "DELETE 204" (remove) in call order.
   */
  async membershipCalls(groupId: string): Promise<string[]> {
    const prefix = `/groups/${groupId}/members`;
    return (await this.state()).calls
      .filter((c) => c.path.startsWith(prefix) && (c.method === 'POST' || c.method === 'DELETE'))
      .map((c) => `${c.method} ${c.status}`);
  }

  /** Polls until `userId` is (or, with present=false, is not) a member of `groupId`. */
  async waitForMembership(
    groupId: string,
    userId: string,
    present: boolean,
    timeoutMs = 15_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const members = await this.members(groupId);
      if (members.includes(userId) === present) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${userId} is ${present ? 'still not' : 'still'} a member of ${groupId} after ${timeoutMs} ms (members: ${members.join(', ') || 'none'})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Back to the seed: memberships, PIM assignments, faults and the call log. */
  async reset(): Promise<void> {
    const response = await fetch(`${this.adminUrl}/_admin/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) throw new Error(`POST /_admin/reset: HTTP ${response.status} ${await response.text()}`);
  }

  private async json(url: string): Promise<unknown> {
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
    return response.json();
  }
}
