import path from 'node:path';
import { DEMO, Evidence, ROOT, answerText, devAs, requestIdIn, useE2E } from './harness';

// Issue 17, the approver's side, in the browser: a scheduled start, escalation (every approver
// away, and one approver away then nobody deciding in time) and delegation. The stack runs
// test/e2e/fixtures/approver-side.policy.yaml (the demo policy plus escalation on db-read and a
// logs-read group) on a seed where Megan and Adele have automatic replies on. The browser and
// the bot run in UTC (useE2E's default), so "at HH:MM" below is UTC. To keep the file's wall
// time down, the start that is waited for is an ISO time ~75s ahead (with seconds and Z), and
// logs-read escalates after 40s.
const fixtures = path.join(ROOT, 'test/e2e/fixtures');
const e2e = useE2E({
  policyFile: path.join(fixtures, 'approver-side.policy.yaml'),
  seedFile: path.join(fixtures, 'approver-side.directory.json'),
});
const { sandbox, dbRead } = DEMO.groups;
const { alex, isaiah, lynne } = DEMO.users;
const logsRead = 'b2000000-0000-4000-8000-000000000004';

const as = devAs(e2e);

/** HH:MM of `at` in UTC, truncated to the minute as the cards show times. */
const hhmm = (at: Date | number): string => new Date(at).toISOString().slice(11, 16);

/**
 * An ISO 8601 start (UTC, with seconds and `Z`) about `seconds` from now, never on a whole
 * minute: its seconds are kept within :05–:44, so that the grant made a moment after the start
 * (and its end, 30m later) still falls in the start's minute on the cards.
 */
function isoAhead(seconds: number): { text: string; at: Date } {
  const at = new Date(Date.now() + seconds * 1000);
  at.setUTCMilliseconds(0);
  const s = at.getUTCSeconds();
  if (s < 5) at.setUTCSeconds(5);
  if (s > 44) at.setUTCSeconds(65); // :05 of the next minute
  return { text: at.toISOString().replace('.000Z', 'Z'), at };
}

/** HH:MM (UTC) at least `minutes` whole minutes from now. */
function clockAhead(minutes: number): { text: string; at: Date } {
  const at = new Date(Date.now() + (minutes + 1) * 60_000);
  at.setUTCSeconds(0, 0);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { text: `${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}`, at };
}

test('scheduled: request sandbox at a time a few minutes ahead; approved it is scheduled, the receipt can cancel it', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'approver-side-scheduled');
  const why = 'patch night';
  const start = clockAhead(3);

  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox at ${start.text} for 30m because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval');
  const id = requestIdIn(await receipt.text());
  expect(await receipt.text()).toContain(start.text);

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Starts at');
  expect(await card.text()).toContain(start.text);
  await shots.capture('channel-pending-starts-at', { focus: card.thread() });

  // Alex approves (sandbox allows self-approval in the demo): scheduled, not granted.
  const answer = await playground.clickCardButton(card, 'Approve');
  expect(answer?.status).toBe(200);
  await card.waitForText('Approved — scheduled');
  const scheduled = await card.text();
  expect(scheduled).toContain('Starts at');
  expect(scheduled).toContain(start.text);
  await card
    .thread()
    .getByText(new RegExp(`starts at[^\\n]*${start.text}`, 'i'))
    .first()
    .waitFor();
  await shots.capture('channel-approved-scheduled', { focus: card.thread() });
  expect(await directory.members(sandbox)).toEqual([]);

  await playground.openPersonalChat();
  // The receipt (the newest card with the Cancel button; the notice under it has the id too).
  const mine = await playground.waitForCardWithText('Cancel request');
  await mine.waitForText('Approved — scheduled');
  expect(await mine.text()).toContain(id);
  await mine.button('Cancel request').waitFor();
  await shots.capture('receipt-scheduled-cancel', { focus: mine.message() });

  const cancelled = await playground.clickCardButton(mine, 'Cancel request');
  expect(cancelled?.status).toBe(200);
  await mine.waitForText(/cancel/i);
  expect(await mine.text()).not.toContain('Cancel request');
  await shots.capture('receipt-cancelled', { focus: mine.message() });

  await playground.openChannel(DEMO.approverChannel);
  const after = await playground.waitForCardWithText(why);
  await after.waitForText(/Cancelled/);
  await shots.capture('channel-cancelled', { focus: after.thread() });
  expect(await directory.members(sandbox)).toEqual([]);
  expect(await directory.membershipCalls(sandbox)).toEqual([]);
  expect(playground.failedActivities()).toEqual([]);
});

