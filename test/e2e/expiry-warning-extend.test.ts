import { DEMO, Evidence, answerText, useE2E } from './harness';

// Scenario 6 (issue 6): the requester is warned `expiryWarning` before the end (1m in the demo
// policy) and extends from the warning's Extend button; the grant outlives its first end.
const e2e = useE2E();
const { sandbox } = DEMO.groups;
const alex = DEMO.users.alex.objectId;
const GRANT_MS = 70_000;

test('expiry warning → Extend → the grant outlives its first end', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'expiry-warning-extend');
  const why = 'migrating the demo data';

  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox for 70s because ${why}`);
  await (await playground.waitForCardWithText(why)).waitForText('Waiting for approval');
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await playground.clickCardButton(card, 'Approve');
  await directory.waitForMembership(sandbox, alex, true);
  // The first end, seen from here: no earlier than this.
  const firstEnd = Date.now() + GRANT_MS;
  await card.waitForText('Active');

  // 70 s grant, 1 min warning: it comes about 10 s after the grant started.
  await playground.openPersonalChat();
  const warning = await playground.waitForCardWithText('Access ends soon', 40_000);
  const warned = await warning.text();
  expect(warned).toMatch(/Your access to Sandbox \(demo\) ends at/);
  expect(warned).toContain('Extend it if you still need it, or release it now if you are done.');
  await expect(warning.button('Extend').isVisible()).resolves.toBe(true);
  await expect(warning.button('Release now').isVisible()).resolves.toBe(true);
  await shots.capture('warning', { focus: warning.message(), docs: 'personal-expiry-warning' });

  // Extend opens the choice; 15 minutes more, with a reason typed in.
  expect(await playground.clickCardButton(warning, 'Extend')).toBeUndefined();
  await playground.fillCardInput(warning, 'Extend by', '15m');
  await playground.fillCardInput(
    warning,
    'Why do you need more time?',
    'the migration needs a few more minutes',
    { typing: true },
  );
  await shots.capture('warning-extend-open', {
    focus: warning.message(),
    docs: 'personal-expiry-warning-extend',
  });
  const answer = await playground.clickCardButton(warning, 'Extend access', { inShowCard: true });
  expect(answer?.status).toBe(200);
  expect(answerText(answer)).not.toMatch(/nothing was changed/i);

  // The requester is told (no approval needed for sandbox extensions in the demo policy).
  // Not the warning, which now reads "Access ends later": the notice, which names the extension.
  const extended = await playground.waitForCardWithText('Extended by 15m');
  expect(await extended.text()).toMatch(
    /Your access to Sandbox \(demo\) now ends at [^()]*\(in [^)]*\)\.\s*Extended by 15m\./s,
  );
  expect(await extended.text()).toContain('Reason: “the migration needs a few more minutes”');
  // The warning above it, updated in place, says it is out of date rather than repeating the notice.
  await warning.waitForText('Access ends later');
  expect(await warning.text()).toContain('This warning is out of date.');
  await expect(warning.button('Extend').count()).resolves.toBe(0);
  await shots.capture('extended', {
    focus: [warning.message(), extended.message()],
    docs: 'personal-extended',
  });

  // The channel card and its thread follow.
  await playground.openChannel(DEMO.approverChannel);
  const after = await playground.waitForCardWithText(why);
  await after.waitForText('Active');
  await after.thread().getByText('Access extended').waitFor();
  expect(await after.thread().innerText()).toMatch(/Alex Wilber’s access to Sandbox \(demo\) now ends at/);
  // The card's timeline names who asked, and that the demo policy let it through without an approver.
  expect(await after.text()).toMatch(
    /Extended by 15m · asked by Alex Wilber, no approval needed by policy · /,
  );
  await shots.capture('channel-extended', { focus: after.thread(), docs: 'channel-extended' });

  // Past the first end the member is still there, and nothing was removed.
  const wait = firstEnd + 5_000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  expect(await directory.members(sandbox)).toEqual([alex]);
  expect(await directory.membershipCalls(sandbox)).toEqual(['POST 204']);
  expect(await after.text()).toContain('Active');
  expect(await after.thread().innerText()).not.toContain('Access expired');
  expect(playground.failedActivities()).toEqual([]);
}, 150_000);
