import { ActAsError } from '../../src/dev/act-as';
import { DEMO, Evidence, devAs, useE2E } from './harness';

// The README's try-out of two-person approval: `npm run dev:as -- megan approve R-…` clicks the
// channel card as another demo user, through the playground, and the page follows.
const e2e = useE2E();
const { prodAdmin } = DEMO.groups;
const { alex } = DEMO.users;

const as = devAs(e2e);

test('prod-admin 2 of 2 with dev:as: Megan, then Adele, approve on the channel card', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'dev-as');
  const why = 'INC-5150 rotate the payment keys';

  await playground.openPersonalChat();
  await playground.sendMessage(`request prod-admin for 30m because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('needs 2 approvals');
  const id = /R-[A-Z0-9]+/.exec(await receipt.text())?.[0];
  expect(id).toBeDefined();

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('0 of 2');

  // Mistakes are named, and nothing is sent.
  await expect(as('zoe', 'approve', id!)).rejects.toThrow(/No demo user "zoe".*megan/);
  await expect(as('megan', 'deny', id!)).rejects.toThrow(ActAsError);
  await expect(as('megan', 'approve', 'R-NOPE99')).rejects.toThrow('There is no request R-NOPE99');
  expect(await card.text()).toContain('0 of 2');

  const megans = await as('megan', 'approve', id!);
  expect(megans.status).toBe(200);
  expect(megans.lines.join('\n')).toContain('1 of 2');
  await card.waitForText('1 of 2');
  await shots.capture('megan-approved', { focus: card.thread() });

  const adeles = await as('Adele', 'approve', id!);
  expect(adeles.status).toBe(200);
  await directory.waitForMembership(prodAdmin, alex.objectId, true);
  await card.waitForText('Active');
  expect(await card.text()).toContain('2 of 2');
  await shots.capture('adele-approved', { focus: card.thread() });

  // An extension that needs approval is decided the same way: dev:as finds the pending decision.
  await playground.openPersonalChat();
  await playground.sendMessage('extend prod-admin by 30m because the rotation is slower than planned');
  await playground.openChannel(DEMO.approverChannel);
  const asked = await playground.waitForCardWithText(why);
  await asked.waitForText('extension of 30m requested · 0 of 2 approvals');
  expect((await as('megan', 'approve', id!)).lines.join('\n')).toContain('1 of 2 approvals');
  await asked.waitForText('extension of 30m requested · 1 of 2 approvals');
  expect((await as('adele', 'approve', id!)).status).toBe(200);
  await asked.thread().getByText('Access extended').waitFor();
  await shots.capture('extension-approved', { focus: asked.thread() });
  expect(playground.failedActivities()).toEqual([]);
});