test('scheduled start: approved for an ISO start ~75s ahead, Alex is added at the start, for 30m counted from then', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'approver-side-scheduled-start');
  const why = 'maintenance window for the sandbox cluster';
  // Seconds and Z: the bot takes the exact second; the cards show the start truncated to HH:MM.
  const start = isoAhead(75);

  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox at ${start.text} for 30m because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval');
  expect(await receipt.text()).toContain(`${hhmm(start.at)} UTC`);

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Starts at');
  expect(await card.text()).toMatch(new RegExp(`Starts at[\\s\\S]*${hhmm(start.at)} UTC`));
  await playground.clickCardButton(card, 'Approve');
  await card.waitForText('Approved — scheduled');
  expect(await directory.members(sandbox)).toEqual([]);

  // Not before the start: still scheduled, and nobody added, a few seconds before it...
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start.at.getTime() - Date.now() - 3_000)));
  expect(await directory.members(sandbox)).toEqual([]);
  expect(await card.text()).toContain('Approved — scheduled');
  // ...and added once it is there (the directory is polled every 250 ms).
  await directory.waitForMembership(sandbox, alex.objectId, true, start.at.getTime() - Date.now() + 30_000);
  expect(Date.now()).toBeGreaterThanOrEqual(start.at.getTime());
  await card.waitForText('Active');
  const until = hhmm(start.at.getTime() + 30 * 60_000);
  expect(await card.text()).toMatch(new RegExp(`Access until[\\s\\S]*${until} UTC`));
  await card.thread().getByText('Access granted').waitFor();
  await shots.capture('channel-started', { focus: card.thread() });
  expect(await directory.membershipCalls(sandbox)).toEqual(['POST 204']);

  // Give it back, so that the later tests start with an empty sandbox.
  await playground.openPersonalChat();
  await playground.sendMessage('release sandbox');
  await directory.waitForMembership(sandbox, alex.objectId, false);
  expect(playground.failedActivities()).toEqual([]);
}, 150_000);

