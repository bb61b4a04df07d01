import { startHarness, type Harness } from '../helpers/harness';
import { users } from '../helpers/teams-client';

describe('HTTP surface', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers health and readiness probes', async () => {
    expect(await (await fetch(`${h.bot.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${h.bot.url}/readyz`)).status).toBe(200);
  });

  it('exposes Prometheus metrics read from the store', async () => {
    await h.teams.say(users.alex, 'request db-read for 1h because metrics');
    await h.bot.settled();
    const body = await (await fetch(`${h.bot.url}/metrics`)).text();
    expect(body).toMatch(/timebox_requests_open\{status="pending"\} 1/);
    expect(body).toMatch(/timebox_activities_total\{type="message",status="200"\} 1/);
    expect(body).toMatch(/timebox_overdue_grants 0/);
  });

  it('answers malformed JSON with 400 and no stack trace', async () => {
    const res = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type": "message", ',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('refuses bodies over 256 KB before parsing them', async () => {
    const res = await fetch(`${h.bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(300_000) }),
    });
    expect(res.status).toBe(413);
  });
});
