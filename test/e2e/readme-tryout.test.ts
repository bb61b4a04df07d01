import { DEMO, Evidence, ReadmeTryout, runNpmCommand, useE2E, type Card } from './harness';

// The README's "Try it locally", step by step, as a newcomer does it: the commands are read
// from the README, typed into the playground's chat box or run as `npm run dev:as -- …` in a
// "second terminal", with the request id read off Alex's receipt; after each step the test
// checks what the README says the reader will see. Its pictures are the README's.
const e2e = useE2E();
const readme = ReadmeTryout.read();
const { sandbox, prodAdmin } = DEMO.groups;
const { alex, lynne } = DEMO.users;

/** The request id on a receipt, as a reader reads it: the visible "R-…" of the card. */
async function requestIdOn(receipt: Card): Promise<string> {
  const id = /\bR-[A-Z0-9]{6}\b/.exec(await receipt.text())?.[0];
  if (!id) throw new Error(`the receipt shows no request id:\n${await receipt.text()}`);
  return id;
}

/** A `npm run dev:as -- …` line of the README with its placeholder replaced, run in a second terminal. */
async function devAs(commandLine: string, requestId: string): Promise<string> {
  expect(commandLine).toContain('R-XXXXXX');
  const run = await runNpmCommand(commandLine.replace('R-XXXXXX', requestId), {
    // `npm run dev` uses .dev/data and port 56150; the test's stack has its own.
    TIMEBOX_DATA_DIR: e2e.stack.dataDir,
    TIMEBOX_PLAYGROUND_PORT: new URL(e2e.stack.playgroundUrl).port,
  });
  if (run.code !== 0) throw new Error(`${commandLine} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

test('sandbox: request in chat, Approve on the channel card, added, Active, removed when the time is up', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'readme-tryout-sandbox');
  const request = readme.command('request sandbox');
  const [, duration, why] = /^request sandbox for (\S+) because (.+)$/.exec(request) ?? [];
  expect(duration).toBeDefined();

  // "Open the playground URL and type in the personal chat"
  await playground.openPersonalChat();
  await playground.sendMessage(request);
  const receipt = await playground.waitForCardWithText(why!);
  await receipt.waitForText('Waiting for approval');
  await requestIdOn(receipt);
  await shots.capture('receipt-pending', { focus: receipt.message(), docs: 'personal-receipt-pending' });

  // "Switch to the ops-approvals channel, click Approve on the card"
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why!);
  await card.waitForText('Waiting for approval · needs 1 approval');
  expect(await card.text()).toContain('ACCESS REQUEST · sandbox');
  expect(await card.text()).toContain(duration);
  await shots.capture('channel-pending', { focus: card.thread(), docs: 'channel-approval-pending' });
  await shots.capture('channel-pending-page', { docs: 'playground-channel' });
  const answer = await playground.clickCardButton(card, 'Approve');
  expect(answer?.status).toBe(200);

  // "Alex is added to the group in the local directory, the card turns Active"
  await directory.waitForMembership(sandbox, alex.objectId, true);
  await card.waitForText('Active');
  expect(await card.text()).toContain('Approved by Alex Wilber');
  await card.thread().getByText('Access granted').waitFor();
  await shots.capture('channel-active', { focus: card.thread(), docs: 'channel-approval-active' });
  const addedAt = Date.now();

  // "(A minute before the end, Alex's chat warns him, with Extend and Release now; …)"
  const requestId = await requestIdOn(card);
  await playground.openPersonalChat();
  const warning = await playground.waitForCardWithText('Access ends soon', 90_000);
  await expect(warning.button('Extend').isVisible()).resolves.toBe(true);
  await expect(warning.button('Release now').isVisible()).resolves.toBe(true);
  await shots.capture('personal-warning', { focus: warning.message() });

  // "and <duration> later Timebox removes him, updates the card, replies in the thread and
  // tells Alex in chat. (… when the time is up, that warning reads Access ended.)"
  await directory.waitForMembership(sandbox, alex.objectId, false, 180_000);
  const removedAfterSeconds = (Date.now() - addedAt) / 1000;
  await warning.waitForText('Access ended');
  expect(await warning.text()).toContain('There is nothing to extend or release any more.');
  await expect(warning.button('Extend').count()).resolves.toBe(0);
  await expect(warning.button('Release now').count()).resolves.toBe(0);
  const notice = await playground.waitForCardWithText('Access expired');
  expect(await notice.text()).toMatch(/Your access to Sandbox \(demo\) expired — membership removed at/);
  const granted = await playground.waitForCardWithText('Access granted');
  await shots.capture('personal-expired', {
    focus: [granted.message(), warning.message(), notice.message()],
    docs: 'personal-expired-notice',
  });
  await playground.openChannel(DEMO.approverChannel);
  const expired = await playground.waitForCardWithText(`Request ${requestId}`);
  await expired.waitForText('Expired — access removed');
  await expired.thread().getByText('Access expired').waitFor();
  expect(await expired.thread().innerText()).toMatch(
    /Alex Wilber’s access to Sandbox \(demo\) expired — membership removed at/,
  );
  await shots.capture('channel-expired', { focus: expired.thread(), docs: 'channel-expired-thread' });
  expect(await directory.membershipCalls(sandbox)).toEqual(['POST 204', 'DELETE 204']);
  // The README names the duration the reader waits: the removal comes on time, not a minute late.
  const seconds = Number(/^(\d+)m$/.exec(duration!)?.[1] ?? NaN) * 60;
  expect(removedAfterSeconds).toBeGreaterThan(seconds - 5);
  expect(removedAfterSeconds).toBeLessThan(seconds + 10);
  expect(playground.failedActivities()).toEqual([]);
}, 240_000);

// The prod-admin request both remaining steps work on.
let prodAdminId: string | undefined;

test('prod-admin: denied by Megan with a reason, or approved 2 of 2 by Megan and Adele with dev:as', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'readme-tryout-prod-admin');
  const request = readme.command('request prod-admin');
  const why = /because (.+)$/.exec(request)?.[1];
  expect(why).toMatch(/^INC-123 /);

  // "or, to refuse it, npm run dev:as -- megan deny R-XXXXXX not during the freeze"
  await playground.openPersonalChat();
  await playground.sendMessage(request);
  const refusedReceipt = await playground.waitForCardWithText(why!);
  await refusedReceipt.waitForText('needs 2 approvals');
  const deny = readme.command('npm run dev:as -- megan deny');
  const reason = /R-XXXXXX (.+)$/.exec(deny)?.[1];
  expect(reason).toBeDefined();
  const denied = await devAs(deny, await requestIdOn(refusedReceipt));
  expect(denied).toContain('Denied');
  await refusedReceipt.waitForText('Denied');
  expect(await refusedReceipt.text()).toContain(reason);
  expect(await directory.members(prodAdmin)).toEqual([lynne.objectId]);
  await shots.capture('denied-receipt', { focus: refusedReceipt.message() });

  // The same request again, approved: "request prod-admin for 30m because INC-123 …  (in the playground, as Alex)"
  await playground.sendMessage(request);
  // The denied receipt above no longer waits: the one that does is the new request's.
  const receipt = await playground.waitForCardWithText('Waiting for approval · needs 2 approvals');
  expect(await receipt.text()).toContain(why);
  prodAdminId = await requestIdOn(receipt);
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(`Request ${prodAdminId}`);
  await card.waitForText('0 of 2');

  // "npm run dev:as -- megan approve R-XXXXXX   (second terminal: 1 of 2)": it prints the
  // card the bot answers with, and the page follows.
  const megans = await devAs(readme.command('npm run dev:as -- megan approve'), prodAdminId);
  expect(megans).toContain('1 of 2');
  await card.waitForText('1 of 2');
  expect(await directory.members(prodAdmin)).not.toContain(alex.objectId);
  await shots.capture('one-of-two', { focus: card.thread(), docs: 'channel-one-of-two' });

  // "npm run dev:as -- adele approve R-XXXXXX   (2 of 2: Alex is added)"
  const adeles = await devAs(readme.command('npm run dev:as -- adele approve'), prodAdminId);
  expect(adeles).toContain('2 of 2');
  expect(adeles).toContain('Approved by Adele Vance');
  await directory.waitForMembership(prodAdmin, alex.objectId, true);
  await card.waitForText('Active');
  expect(await card.text()).toContain('Megan Bowen');
  expect(await card.text()).toContain('Adele Vance');
  await card.thread().getByText('Access granted').waitFor();
  await shots.capture('two-of-two', { focus: card.thread(), docs: 'channel-two-of-two' });
  expect(playground.failedActivities()).toEqual([]);
});

test('prod-admin extension: "extend prod-admin by 30m because …", approved by the same two commands', async () => {
  const { playground } = e2e;
  expect(prodAdminId).toBeDefined();
  const shots = new Evidence(playground, 'readme-tryout-extension');
  // The README leaves the reason to the reader ("because …").
  const extend = readme.command('extend prod-admin by');
  expect(extend).toMatch(/^extend prod-admin by 30m because …$/);

  await playground.openPersonalChat();
  await playground.sendMessage(extend.replace('…', 'the key rotation takes longer than planned'));
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(`Request ${prodAdminId!}`);
  await card.waitForText('extension of 30m requested · 0 of 2 approvals');

  const megans = await devAs(readme.command('npm run dev:as -- megan approve'), prodAdminId!);
  expect(megans).toContain('1 of 2');
  await card.waitForText('extension of 30m requested · 1 of 2 approvals');
  await devAs(readme.command('npm run dev:as -- adele approve'), prodAdminId!);
  await card.thread().getByText('Access extended').waitFor();
  await card.waitForText('30m (+30m extended)');
  expect(await card.thread().innerText()).toContain(
    'Extended by 30m, asked by Alex Wilber, approved by Megan Bowen and Adele Vance.',
  );
  expect(await card.text()).toContain(
    'Extended by 30m · asked by Alex Wilber, approved by Megan Bowen and Adele Vance · ',
  );
  expect(await e2e.directory.members(prodAdmin)).toContain(alex.objectId);
  await shots.capture('extension-approved', { focus: card.thread(), docs: 'channel-extension-approved' });
  expect(playground.failedActivities()).toEqual([]);
});
