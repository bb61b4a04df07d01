import { DEMO, useE2E } from './harness';

// The whole chain once: local directory + bot (local mode) + Agents Playground + Chromium.
const e2e = useE2E({ label: 'playground-smoke' });

test('the bot answers "help" in the personal chat', async () => {
  const { playground } = e2e;
  await playground.openPersonalChat();
  await playground.sendMessage('help');

  const reply = await playground.waitForBotMessage(/request/i);
  expect(await reply.innerText()).toMatch(/request/i);
  await playground.screenshot('smoke-help');
});

test('the local directory starts from the demo seed', async () => {
  expect(await e2e.directory.members(DEMO.groups.sandbox)).toEqual([]);
  expect(await e2e.directory.members(DEMO.groups.sre)).toEqual([
    DEMO.users.megan.objectId,
    DEMO.users.adele.objectId,
  ]);
});
