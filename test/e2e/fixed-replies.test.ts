import { DEMO, Evidence, answerText, useE2E } from './harness';

// Issue 15's fixed cases in Alex's personal chat, each with its picture: the welcome on install,
// times in the reader's zone, a stale click on a `pending` list, the ticket example, did-you-mean,
// a release confirmed once the membership is gone, and the overlap with a break-glass grant
// explained. Alex's Teams runs in Berlin (the browser's zone, which the playground reports as
// `localTimezone`); the approver channel has no `timeZone` in the demo policy, so it stays UTC.
const e2e = useE2E({ timeZone: 'Europe/Berlin', holdableUpdates: true });
const { sandbox, prodAdmin } = DEMO.groups;
const { alex } = DEMO.users;

/** The request id a card shows. */
function requestIdIn(text: string): string {
  const id = /\bR-[A-Z0-9]{6}\b/.exec(text)?.[0];
  if (!id) throw new Error(`no request id in:\n${text}`);
  return id;
}

test('a welcome on install, once: what Timebox does, the groups Alex may request, help', async () => {
  const { playground } = e2e;
  const shots = new Evidence(playground, 'fixed-welcome');
  await playground.openPersonalChat();

  // What Teams sends on an install: both events; the bot welcomes once.
  await playground.sendActivityAs(alex.teamsId, { type: 'installationUpdate', action: 'add' });
  await playground.sendActivityAs(alex.teamsId, {
    type: 'conversationUpdate',
    membersAdded: [{ id: playground.config.bot.id, name: playground.config.bot.name }],
  });
  const welcome = await playground.waitForCardWithText('Welcome to Timebox');
  const text = await welcome.text();
  expect(text).toContain('Groups you may request');
  expect(text).toMatch(/Sandbox \(demo\) \(sandbox\)/);
  expect(text).toContain('Type help to see every command');
  await shots.capture('welcome', { focus: welcome.message(), docs: 'personal-welcome' });

  // Installed again: no second welcome (the answer to `help` comes after whatever it would send).
  await playground.sendActivityAs(alex.teamsId, { type: 'installationUpdate', action: 'add' });
  await playground.sendMessage('help');
  await playground.waitForCardWithText('GROUPS YOU CAN REQUEST');
  expect(playground.findMessages('Welcome to Timebox')).toHaveLength(1);
  expect(playground.failedActivities()).toEqual([]);
});

test('a stale Approve on a pending list is answered with the list as it is now', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'fixed-stale-pending');
  const why = 'a request to cancel again';
  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox for 20m because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval');
  const id = requestIdIn(await receipt.text());

  // Alex approves sandbox (demo policy): his `pending` lists his own request, with Approve.
  await playground.sendMessage('pending');
  const list = await playground.waitForCardWithText('WAITING FOR YOUR DECISION');
  await list.waitForText(why);
  const listMessage = playground.findMessage('WAITING FOR YOUR DECISION')!;

  // Cancelled meanwhile; the page has not caught up with the list's update yet.
  const release = playground.holdUpdatesOf(listMessage.messageId);
  await playground.sendMessage(`cancel ${id}`);
  await playground.waitForBotMessage(`Cancelled ${id}`);
  await playground.waitForUpdates(listMessage.messageId);
  release();
  expect(await list.text()).toContain(why);
  await shots.capture('stale-list', { focus: list.message(), docs: 'personal-pending-stale-list' });

  const answer = await playground.clickCardButton(list, 'Approve');
  expect(answer?.status).toBe(200);
  expect(answerText(answer)).toContain('WAITING FOR YOUR DECISION');
  await list.waitForText('All caught up');
  const after = await list.text();
  expect(after).toContain('WAITING FOR YOUR DECISION'); // still the list, not the request's card
  expect(after).toMatch(/cancel/i);
  expect(after).not.toContain(why);
  await shots.capture('stale-click-answered', {
    focus: list.message(),
    docs: 'personal-pending-stale-click',
  });
  expect(await directory.members(sandbox)).toEqual([]);
  expect(playground.failedActivities()).toEqual([]);
});

