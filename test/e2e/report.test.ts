import { DEMO, Evidence, devAs, requestIdIn, useE2E } from './harness';

// Issue 18: the insights report card in the browser. A little history is made through the bot
// first (sandbox: one approved, one denied; db-read: one approved), then Patti Fernandez (the
// admin of examples/demo.policy.yaml) asks for `report` and `report sandbox since 7d` from her
// chat with the bot, and the card's figures are those of that history. Alex (no admin) is
// refused. Screenshots: test-results/e2e/report/.
const e2e = useE2E();
const { sandbox, dbRead } = DEMO.groups;
const { alex, patti } = DEMO.users;

const as = devAs(e2e);

/** A row of the figures table: its cells' texts, for the row whose first cell is `name`. */
const ROW = (name: string, cells: (string | number)[]): RegExp =>
  new RegExp(`(^|\\n)${name}\\s+${cells.map(String).join('\\s+')}(\\s|$)`);

/** Alex asks for `group` from his chat; the approval card in the channel, and the request id. */
async function ask(text: string, why: string) {
  const { playground } = e2e;
  await playground.openPersonalChat();
  await playground.sendMessage(`${text} because ${why}`);
  const receipt = await playground.waitForCardWithText(why);
  await receipt.waitForText('Waiting for approval');
  const id = requestIdIn(await receipt.text());
  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText(why);
  await card.waitForText('Waiting for approval');
  return { id, card };
}

test('report: after two sandbox requests (approved, denied) and one db-read (approved), Patti’s report card has those figures; Alex is refused', async () => {
  const { playground, directory } = e2e;
  const shots = new Evidence(playground, 'report');

  // History. 1: sandbox, approved by Alex (self-approval is allowed on the demo's sandbox), released.
  const first = await ask('request sandbox for 20m', 'report history: approved sandbox');
  expect((await playground.clickCardButton(first.card, 'Approve'))?.status).toBe(200);
  await directory.waitForMembership(sandbox, alex.objectId, true);
  await first.card.waitForText('Active');
  await playground.openPersonalChat();
  await playground.sendMessage('release sandbox');
  await directory.waitForMembership(sandbox, alex.objectId, false);

  // 2: sandbox again, denied.
  const second = await ask('request sandbox for 20m', 'report history: denied sandbox');
  expect((await as('alex', 'deny', second.id, 'not during the report test')).status).toBe(200);
  await second.card.waitForText('Denied');

  // 3: db-read, approved by Megan (an SRE approver).
  const third = await ask('request db-read for 1h', 'report history: approved db-read');
  expect((await as('megan', 'approve', third.id)).status).toBe(200);
  await directory.waitForMembership(dbRead, alex.objectId, true);
  await third.card.waitForText('Active');

  // Patti (admin) asks for the report in her chat with the bot.
  await playground.openPersonalChat();
  await playground.sendActivityAs(patti.teamsId, { type: 'message', text: 'report' });
  const report = await playground.waitForCardWithText('Approvals, last 30d');
  const text = await report.text();
  expect(text).toMatch(/TIMEBOX · REPORT/i);
  expect(text).toMatch(/ – \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC · 3 request\(s\)/);
  // Group | Asked | Approved / denied | Timed out (the times are a second table)
  expect(text).toMatch(ROW('db-read', [1, '1 / 0', 0]));
  expect(text).toMatch(ROW('sandbox', [2, '1 / 1', 0]));
  expect(text).toMatch(ROW('All groups', [3, '2 / 1', 0]));
  expect(text).toContain('Decision median / p90');
  expect(text).toContain('timebox report --since 30d --format');
  expect(text).toContain('SUGGESTIONS');
  await shots.capture('report-overall', { focus: report.message() });

  // One group, a shorter period.
  await playground.sendActivityAs(patti.teamsId, { type: 'message', text: 'report sandbox since 7d' });
  const scoped = await playground.waitForCardWithText('Approvals, sandbox, last 7d');
  const scopedText = await scoped.text();
  expect(scopedText).toMatch(/ · 2 request\(s\)/);
  expect(scopedText).toMatch(ROW('sandbox', [2, '1 / 1', 0]));
  expect(scopedText).toContain('timebox report --since 7d --group sandbox --format');
  expect(scopedText).not.toContain('db-read');
  expect(scopedText).not.toContain('All groups');
  await shots.capture('report-sandbox-7d', { focus: scoped.message() });

  // Alex is no admin: refused, and no report card.
  const cards = playground.page.locator('.ac-preview-panel > .ac-adaptiveCard', { hasText: 'Approvals, ' });
  const before = await cards.count();
  await playground.sendMessage('report');
  await playground.waitForBotMessage('Only Timebox admins can see the report.');
  await shots.capture('report-refused', {
    focus: playground.chatMessage('Only Timebox admins can see the report.'),
  });
  expect(await cards.count()).toBe(before);
  expect(playground.failedActivities()).toEqual([]);
}, 150_000);
