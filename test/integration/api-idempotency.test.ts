import { randomUUID } from 'node:crypto';
import { idempotentRequestId } from '../../src/adapters/api/idempotency';
import { startApiHarness, TEST_OPS_APP, type ApiHarness } from '../helpers/api-harness';
import { TEST_PIPELINE_APP } from '../helpers/local-issuer';
import { TENANT, users } from '../helpers/teams-client';

/** Issue 16: "a retried POST files once" — Idempotency-Key, over HTTP on the real bot. */

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(async () => {
  await h.close();
});

const key = () => ({ 'Idempotency-Key': randomUUID() });
const filedByPipeline = async () =>
  (await h.bot.store.listOpen()).filter((r) => r.client?.appId === TEST_PIPELINE_APP);
const cancel = (id: string, token?: string) =>
  h.call(`/api/v1/requests/${id}/cancel`, { method: 'POST', ...(token ? { token } : {}) });

describe('Idempotency-Key', () => {
  it('a retry with the same key and body answers the request the first call filed, and files nothing', async () => {
    const k = key();
    const body = { target: 'deploy-prod', duration: '10m', justification: 'release 7' };
    const first = await h.file(body, k);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same ask, spelled differently: keys in another order, the duration in ISO 8601.
    const retry = await h.file({ justification: 'release 7', duration: 'PT10M', target: 'deploy-prod' }, k);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await filedByPipeline()).map((r) => r.id)).toEqual([first.body.id]);

    // Later retries show the request as it is now (decided, with its token).
    const request = await h.posted(first.body.id!);
    await h.clickOnCard(users.megan, 'approve', request, { subject: 'request' });
    const later = await h.file(body, k);
    expect(later).toMatchObject({ status: 200, body: { id: first.body.id, status: 'approved' } });
    expect(later.body.approvalToken).toEqual(expect.any(String));
    await h.call(`/api/v1/requests/${first.body.id}/release`, { method: 'POST' });
  });

  it('the same key with another body → 422 idempotency.key_reused naming the request; nothing filed', async () => {
    const k = key();
    const first = await h.file({ target: 'deploy-prod', justification: 'release 8' }, k);
    const other = await h.file({ target: 'deploy-prod', justification: 'release 9' }, k);
    expect([other.status, other.body.code, other.body.requestId]).toEqual([
      422,
      'idempotency.key_reused',
      first.body.id,
    ]);
    expect(other.type).toMatch(/^application\/problem\+json/);
    expect((await filedByPipeline()).length).toBe(1);
    await cancel(first.body.id!);
  });

  it('concurrent POSTs with one key: one files, every other answers that same request', async () => {
    const k = key();
    const body = { target: 'deploy-prod', justification: 'release 10, retried hard' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.file(body, k)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length).toBe(7);
    expect((await filedByPipeline()).length).toBe(1);
    await cancel(answers[0]!.body.id!);
  });

  it('a key is the client’s own: another client using it files its own request', async () => {
    const k = key();
    const body = { target: 'deploy-prod', justification: 'same key, two pipelines' };
    const mine = await h.file(body, k);
    const theirs = await h.file(body, k, await h.token(TEST_OPS_APP));
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.body.id).not.toBe(mine.body.id);
    await cancel(mine.body.id!);
    await cancel(theirs.body.id!, await h.token(TEST_OPS_APP));
  });

  it('an unrelated request at the key’s id (chance) is skipped: the next derived id is used', async () => {
    const k = randomUUID();
    const taken = idempotentRequestId(TEST_PIPELINE_APP, k, 0);
    const chat = await h.bot.service.submit({
      id: taken,
      requester: { id: users.patti.aadObjectId, name: users.patti.name, upn: 'patti@example.com' },
      tenantId: TENANT,
      group: 'sandbox',
      durationMs: 3_600_000,
      justification: 'a chat request that happens to have that id',
    });
    expect(chat.request.id).toBe(taken);
    const filed = await h.file(
      { target: 'deploy-prod', justification: 'release 11' },
      { 'Idempotency-Key': k },
    );
    expect(filed.status).toBe(201);
    expect(filed.body.id).toBe(idempotentRequestId(TEST_PIPELINE_APP, k, 1));
    const retry = await h.file(
      { target: 'deploy-prod', justification: 'release 11' },
      { 'Idempotency-Key': k },
    );
    expect([retry.status, retry.body.id]).toEqual([200, filed.body.id]);
    await cancel(filed.body.id!);
  });

  it('without the header every POST files a new request', async () => {
    const body = { target: 'deploy-prod', justification: 'no key' };
    const first = await h.file(body);
    await cancel(first.body.id!);
    const second = await h.file(body);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).not.toBe(first.body.id);
    await cancel(second.body.id!);
  });

  it.each([
    ['empty', ''],
    ['longer than 200', 'k'.repeat(201)],
    ['not ASCII (latin-1 bytes)', 'cl\u00e9'],
  ])('a key that is %s → 400 idempotency.key_invalid, nothing filed', async (_what, value) => {
    const res = await h.file({ target: 'deploy-prod', justification: 'x' }, { 'Idempotency-Key': value });
    expect([res.status, res.body.code]).toEqual([400, 'idempotency.key_invalid']);
    expect((await filedByPipeline()).length).toBe(0);
  });
});
