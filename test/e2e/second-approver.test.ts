import { DEMO, Evidence, answerText, useE2E } from './harness';

// Scenario 4 (issue 6): requests that need someone else's approval. The playground has one
// signed-in user (Alex); Megan and Adele click through the playground's invoke API, exactly
// the activity a click of theirs sends, and the page follows through the bot's card updates.
const e2e = useE2E();
const { dbRead, prodAdmin } = DEMO.groups;
const { alex, megan, adele, lynne } = DEMO.users;

test('db-read: Alex may not approve his own request; Megan approves it and the card updates in the page', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'second-approver-db-read');
  const why = 'slow queries on the orders table';

  await playground.openPersonalChat();
  await playground.sendMessage(`request db-read for 2h because ${why}`);
  await (await playground.waitForCardWithText(why)).waitForText('Waiting for approval');

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Waiting for approval · needs 1 approval');

  // The shared card carries the approvers' buttons, but a click is judged by who clicked.
  const refused = await playground.clickCardButton(card, 'Approve');
  expect(refused?.status).toBe(200);
  expect(answerText(refused)).toContain('Only approvers of db-read can approve it; nothing was changed.');
  await card.waitForText('Only approvers of db-read can approve it');
  expect(await card.text()).toContain('Waiting for approval');
  await shots.capture('alex-refused', { focus: card.thread() });
  expect(await directory.members(dbRead)).toEqual([]);

  // Megan approves.
  const answer = await playground.clickCardButtonAs(megan.teamsId, why, 'Approve');
  expect(answer.status).toBe(200);
  await directory.waitForMembership(dbRead, alex.objectId, true);
  await card.waitForText('Active');
  const active = await card.text();
  expect(active).toContain('Approved by Megan Bowen');
  expect(active).toContain('1 of 1');
  await card.thread().getByText('Access granted').waitFor();
  await shots.capture('megan-approved', { focus: card.thread(), docs: 'channel-approved-by-megan' });

  await playground.openPersonalChat();
  const granted = await playground.waitForCardWithText('Access granted');
  expect(await granted.text()).toMatch(/You are now a member of Production DB \(read\) until/);
  await shots.capture('personal-granted', { focus: granted.message() });

  expect(await directory.members(dbRead)).toEqual([alex.objectId]);
  expect(await directory.membershipCalls(dbRead)).toEqual(['POST 204']);
  expect(playground.failedActivities()).toEqual([]);
});

test('prod-admin: two approvals and a ticket; a non-approver cannot add a vote', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'second-approver-prod-admin');
  const why = 'INC-4711 hotfix for the checkout service';

  await playground.openPersonalChat();
  await playground.sendMessage(`request prod-admin for 30m because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('needs 2 approvals');
  expect(await receipt.text()).toContain('INC-4711');

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('0 of 2');

  // Lynne is not an approver of prod-admin: refused, nothing changes.
  const lynnes = await playground.clickCardButtonAs(lynne.teamsId, why, 'Approve');
  expect(answerText(lynnes)).toContain('Only approvers of prod-admin can approve it');
  expect(await card.text()).toContain('0 of 2');

  await playground.clickCardButtonAs(megan.teamsId, why, 'Approve');
  await card.waitForText('1 of 2');
  expect(await card.text()).toContain('Waiting for approval');
  await shots.capture('one-of-two', { focus: card.thread() });
  expect(await directory.members(prodAdmin)).not.toContain(alex.objectId);

  // Megan again does not count twice.
  const again = await playground.clickCardButtonAs(megan.teamsId, why, 'Approve');
  expect(answerText(again)).toMatch(/already/i);
  expect(answerText(again)).toContain('1 of 2');
  expect(await card.text()).toContain('1 of 2');
  expect(await directory.members(prodAdmin)).not.toContain(alex.objectId);

  await playground.clickCardButtonAs(adele.teamsId, why, 'Approve');
  await directory.waitForMembership(prodAdmin, alex.objectId, true);
  await card.waitForText('Active');
  const active = await card.text();
  expect(active).toContain('2 of 2');
  expect(active).toContain('Megan Bowen');
  expect(active).toContain('Adele Vance');
  await card.thread().getByText('Access granted').waitFor();
  await shots.capture('two-of-two', { focus: card.thread() });

  // Lynne's standing membership (from the seed) is untouched; Alex was added once.
  expect((await directory.members(prodAdmin)).sort()).toEqual([alex.objectId, lynne.objectId].sort());
  expect(await directory.membershipCalls(prodAdmin)).toEqual(['POST 204']);
  expect(playground.failedActivities()).toEqual([]);
});
