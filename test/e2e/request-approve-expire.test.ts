import { DEMO, Evidence, useE2E } from './harness';

// Scenario 1 (issue 6): a typed request in personal chat, approved by a click on the card in
// the approvers' channel; the member is added, and removed when the short grant expires.
const e2e = useE2E();
const { sandbox } = DEMO.groups;
const alex = DEMO.users.alex.objectId;

test('typed request → approve in the channel → member added → expiry removes the member', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'request-approve-expire');
  const why = 'trying the demo';

  // Personal chat: the command and the receipt.
  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox for 30s because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval · needs 1 approval');
  await shots.capture('receipt-pending', { focus: receipt.message() });
  expect(await directory.members(sandbox)).toEqual([]);

  // The approvers' channel: the card, with the approvers' buttons on the card everyone sees
  // (local mode: the playground cannot fetch user-specific views).
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Waiting for approval · needs 1 approval');
  const pending = await card.text();
  expect(pending).toContain('ACCESS REQUEST · sandbox');
  expect(pending).toContain('Alex Wilber (alex@example.com)');
  expect(pending).toContain('30s');
  expect(pending).toContain('0 of 1');
  await expect(card.button('Approve').isVisible()).resolves.toBe(true);
  await expect(card.button('Deny').isVisible()).resolves.toBe(true);
  // No refresh on the shared card: the playground would warn under it.
  expect(await card.thread().innerText()).not.toContain('User specific view is not supported');
  await shots.capture('channel-pending', { focus: card.thread() });
  await shots.capture('channel-pending-page', {});

  // Approve by clicking: the invoke answer replaces the card, the worker adds the member.
  const answer = await playground.clickCardButton(card, 'Approve');
  expect(answer?.status).toBe(200);
  await directory.waitForMembership(sandbox, alex, true);
  await card.waitForText('Active');
  const active = await card.text();
  expect(active).toContain('Approved by Alex Wilber');
  expect(active).toContain('Membership added');
  expect(active).toContain('1 of 1');
  await expect(card.button('Approve').count()).resolves.toBe(0);
  await expect(card.button('Deny').count()).resolves.toBe(0);
  await card.thread().getByText('Access granted').waitFor();
  expect(await card.thread().innerText()).toMatch(/Alex Wilber is now a member of Sandbox \(demo\) until/);
  await shots.capture('channel-active', { focus: card.thread() });

  // The grant ends 30 s after it started: the member is removed, the card, the thread and the
  // requester are told.
  await directory.waitForMembership(sandbox, alex, false, 60_000);
  await card.waitForText('Expired — access removed', 15_000);
  const thread = card.thread();
  await thread.getByText('Access expired').waitFor();
  expect(await thread.innerText()).toMatch(
    /Alex Wilber’s access to Sandbox \(demo\) expired — membership removed at/,
  );
  expect(await card.text()).toContain('membership removed');
  await shots.capture('channel-expired', { focus: thread });

  await playground.openPersonalChat();
  const notice = await playground.waitForCardWithText('Access expired');
  expect(await notice.text()).toMatch(/Your access to Sandbox \(demo\) expired — membership removed at/);
  const granted = await playground.waitForCardWithText('Access granted');
  expect(await granted.text()).toMatch(/You are now a member of Sandbox \(demo\) until/);
  const closedReceipt = await playground.waitForCardWithText(`YOUR ACCESS REQUEST · sandbox`);
  await closedReceipt.waitForText('Expired');
  await shots.capture('personal-expired', {
    focus: [granted.message(), notice.message()],
  });

  // The directory: added once, removed once, nobody left in the group.
  expect(await directory.members(sandbox)).toEqual([]);
  expect(await directory.membershipCalls(sandbox)).toEqual(['POST 204', 'DELETE 204']);
  // Every connector call the bot made was accepted (no 400 "Invalid input" on proactive sends).
  expect(playground.failedActivities()).toEqual([]);
}, 150_000);
