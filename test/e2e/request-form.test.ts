import { DEMO, Evidence, useE2E } from './harness';

// Scenario 2 (issue 6): `request` alone answers with the form card; the person fills it by
// clicking and typing, submits, and the request goes the usual way.
const e2e = useE2E();
const { sandbox } = DEMO.groups;
const alex = DEMO.users.alex.objectId;

test('request form → fill by clicking and typing → submit → approve → member added', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'request-form');
  const why = 'Checking the sandbox set-up before the workshop';

  await playground.openPersonalChat();
  await playground.sendMessage('request');
  const form = await playground.waitForCardWithText('Time-boxed membership of a group');
  const blank = await form.text();
  expect(blank).toContain('Time-boxed membership of a group');
  expect(blank).toContain('GROUP RULES');
  // Every group of the demo policy is offered to Alex (no eligibility limits there), with its rules.
  expect(blank).toContain('Sandbox (demo) — up to 1h · 1 approval');
  expect(blank).toContain('Production DB (read) — up to 4h · 1 approval');
  expect(blank).toMatch(/Production admin — up to 2h · 2 approvals · ticket required/);
  await shots.capture('form-blank', { focus: form.message(), docs: 'request-form' });

  await playground.fillCardInput(form, 'Group', 'sandbox');
  await playground.fillCardInput(form, 'For how long', '15m');
  await playground.fillCardInput(form, 'Justification', why, { typing: true });
  expect(await form.locator.getByRole('combobox', { name: /Group/ }).inputValue()).toBe(
    'Sandbox (demo) (sandbox)',
  );
  expect(await form.locator.getByRole('combobox', { name: /For how long/ }).inputValue()).toBe('15m');
  await shots.capture('form-filled', { focus: form.message(), docs: 'request-form-filled' });

  // Submitting turns the form into a confirmation; the receipt follows as its own message, the
  // one the bot keeps up to date (a receipt in place of the form would never change).
  const answer = await playground.clickCardButton(form, 'Submit request');
  expect(answer?.status).toBe(200);
  await form.waitForText(/Sent R-\w+ for sandbox \(15m\) to the approvers/);
  expect(await form.text()).not.toContain('REQUEST ACCESS');
  const receipt = await playground.waitForCardWithText('YOUR ACCESS REQUEST · sandbox');
  await receipt.waitForText('Waiting for approval · needs 1 approval');
  expect(await receipt.text()).toContain('15m');
  expect(await receipt.text()).toContain(why);
  await shots.capture('form-submitted', {
    focus: [form.message(), receipt.message()],
    docs: 'request-form-submitted',
  });
  expect(await directory.members(sandbox)).toEqual([]);

  // The request reached the approvers' channel like a typed one.
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Waiting for approval');
  expect(await card.text()).toContain('15m');
  await shots.capture('channel-pending', { focus: card.thread() });
  await playground.clickCardButton(card, 'Approve');
  await directory.waitForMembership(sandbox, alex, true);
  await card.waitForText('Active');
  await shots.capture('channel-active', { focus: card.thread() });

  // The receipt in personal chat followed: it shows the grant and offers Extend and Release.
  // It is the only card that shows a status: nothing in the chat still says "Waiting".
  await playground.openPersonalChat();
  const live = await playground.waitForCardWithText(why);
  await live.waitForText('Active');
  await playground.waitForCardWithText('Access granted');
  const cards = await playground.page.locator('.ac-preview-panel > .ac-adaptiveCard').allInnerTexts();
  expect(cards.filter((text) => text.includes('YOUR ACCESS REQUEST'))).toHaveLength(1);
  expect(cards.filter((text) => text.includes('Waiting for approval'))).toEqual([]);
  await expect(live.button('Release now').isVisible()).resolves.toBe(true);
  await shots.capture('receipt-active', { focus: live.message(), docs: 'personal-receipt-active' });

  expect(await directory.members(sandbox)).toEqual([alex]);
  expect(await directory.membershipCalls(sandbox)).toEqual(['POST 204']);
  expect(playground.failedActivities()).toEqual([]);
}, 120_000);
