import { describeTransition } from '../../src/adapters/http/instrument';
import type { AccessRequest, RequestEvent } from '../../src/domain/request';
import { startHarness, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  event?: string;
  status?: string;
  group?: string;
  actor?: string;
}

// The dev terminal shows one short line per transition (issue 15); production log consumers
// keep the fields they had. Through the real pino logger, into a buffer.
describe('the transition log line', () => {
  let h: Harness;
  let written = '';
  const logs = (): LogLine[] =>
    written
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  const linesOf = (id: string) => logs().filter((l) => l.requestId === id);

  beforeEach(async () => {
    written = '';
    h = await startHarness({
      env: { LOG_LEVEL: 'info' },
      overrides: { logger: undefined, logDestination: { write: (chunk: string) => void (written += chunk) } },
    });
  });
  afterEach(async () => {
    await h.close();
  });

  it('reads as a sentence for each step of a 2-of-2 grant and its release, with the old fields kept', async () => {
    const request = await h.ask(users.alex, 'request prod-admin for 30m because INC-123 rotate the keys');
    await h.clickOnCard(users.megan, 'approve', request);
    await h.clickOnCard(users.adele, 'approve', request);
    const granted = await waitFor(async () => {
      const stored = await h.bot.store.get(request.id);
      return stored?.status === 'active' ? stored : undefined;
    }, 'active');
    await h.teams.say(users.alex, `release prod-admin`);
    await waitFor(() => linesOf(request.id).find((l) => l.event === 'member_removed'), 'removal logged');

    const until = new Date(granted.expiresAt!).toISOString().slice(11, 16);
    const messages = linesOf(request.id).map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining([
        `${request.id} pending: Alex Wilber asks for prod-admin for 30m`,
        `${request.id} pending: approved by Megan Bowen (1 of 2)`,
        `${request.id} pending → approved by Adele Vance`,
        `${request.id} active: added Alex Wilber to prod-admin until ${until} UTC`,
        `${request.id} active → released by Alex Wilber`,
        `${request.id} released: removed Alex Wilber from prod-admin`,
      ]),
    );
    // One info line per event, in order, and none of them carries the justification.
    const approved = linesOf(request.id).find((l) => l.event === 'approved')!;
    expect(approved).toMatchObject({
      level: 30,
      requestId: request.id,
      status: expect.any(String),
      group: 'prod-admin',
      actor: users.adele.aadObjectId,
    });
    expect(messages.indexOf(`${request.id} pending → approved by Adele Vance`)).toBeLessThan(
      messages.findIndex((m) => m.includes('active: added')),
    );
    expect(written).not.toContain('rotate the keys');
  });
});

describe('describeTransition', () => {
  const request = {
    id: 'R-4F2K',
    group: { alias: 'db-read', id: 'g', displayName: 'DB' },
    requester: { id: 'a1', name: 'Alex Wilber' },
    durationMs: 3_600_000,
    status: 'active',
    grantedAt: Date.UTC(2026, 0, 1, 13, 5),
    expiresAt: Date.UTC(2026, 0, 1, 14, 5),
  } as unknown as AccessRequest;
  const event = (e: Partial<RequestEvent>): RequestEvent => ({
    requestId: 'R-4F2K',
    at: 0,
    type: 'warned',
    ...e,
  });

  it('cannot be made to forge a second log line by a display name', () => {
    const line = describeTransition(
      request,
      event({ type: 'revoked', actor: { id: 'p1', name: 'Patti\n{"level":30,"msg":"fake"}\u202e' } }),
    );
    expect(line).toBe('R-4F2K active → revoked by Patti {"level":30,"msg":"fake"}');
    expect(line).not.toMatch(/[\n\r\u202e]/);
  });

  it('names the actor by id when the name is empty, and prints only a well-formed failure code', () => {
    const failed = { ...request, status: 'failed', grantedAt: undefined } as AccessRequest;
    expect(describeTransition(failed, event({ type: 'failed', detail: { code: 'GRAPH_FORBIDDEN' } }))).toBe(
      'R-4F2K approved → failed (GRAPH_FORBIDDEN)',
    );
    expect(describeTransition(failed, event({ type: 'failed', detail: { code: 'x\ny z' } }))).toBe(
      'R-4F2K approved → failed',
    );
    expect(
      describeTransition(request, event({ type: 'extension_requested', actor: { id: 'a1', name: ' ' } })),
    ).toBe('R-4F2K active: extension requested by a1');
    expect(
      describeTransition(request, event({ type: 'extended', actor: { id: 'm', name: 'Megan Bowen' } })),
    ).toBe('R-4F2K active: extended by Megan Bowen until 14:05 UTC');
  });
});