test('replies that do not puzzle: a ticket example, did-you-mean', async () => {
  const { playground } = e2e;
  const shots = new Evidence(playground, 'fixed-replies');
  await playground.openPersonalChat();

  await playground.sendMessage('request prod-admin for 30m because hotfix for payments');
  const missing = await playground.waitForBotMessage(/prod-admin needs a ticket/);
  expect(await missing.innerText()).toContain('like INC-12345: add "ticket INC-12345".');
  await playground.sendMessage('request prod-admin for 30m because hotfix ticket 4711');
  const ticket = await playground.waitForBotMessage(/is not a valid ticket for prod-admin/);
  expect(await ticket.innerText()).toContain('use one like INC-12345');
  expect(await ticket.innerText()).not.toMatch(/\^|\[0-9\]/);
  await shots.capture('ticket-example', {
    focus: [playground.chatMessage('hotfix for payments'), playground.chatMessage('not a valid ticket')],
    docs: 'personal-ticket-example',
  });

  await playground.sendMessage('requets sandbox for 1h because typo');
  const typo = await playground.waitForBotMessage(/I don.t know "requets"/);
  expect(await typo.innerText()).toContain('Did you mean request?');
  expect(await typo.innerText()).toContain('break-glass');
  await shots.capture('did-you-mean', {
    focus: [playground.chatMessage('requets sandbox'), playground.chatMessage('Did you mean request?')],
    docs: 'personal-did-you-mean',
  });
  expect(playground.failedActivities()).toEqual([]);
});

test('times in the reader’s zone; a release confirmed once the membership is gone', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'fixed-time-zone-release');
  const why = 'checking the nightly export';
  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox for 20m because ${why}`);
  await (await playground.waitForCardWithText(why)).waitForText('Waiting for approval');

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await playground.clickCardButton(card, 'Approve');
  await directory.waitForMembership(sandbox, alex.objectId, true);
  await card.waitForText('Active');
  // The channel has no zone of its own: UTC.
  expect(await card.text()).toMatch(/Access until\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC/);

  await playground.openPersonalChat();
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Active');
  const granted = await playground.waitForCardWithText('Access granted');
  expect(await receipt.text()).toMatch(/Access until\s+\d{4}-\d\d-\d\d \d\d:\d\d CET/);
  expect(await granted.text()).toMatch(/until \d{4}-\d\d-\d\d \d\d:\d\d CET \(in \d+m\)/);
  await shots.capture('time-zone', {
    focus: [receipt.message(), granted.message()],
    docs: 'personal-time-zone',
  });

  await playground.sendMessage('release sandbox');
  await playground.waitForBotMessage(/Released R-/);
  await directory.waitForMembership(sandbox, alex.objectId, false);
  const confirmed = await playground.waitForCardWithText('Your membership was removed at');
  expect(await confirmed.text()).toMatch(
    /You released Sandbox \(demo\)\. Your membership was removed at \d{4}-\d\d-\d\d \d\d:\d\d CET\./,
  );
  await shots.capture('release-confirmed', {
    focus: [
      playground.chatMessage('release sandbox'),
      playground.chatMessage(/Released R-/),
      confirmed.message(),
    ],
    docs: 'personal-release-confirmed',
  });
  expect(playground.failedActivities()).toEqual([]);
});

test('request for a group held by break-glass, with an extension waiting: says why nothing was filed', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'fixed-overlap');
  await playground.openPersonalChat();
  await playground.sendMessage('break-glass prod-admin 15m because INC-912 payments are down');
  await directory.waitForMembership(prodAdmin, alex.objectId, true);
  await playground.sendMessage('extend prod-admin by 10m because still fixing');
  await playground.waitForBotMessage(/asked the approvers of prod-admin to extend/i);

  await playground.sendMessage('request prod-admin for 1h because still fixing INC-912');
  const answer = await playground.waitForBotMessage(/You already hold prod-admin by break-glass/);
  const text = await answer.innerText();
  expect(text).toMatch(/\(request R-[A-Z0-9]{6}, until (\d{4}-\d\d-\d\d )?\d\d:\d\d CET\)/);
  expect(text).toContain('one (10m more) is already waiting for the approvers. Nothing new was filed');
  await shots.capture('overlap', {
    focus: [playground.chatMessage('request prod-admin for 1h'), playground.chatMessage('You already hold')],
    docs: 'personal-overlap-explained',
  });

  await playground.sendMessage('release prod-admin');
  await directory.waitForMembership(prodAdmin, alex.objectId, false);
  expect(playground.failedActivities()).toEqual([]);
});
