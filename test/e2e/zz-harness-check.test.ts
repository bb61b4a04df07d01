import { DEMO, useE2E } from './harness';

const e2e = useE2E({ label: 'zz-harness-check' });

test('sandbox request, self-approve by click, member added', async () => {
  const { playground, directory } = e2e;
  await playground.openPersonalChat();
  await playground.sendMessage('request sandbox for 2m because trying it');
  const receipt = await playground.waitForCardWithText(/sandbox/i);
  console.log('RECEIPT', await receipt.text());
  await playground.screenshot('check-1-receipt');
  await playground.openChannel(DEMO.approverChannel);
  const approval = await playground.waitForCardWithText(/trying it/);
  console.log('APPROVAL', await approval.text());
  await playground.screenshot('check-2-approval');
  const res = await playground.clickCardButton(approval, 'Approve');
  console.log('INVOKE', res?.status, JSON.stringify(res?.body).slice(0, 200));
  await directory.waitForMembership(DEMO.groups.sandbox, DEMO.users.alex.objectId, true);
  await approval.waitForText(/approved|active|granted/i);
  console.log('APPROVED', await approval.text());
  await playground.screenshot('check-3-approved');
  console.log('THREAD', await approval.thread().innerText());
});

test('form card: fill inputs by label and by id', async () => {
  const { playground } = e2e;
  await playground.openPersonalChat();
  await playground.sendMessage('request');
  const form = await playground.waitForCardWithText('REQUEST ACCESS');
  await playground.fillCardInput(form, 'group', 'db-read');
  await playground.fillCardInput(form, 'duration', '15m');
  await playground.fillCardInput(form, 'Justification', 'checking the form');
  await playground.screenshot('check-4-form');
  const res = await playground.clickCardButton(form, 'Submit request');
  console.log('SUBMIT', res?.status, JSON.stringify(res?.body).slice(0, 300));
  await playground.screenshot('check-5-form-submitted');
});

test('db-read approved by Megan via clickCardButtonAs; card updates live', async () => {
  const { playground, directory } = e2e;
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(/checking the form/);
  console.log('DB CARD', await card.text());
  const res = await playground.clickCardButtonAs(DEMO.users.megan.teamsId, 'checking the form', 'Approve');
  console.log('AS MEGAN', res.status, JSON.stringify(res.body).slice(0, 200));
  await directory.waitForMembership(DEMO.groups.dbRead, DEMO.users.alex.objectId, true);
  await card.waitForText(/Megan/);
  console.log('DB CARD AFTER', await card.text());
  await playground.screenshot('check-6-megan-approved');
  console.log(JSON.stringify(playground.messages().map((m) => ({ id: m.messageId, conv: m.conversationId, text: m.text?.slice(0, 60), cards: m.cards.length, updates: m.updates })), null, 1));
});
