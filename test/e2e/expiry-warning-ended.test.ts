import { DEMO, Evidence, useE2E } from './harness';

// Issue 15: the requester's "Access ends soon" is updated in place when the grant ends, so it no
// longer offers Extend / Release. Demo policy: the warning comes 1 min before the end, so a 65 s
// grant is warned about 5 s in and ends a minute later.
const e2e = useE2E();
const { sandbox } = DEMO.groups;
const alex = DEMO.users.alex.objectId;

test('the expiry warning shows the end, without Extend / Release, once the grant expired', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'expiry-warning-ended');
  const why = 'checking the demo data once more';

  await playground.openPersonalChat();
  await playground.sendMessage(`request sandbox for 65s because ${why}`);
  await (await playground.waitForCardWithText(why)).waitForText('Waiting for approval');
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await playground.clickCardButton(card, 'Approve');
  await directory.waitForMembership(sandbox, alex, true);
  await card.waitForText('Active');

  await playground.openPersonalChat();
  const warning = await playground.waitForCardWithText('Access ends soon', 40_000);
  await expect(warning.button('Extend').isVisible()).resolves.toBe(true);
  await expect(warning.button('Release now').isVisible()).resolves.toBe(true);
  await shots.capture('warning', { focus: warning.message() });

  // The end: the membership goes, and the same message now says so, with nothing to click.
  await directory.waitForMembership(sandbox, alex, false, 90_000);
  await warning.waitForText('Access ended', 20_000);
  const ended = await warning.text();
  expect(ended).toMatch(/This warning is out of date\. Your access to Sandbox \(demo\) ended at/);
  expect(ended).toContain('There is nothing to extend or release any more.');
  expect(ended).not.toContain('Access ends soon');
  await expect(warning.button('Extend').count()).resolves.toBe(0);
  await expect(warning.button('Release now').count()).resolves.toBe(0);
  await shots.capture('warning-after-end', {
    focus: warning.message(),
    docs: 'personal-expiry-warning-ended',
  });
  expect(playground.failedActivities()).toEqual([]);
}, 180_000);
