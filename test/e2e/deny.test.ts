import { DEMO, Evidence, useE2E } from './harness';

// Scenario 3 (issue 6): an approver denies with a reason typed into the card; the requester is
// told why, and nobody is added to the group.
const e2e = useE2E();
const { sandbox } = DEMO.groups;

test('deny with a reason → requester told, nobody added', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'deny');
  const why = 'load test from my laptop';
  const reason = 'Use the staging sandbox for load tests';

  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox 20m ${why}`);
  await (await playground.waitForCardWithText(why)).waitForText('Waiting for approval');

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Waiting for approval');

  // "Deny" opens the reason box (no request yet); the inner "Deny" sends it.
  expect(await playground.clickCardButton(card, 'Deny')).toBeUndefined();
  await playground.fillCardInput(card, 'reason', reason, { typing: true });
  await shots.capture('deny-reason', { focus: card.thread(), docs: 'channel-deny-reason' });
  const answer = await playground.clickCardButton(card, 'Deny', { inShowCard: true });
  expect(answer?.status).toBe(200);

  await card.waitForText('Denied');
  const denied = await card.text();
  expect(denied).toContain(reason);
  expect(denied).toContain('Alex Wilber');
  await expect(card.button('Approve').count()).resolves.toBe(0);
  // The card itself says who denied it and why (PRODUCT.md §4 posts no thread reply for a denial).
  expect(await card.thread().innerText()).not.toContain('Access granted');
  await shots.capture('channel-denied', { focus: card.thread(), docs: 'channel-denied' });

  // The requester is told, with the reason; the receipt says Denied.
  await playground.openPersonalChat();
  const notice = await playground.waitForCardWithText('Request denied');
  const told = await notice.text();
  expect(told).toMatch(/Alex Wilber denied your request for Sandbox \(demo\)/);
  expect(told).toContain(`Reason: “${reason}”`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Denied');
  await expect(receipt.button('Cancel request').count()).resolves.toBe(0);
  await shots.capture('personal-denied', {
    focus: [receipt.message(), notice.message()],
    docs: 'personal-denied',
  });

  // Nobody was added, and the bot never tried.
  expect(await directory.members(sandbox)).toEqual([]);
  expect(await directory.membershipCalls(sandbox)).toEqual([]);
  expect(playground.failedActivities()).toEqual([]);
}, 120_000);
