import { startEchoBot, startStack, teamsFor, userOf } from './lib';
async function main() {
  const stack = await startStack({ users: 5, groups: 1 });
  const echo = await startEchoBot();
  const teams = teamsFor(echo, stack.sink);
  for (let round = 0; round < 3; round++) {
    const t = performance.now(); let n = 0;
    await Promise.all(Array.from({ length: 16 }, async () => { while (performance.now() - t < 3000) { const r = await teams.say(userOf(n++), 'hello'); await r.text(); } }));
    console.log('echo/s', (n / ((performance.now() - t) / 1000)).toFixed(0));
  }
  const cpu0 = process.cpuUsage();
  console.log('bench process cpu', process.cpuUsage(cpu0));
  await echo.stop(); await stack.close();
}
void main();
