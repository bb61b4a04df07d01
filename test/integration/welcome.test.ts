import { startHarness, CHANNEL, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import {
  activityEnvelope,
  BOT,
  personalChatOf,
  TENANT,
  users,
  type TeamsUser,
} from '../helpers/teams-client';

/**
 * Issue 15, "a welcome on install", through the real bot over HTTP: Teams sends an
 * installationUpdate and a conversationUpdate naming the bot; the person (or team) is welcomed
 * once, never again on a re-install, also after a restart.
 */

type Where = { id: string; conversationType: string; isGroup?: boolean };

describe('the welcome on install', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  function envelope(who: TeamsUser, where: Where, teamId?: string) {
    const base = activityEnvelope(who, BOT, {
      serviceUrl: h.connector.url,
      tenantId: TENANT,
      conversation: where,
    });
    return teamId ? { ...base, channelData: { ...base.channelData, team: { id: teamId } } } : base;
  }

  /** What Teams posts when `who` installs the app: both activities, as Teams sends them. */
  async function install(who: TeamsUser, where: Where, teamId?: string): Promise<void> {
    const posts = [
      { ...envelope(who, where, teamId), type: 'installationUpdate', action: 'add' },
      {
        ...envelope(who, where, teamId),
        type: 'conversationUpdate',
        membersAdded: [{ id: BOT.id, name: BOT.name }],
      },
    ];
    for (const activity of posts) expect((await h.teams.post(activity)).status).toBeLessThan(300);
  }

  const welcomesIn = (conversationId: string) =>
    h.connector
      .sentTo(conversationId)
      .map((s) => cardText(firstCard(s.activity)))
      .filter((text) => /Welcome to Timebox|Timebox is installed in this team/.test(text));

  it('welcomes a person once in personal chat, with what Timebox does, the groups they may request and help', async () => {
    const chat = { id: personalChatOf(users.lynne), conversationType: 'personal' };
    await install(users.lynne, chat);
    const [welcome] = await waitFor(() => {
      const found = welcomesIn(chat.id);
      return found.length ? found : undefined;
    }, 'the welcome');
    expect(welcome).toContain('Welcome to Timebox');
    expect(welcome).toContain('access to a group for a limited time');
    expect(welcome).toContain('Groups you may request');
    expect(welcome).toMatch(/• Production DB \(read\) \(db-read\): up to 4h/);
    expect(welcome).toContain('Type help');

    // Installed again (removed and added, or the second of Teams' two activities): no second welcome.
    await install(users.lynne, chat);
    await h.restart();
    await install(users.lynne, chat);
    await h.teams.say(users.lynne, 'help');
    await waitFor(
      () =>
        h.connector
          .sentTo(chat.id)
          .some(
            (s) =>
              /db-read/.test(cardText(firstCard(s.activity))) &&
              !/Welcome/.test(cardText(firstCard(s.activity))),
          ),
      'the help card',
    );
    expect(welcomesIn(chat.id)).toHaveLength(1);
    // It is remembered how to reach the person later, as after a message.
    expect(await h.bot.store.getPersonalChat(users.lynne.aadObjectId)).toMatchObject({
      conversationId: chat.id,
    });
  });

  it("welcomes a team once, naming the policy's approver channel it serves and its groups", async () => {
    const general = { id: CHANNEL.teamId, conversationType: 'channel', isGroup: true };
    await install(users.patti, general, CHANNEL.teamId);
    const [welcome] = await waitFor(() => {
      const found = welcomesIn(general.id);
      return found.length ? found : undefined;
    }, 'the team welcome');
    expect(welcome).toContain('This team is an approver channel in the policy');
    expect(welcome).toMatch(/• ops: sandbox, db-read, prod-admin/);
    await install(users.megan, general, CHANNEL.teamId);
    await new Promise((r) => setTimeout(r, 200));
    expect(welcomesIn(general.id)).toHaveLength(1);
  });

  it('tells a team that is no approver channel how to become one, with its id', async () => {
    const other = '19:other-team@thread.tacv2';
    const general = { id: other, conversationType: 'channel', isGroup: true };
    await install(users.patti, general, other);
    const [welcome] = await waitFor(() => {
      const found = welcomesIn(other);
      return found.length ? found : undefined;
    }, 'the team welcome');
    expect(welcome).toContain('This team is not an approver channel in the policy');
    expect(welcome).toContain(`this team's id (${other})`);
    expect(welcome).toContain('approverChannels');
  });

  it('a member other than the bot joining a team gets no welcome, nor does a hostile team id', async () => {
    const general = { id: '19:quiet@thread.tacv2', conversationType: 'channel', isGroup: true };
    const joined = {
      ...envelope(users.adele, general, '19:quiet@thread.tacv2'),
      type: 'conversationUpdate',
      membersAdded: [{ id: users.adele.id, name: users.adele.name }],
    };
    expect((await h.teams.post(joined)).status).toBeLessThan(300);
    const hostile = { id: '19:x', conversationType: 'channel', isGroup: true };
    await install(users.adele, hostile, '__proto__');
    await new Promise((r) => setTimeout(r, 200));
    expect(welcomesIn(general.id)).toEqual([]);
    expect(welcomesIn(hostile.id)).toEqual([]);
  });
});