test('escalated at once: every db-read approver is away, so Isaiah (escalateTo) is asked and may approve', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'approver-side-escalated-all-away');
  const why = 'INC-17 checking the slow-query log while SRE is out';

  await playground.openPersonalChat();
  await playground.sendMessage(`request db-read for 1h because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval');
  const id = requestIdIn(await receipt.text());

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('⇧ Escalated: Every approver is away');
  const text = await card.text();
  // Escalated, the attention banner ("nobody is in to decide") gives way to who is away.
  expect(text).toContain('Away (automatic replies on): Adele Vance, Megan Bowen.');
  expect(text).not.toContain('nobody is in to decide');
  expect(text).toMatch(/Escalated · .*every approver was away/);
  await card.thread().getByText('Escalated', { exact: false }).first().waitFor();
  await shots.capture('channel-escalated-all-away', { focus: card.thread() });

  // Isaiah is not a db-read approver, but an escalation approver: his decision counts.
  const isaiahs = await as('isaiah', 'approve', id);
  expect(isaiahs.status).toBe(200);
  await directory.waitForMembership(dbRead, alex.objectId, true);
  await card.waitForText('Active');
  expect(await card.text()).toContain('Approved by Isaiah Langer');
  await shots.capture('channel-escalated-approved', { focus: card.thread() });
  expect(playground.failedActivities()).toEqual([]);
});

test('escalated after 40s: Megan is away, Isaiah does not answer; the card says who is away, then escalates to Lynne', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'approver-side-escalated-after');
  const why = 'INC-1717 reading the ingest logs';
  const asked = Date.now();

  await playground.openPersonalChat();
  await playground.sendMessage(`request logs-read for 1h because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval');
  const id = requestIdIn(await receipt.text());

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Away (automatic replies on): Megan Bowen');
  expect(await card.text()).not.toContain('Escalated');
  await shots.capture('channel-one-away', { focus: card.thread() });

  // Lynne may not decide before the escalation.
  const early = await playground.clickCardButtonAs(lynne.teamsId, why, 'Approve');
  expect(answerText(early)).toMatch(/Only approvers of logs-read/);
  // These steps take a few seconds; well inside escalateAfter (40s), else the test proves nothing.
  expect(Date.now() - asked).toBeLessThan(25_000);

  await card.waitForText('⇧ Escalated: Nobody decided in time', 90_000);
  const text = await card.text();
  expect(text).toContain('Away (automatic replies on): Megan Bowen');
  expect(text).toMatch(/Escalated · /);
  await shots.capture('channel-escalated-after-40s', { focus: card.thread() });

  const lynnes = await as('lynne', 'approve', id);
  expect(lynnes.status).toBe(200);
  await directory.waitForMembership(logsRead, alex.objectId, true);
  await card.waitForText('Active');
  expect(await card.text()).toContain('Approved by Lynne Robbins');
  await shots.capture('channel-escalated-after-approved', { focus: card.thread() });
  expect(playground.failedActivities()).toEqual([]);
}, 150_000);

test('delegated: Alex delegates to Patti; status says so; Patti approves Isaiah’s sandbox request for Alex', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'approver-side-delegated');
  const why = 'trying the new terraform module';

  await playground.openPersonalChat();
  await playground.sendMessage('delegate to patti@example.com until tomorrow 09:00');
  const confirm = await playground.waitForBotMessage(
    'Your approvals go to Patti Fernandez (patti@example.com) until',
  );
  expect(await confirm.innerText()).toMatch(/until [^:]*09:00/);
  await shots.capture('delegate-confirmed', { focus: playground.chatMessage('Your approvals go to') });

  await playground.sendMessage('status');
  const status = await playground.waitForCardWithText('Your approvals go to Patti Fernandez until');
  expect(await status.text()).toMatch(/until[^\n]*09:00/);
  await shots.capture('status-delegation', { focus: status.message() });

  // Isaiah asks for sandbox (its approver is Alex), from his own chat with the bot.
  await playground.sendActivityAs(isaiah.teamsId, {
    type: 'message',
    text: `request sandbox for 30m because ${why}`,
  });
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Waiting for approval');
  const id = requestIdIn(await card.text());

  const pattis = await as('patti', 'approve', id);
  expect(pattis.status).toBe(200);
  await directory.waitForMembership(sandbox, isaiah.objectId, true);
  await card.waitForText('Active');
  expect(await card.text()).toContain('Approved by Patti Fernandez for Alex Wilber');
  await shots.capture('channel-approved-by-delegate', { focus: card.thread() });
  expect(await directory.members(sandbox)).toEqual([isaiah.objectId]);

  // Alex takes his approvals back.
  await playground.openPersonalChat();
  await playground.sendMessage('delegate off');
  await playground.waitForBotMessage(
    'Your approvals are yours again: the delegation to Patti Fernandez has ended.',
  );
  // A new status card (the one above still shows the delegation).
  const statusCards = playground.page.locator('.ac-preview-panel > .ac-adaptiveCard', {
    hasText: 'YOUR ACCESS',
  });
  const before = await statusCards.count();
  await playground.sendMessage('status');
  await statusCards.nth(before).waitFor({ timeout: 20_000 });
  const after = await playground.waitForCardWithText('YOUR ACCESS');
  await shots.capture('status-after-delegate-off', { focus: after.message() });
  expect(await after.text()).not.toContain('Your approvals go to');
  expect(playground.failedActivities()).toEqual([]);
});
