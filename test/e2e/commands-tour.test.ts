import { DEMO, Evidence, useE2E } from './harness';

// Every chat command of PRODUCT.md §3 typed into the playground, with what the person sees:
// help, pending, cancel, break-glass, extend, release, a near miss and nonsense.
const e2e = useE2E();
const { sandbox, prodAdmin } = DEMO.groups;
const alex = DEMO.users.alex.objectId;

test('help, pending, cancel, break-glass, extend, release, a near miss and nonsense', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'commands-tour');
  await playground.openPersonalChat();

  await playground.sendMessage('help');
  const help = await playground.waitForCardWithText('prod-admin');
  expect(await help.text()).toMatch(/request/);
  await shots.capture('help', { focus: help.message(), docs: 'personal-help' });

  await playground.sendMessage('request sandbox for 20m because touring the commands');
  const receipt = await playground.waitForCardWithText('touring the commands');
  await receipt.waitForText('Waiting for approval');
  const id = /R-[A-Z0-9]{6}/.exec(await receipt.text())![0];

  // Alex approves sandbox (demo policy), so `pending` lists his own request with its buttons.
  await playground.sendMessage('pending');
  const pending = await playground.waitForCardWithText('WAITING FOR YOUR DECISION');
  await pending.waitForText('touring the commands');
  await expect(pending.button('Approve').count()).resolves.toBe(1);
  await shots.capture('pending', { focus: pending.message(), docs: 'personal-pending' });

  await playground.sendMessage(`cancel ${id.toLowerCase()}`);
  await playground.waitForBotMessage(`Cancelled ${id}`);
  await receipt.waitForText('Cancelled');

  await playground.sendMessage('request db-raed for 1h because typo');
  await playground.waitForBotMessage('Did you mean db-read?');
  await playground.sendMessage('fly me to the moon');
  await playground.waitForBotMessage(/I don.t know "fly"/);
  await shots.capture('replies', { docs: 'personal-replies' });

  // Break-glass: granted at once, loudly announced in the channel.
  await playground.sendMessage('break-glass prod-admin 15m because INC-911 checkout is down');
  await directory.waitForMembership(prodAdmin, alex, true);
  await playground.sendMessage('extend prod-admin by 10m because still fixing');
  await playground.waitForBotMessage(/asked the approvers of prod-admin to extend/i);
  await playground.openChannel(DEMO.approverChannel);
  const alert = await playground.waitForCardWithText('checkout is down');
  await alert.waitForText(/BREAK-GLASS/);
  await alert.thread().getByText('Break-glass access granted').waitFor();
  await shots.capture('break-glass', {
    focus: [alert.message(), alert.thread()],
    docs: 'channel-break-glass',
  });

  await playground.openPersonalChat();
  await playground.sendMessage('release prod-admin');
  await playground.waitForBotMessage(/Released R-/);
  await directory.waitForMembership(prodAdmin, alex, false);

  expect(await directory.members(sandbox)).toEqual([]);
  expect(playground.failedActivities()).toEqual([]);
});
