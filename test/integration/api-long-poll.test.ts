import { startApiHarness, TEST_OPS_APP, type ApiHarness } from '../helpers/api-harness';
import { users } from '../helpers/teams-client';

/** `GET /api/v1/requests/{id}?wait=N`: holds while pending, answers at once on a change. */

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(async () => {
  await h.close();
});

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await p;
  return { value, ms: Date.now() - started };
}

async function pending(justification: string): Promise<string> {
  const filed = await h.file({ target: 'deploy-prod', justification });
  expect(filed.status).toBe(201);
  return filed.body.id!;
}
const cancel = (id: string) => h.call(`/api/v1/requests/${id}/cancel`, { method: 'POST' });

describe('long-poll', () => {
  it.each(['61', '-1', 'abc', '1.5', '', '1e1', '0x10', '999999999999', ' 5'])(
    '?wait=%s → 400 query.wait_invalid',
    async (wait) => {
      const res = await h.call(`/api/v1/requests/R-ZZZZZZ?wait=${encodeURIComponent(wait)}`);
      expect([res.status, res.body.code]).toEqual([400, 'query.wait_invalid']);
    },
  );

  it('?wait given twice → 400, not a guess', async () => {
    const res = await h.call('/api/v1/requests/R-ZZZZZZ?wait=1&wait=2');
    expect([res.status, res.body.code]).toEqual([400, 'query.wait_invalid']);
  });

  it('a request that is not pending is answered at once, whatever the wait', async () => {
    const id = await pending('answered at once');
    await cancel(id);
    const { value, ms } = await timed(h.call(`/api/v1/requests/${id}?wait=60`));
    expect(value.body.status).toBe('cancelled');
    expect(ms).toBeLessThan(1000);
  });

  it('a pending request with nothing happening: answered pending after N seconds', async () => {
    const id = await pending('nobody decides');
    const { value, ms } = await timed(h.call(`/api/v1/requests/${id}?wait=2`));
    expect(value).toMatchObject({ status: 200, body: { status: 'pending' } });
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(4000);
    const { ms: noWait } = await timed(h.call(`/api/v1/requests/${id}?wait=0`));
    expect(noWait).toBeLessThan(1000);
    await cancel(id);
  });

  it('answers at once when approvers deny on the card', async () => {
    const id = await pending('to be denied');
    const request = await h.posted(id);
    const waiting = timed(h.call(`/api/v1/requests/${id}?wait=30`));
    await new Promise((r) => setTimeout(r, 200));
    await h.clickOnCard(users.adele, 'deny', request, {
      subject: 'request',
      reason: 'not during the freeze',
    });
    const { value, ms } = await waiting;
    expect(value.body).toMatchObject({ status: 'denied', decidedBy: [{ id: users.adele.aadObjectId }] });
    expect(value.body.approvalToken).toBeUndefined();
    expect(ms).toBeLessThan(3000);
  });

  it('answers at once when the request is cancelled by another call: woken by the commit, not the 1 s poll', async () => {
    const id = await pending('to be cancelled while waited on');
    const waiting = h.call(`/api/v1/requests/${id}?wait=30`);
    await new Promise((r) => setTimeout(r, 200));
    const cancelled = Date.now();
    await cancel(id);
    const value = await waiting;
    expect(value.body.status).toBe('cancelled');
    // The poll would only look ~1 s after the wait began, ~0.8 s from here.
    expect(Date.now() - cancelled).toBeLessThan(600);
  });

  it('a vote below the threshold keeps it pending: the wait goes on, the answer shows the vote', async () => {
    const ops = await h.token(TEST_OPS_APP);
    const filed = await h.file(
      { target: 'prod-admin', justification: 'hotfix', ticket: 'INC-42', onBehalfOf: 'lynner@example.com' },
      {},
      ops,
    );
    expect(filed).toMatchObject({ status: 201, body: { approvals: { needed: 2 } } });
    const request = await h.posted(filed.body.id!);
    const waiting = timed(h.call(`/api/v1/requests/${request.id}?wait=2`, { token: ops }));
    await new Promise((r) => setTimeout(r, 200));
    await h.clickOnCard(users.megan, 'approve', request, { subject: 'request' });
    const { value, ms } = await waiting;
    expect(value.body).toMatchObject({
      status: 'pending',
      approvals: { needed: 2, by: [{ id: users.megan.aadObjectId }] },
    });
    expect(ms).toBeGreaterThanOrEqual(1900);
    await h.call(`/api/v1/requests/${request.id}/cancel`, { method: 'POST', token: ops });
  });

  it('a caller that hangs up mid-wait leaves the server answering as before', async () => {
    const id = await pending('caller goes away');
    const controller = new AbortController();
    const token = await h.token();
    const gone = fetch(`${h.bot.url}/api/v1/requests/${id}?wait=30`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    }).catch((error: Error) => error.name);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    expect(await gone).toBe('AbortError');
    await cancel(id);
    expect((await h.call(`/api/v1/requests/${id}`)).body.status).toBe('cancelled');
  });
});
