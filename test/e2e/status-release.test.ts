import { DEMO, Evidence, answerText, useE2E } from './harness';

// Scenario 5 (issue 6): `status` lists what the person holds and waits for; its Release button
// ends a grant early and the membership is removed.
const e2e = useE2E();
const { sandbox, dbRead } = DEMO.groups;
const alex = DEMO.users.alex.objectId;

test('status → Release now → member removed', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'status-release');

  // An active sandbox grant (approved in the channel) and a db-read request still waiting.
  await playground.openPersonalChat();
  await playground.sendMessage('request sandbox for 45m because cleaning up old test data');
  await (
    await playground.waitForCardWithText('cleaning up old test data')
  ).waitForText('Waiting for approval');
  await playground.sendMessage('request db-read for 1h because monthly revenue report');
  await (await playground.waitForCardWithText('monthly revenue report')).waitForText('Waiting for approval');
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText('cleaning up old test data');
  await playground.clickCardButton(card, 'Approve');
  await directory.waitForMembership(sandbox, alex, true);
  await card.waitForText('Active');

  // `status`: both, each with its own buttons.
  await playground.openPersonalChat();
  await playground.waitForCardWithText('Access granted');
  await playground.sendMessage('status');
  const status = await playground.waitForCardWithText('YOUR ACCESS');
  const before = await status.text();
  expect(before).toContain('Sandbox (demo)');
  expect(before).toContain('Production DB (read)');
  expect(before).toMatch(/Active/);
  expect(before).toMatch(/Waiting for approval/);
  await expect(status.button('Release now').count()).resolves.toBe(1);
  await expect(status.button('Cancel request').count()).resolves.toBe(1);
  await shots.capture('status', { focus: status.message(), docs: 'personal-status' });

  // Release: the answer is the status card again, and the worker removes the member.
  const answer = await playground.clickCardButton(status, 'Release now');
  expect(answer?.status).toBe(200);
  expect(answerText(answer)).toContain('YOUR ACCESS');
  await directory.waitForMembership(sandbox, alex, false);
  await status.waitForText('RECENT');
  const after = await status.text();
  expect(after).toContain('1 pending');
  expect(after).toMatch(/RECENT\s+↩\s+Sandbox \(demo\) · sandbox\s+released/);
  expect(after).toContain('Production DB (read)');
  await expect(status.button('Release now').count()).resolves.toBe(0);
  await expect(status.button('Cancel request').count()).resolves.toBe(1);
  await shots.capture('status-released', { focus: status.message(), docs: 'personal-status-released' });

  // The receipt and the channel card follow; the thread says it was released.
  const receipt = await playground.waitForCardWithText('cleaning up old test data');
  await receipt.waitForText('Released');
  await playground.openChannel(DEMO.approverChannel);
  const released = await playground.waitForCardWithText('cleaning up old test data');
  await released.waitForText('Released');
  await released.thread().getByText('Access released').waitFor();
  expect(await released.thread().innerText()).toMatch(/Alex Wilber released Sandbox \(demo\) early/);
  await shots.capture('channel-released', { focus: released.thread(), docs: 'channel-released' });

  expect(await directory.members(sandbox)).toEqual([]);
  expect(await directory.members(dbRead)).toEqual([]);
  expect(await directory.membershipCalls(sandbox)).toEqual(['POST 204', 'DELETE 204']);
  expect(playground.failedActivities()).toEqual([]);
});
