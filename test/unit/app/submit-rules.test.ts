import { DomainError } from '../../../src/domain/errors';
import { DIR } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, refusal, startRig, type Rig } from './rig';

describe('who may ask, and what an ask must carry', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('eligible limits who may request: named users (UPN, any case) and group members; others are told whom to ask', async () => {
    // billing: eligible = Lynne by UPN, or the SRE group (Megan, Adele).
    expect(
      (await rig.service.submit({ requester: people.lynne, group: 'billing', durationMs: HOUR })).outcome,
    ).toBe('created');
    expect(
      (await rig.service.submit({ requester: people.adele, group: 'billing', durationMs: HOUR })).outcome,
    ).toBe('created');
    const alex = await refusal(
      rig.service.submit({ requester: people.alex, group: 'billing', durationMs: HOUR }),
    );
    expect(alex).toMatchObject({
      code: 'AUTH.NOT_ELIGIBLE',
      message: expect.stringMatching(/not eligible to request billing\. Ask an admin/),
    });
    // Absent `eligible` means anyone.
    expect(
      (
        await rig.service.submit({
          requester: people.alex,
          group: 'sandbox',
          durationMs: HOUR,
          justification: 'x',
        })
      ).outcome,
    ).toBe('created');
    expect((await rig.service.requestableGroups(people.alex)).map((g) => g.alias)).not.toContain('billing');
  });

  it('requireJustification: a reason is needed, and the message shows the right form', async () => {
    const missing = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'db-read',
        durationMs: HOUR,
        justification: '   ',
      }),
    );
    expect(missing).toMatchObject({
      code: 'JUSTIFICATION.REQUIRED',
      message: 'db-read needs a reason. Add one: request db-read for 1h because <why you need it>.',
    });
    // billing does not require one.
    expect(
      (await rig.service.submit({ requester: people.lynne, group: 'billing', durationMs: HOUR })).request
        .justification,
    ).toBe('');
    const long = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'db-read',
        durationMs: HOUR,
        justification: 'x'.repeat(1001),
      }),
    );
    expect(long.code).toBe('JUSTIFICATION.TOO_LONG');
  });

  it('requireTicket with ticketPattern: a ticket is needed and must match', async () => {
    const base = {
      requester: people.alex,
      group: 'prod-admin',
      durationMs: HOUR,
      justification: 'rotate keys',
    };
    const none = await refusal(rig.service.submit(base));
    expect(none).toMatchObject({
      code: 'TICKET.REQUIRED',
      message: expect.stringMatching(/needs a ticket, like INC-12345: add "ticket INC-12345"/),
    });
    const wrong = await refusal(rig.service.submit({ ...base, ticket: 'JIRA-12' }));
    expect(wrong).toMatchObject({
      code: 'TICKET.INVALID',
      message: expect.stringMatching(/"JIRA-12" is not a valid ticket for prod-admin/),
    });
    const ok = await rig.service.submit({ ...base, ticket: ' INC-42 ' });
    expect(ok.request.ticket).toBe('INC-42');
  });

  it('durations: within maxDuration, longer than zero; the default when none is given', async () => {
    const long = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'db-read',
        durationMs: 5 * HOUR,
        justification: 'x',
      }),
    );
    expect(long).toMatchObject({
      code: 'DURATION.TOO_LONG',
      message: '5h is longer than db-read allows (4h). Ask for 4h or less.',
    });
    const zero = await refusal(
      rig.service.submit({ requester: people.alex, group: 'db-read', durationMs: 0, justification: 'x' }),
    );
    expect(zero.code).toBe('DURATION.INVALID');
    const byDefault = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      justification: 'x',
    });
    expect(byDefault.request.durationMs).toBe(HOUR);
  });

  it('an unknown group lists the groups there are', async () => {
    const unknown = await refusal(
      rig.service.submit({ requester: people.alex, group: 'db-write', durationMs: HOUR, justification: 'x' }),
    );
    expect(unknown).toMatchObject({
      code: 'GROUP.UNKNOWN',
      message: 'There is no group "db-write". Groups you can ask for: sandbox, db-read, prod-admin, billing.',
    });
  });

  it('every refusal of a use case is a DomainError with a stable code and a sentence that says what to do', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
    });
    const refusals = await Promise.all([
      refusal(rig.service.decide(request.id, people.lynne, 'approve')),
      refusal(rig.service.decide(request.id, people.megan, 'deny')),
      refusal(rig.service.cancel(request.id, people.megan)),
      refusal(rig.service.release(request.id, people.alex)),
      refusal(rig.service.revoke(request.id, people.megan, 'x')),
      refusal(rig.service.acknowledge(request.id, people.megan)),
      refusal(rig.service.extend({ requestId: request.id, actor: people.alex, addedMs: HOUR })),
      refusal(rig.service.get('R-NOPE99')),
      refusal(
        rig.service.submit({
          requester: people.alex,
          group: 'db-read',
          durationMs: HOUR,
          justification: 'x',
          breakGlass: true,
        }),
      ),
    ]);
    for (const error of refusals) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error.code).toMatch(/^[A-Z_]+\.[A-Z_]+$/);
      expect(error.message).toMatch(/[.!]$/);
      expect(error.message).not.toMatch(/\bat .*\.ts:\d+/);
    }
    expect(refusals.map((e) => e.code)).toEqual([
      'AUTH.NOT_APPROVER',
      'REASON.REQUIRED',
      'AUTH.NOT_REQUESTER',
      'REQUEST.ILLEGAL_TRANSITION',
      'REQUEST.ILLEGAL_TRANSITION',
      'REQUEST.ILLEGAL_TRANSITION',
      'REQUEST.ILLEGAL_TRANSITION',
      'REQUEST.NOT_FOUND',
      'BREAK_GLASS.NOT_ALLOWED',
    ]);
  });
});

describe('auto-approve (autoApprove.requesterInGroups, autoApprove.maxDuration)', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('grants an on-call member at once, with no human decision; audited and noticed in the channel', async () => {
    const { request } = await rig.service.submit({
      requester: people.isaiah,
      group: 'prod-admin',
      durationMs: 30 * MINUTE,
      justification: 'pager',
      ticket: 'INC-5',
    });
    expect(request).toMatchObject({ kind: 'auto', status: 'approved', votes: [] });
    await rig.settle();
    expect(await rig.get(request.id)).toMatchObject({ status: 'active' });
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.isaiah.id);
    expect(await rig.auditOf(request.id)).toEqual(
      expect.arrayContaining(['submitted', 'auto_approved', 'granted']),
    );
    expect((await rig.audit()).find((r) => r.type === 'auto_approved')).toMatchObject({
      requestId: request.id,
      reason: expect.stringMatching(/auto-approve/),
    });
    expect(await rig.repliesFor(request.id)).toEqual(['auto_approved', 'granted']);
  });

  it('asks the approvers when the duration is over autoApprove.maxDuration, or the person is not in the groups', async () => {
    const long = await rig.service.submit({
      requester: people.isaiah,
      group: 'prod-admin',
      durationMs: 31 * MINUTE,
      justification: 'pager',
      ticket: 'INC-5',
    });
    expect(long.request).toMatchObject({ kind: 'standard', status: 'pending' });
    const notOnCall = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      durationMs: 10 * MINUTE,
      justification: 'x',
      ticket: 'INC-5',
    });
    expect(notOnCall.request).toMatchObject({ kind: 'standard', status: 'pending' });
  });
});

describe('break-glass (breakGlass.maxDuration)', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('grants at once with a loud alert in the channel; an approver acknowledges, audited', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      durationMs: 30 * MINUTE,
      justification: 'prod is down',
      ticket: 'INC-1',
      breakGlass: true,
    });
    expect(request).toMatchObject({ kind: 'break_glass', status: 'approved' });
    await rig.settle();
    expect(await rig.get(request.id)).toMatchObject({ status: 'active' });
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.alex.id);
    expect(await rig.repliesFor(request.id)).toEqual(['break_glass', 'granted']);
    expect((await rig.audit()).find((r) => r.type === 'break_glass')).toMatchObject({
      requestId: request.id,
      reason: 'prod is down',
    });

    expect(await refusal(rig.service.acknowledge(request.id, people.lynne))).toMatchObject({
      code: 'AUTH.NOT_APPROVER',
    });
    const acknowledged = await rig.service.acknowledge(request.id, people.megan);
    expect(acknowledged.acknowledgedBy).toMatchObject({ id: people.megan.id });
    expect(acknowledged.acknowledgedAt).toBe(rig.clock.now());
    expect(await refusal(rig.service.acknowledge(request.id, people.adele))).toMatchObject({
      code: 'REQUEST.ALREADY_RESOLVED',
      message: expect.stringMatching(/Megan Bowen already acknowledged/),
    });
    await rig.settle();
    expect((await rig.audit()).find((r) => r.type === 'acknowledged')).toMatchObject({
      requestId: request.id,
      actor: { id: people.megan.id },
    });
    expect(await rig.repliesFor(request.id)).toEqual(['break_glass', 'granted', 'acknowledged']);
  });

  it('or an approver revokes it', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      durationMs: 30 * MINUTE,
      justification: 'prod is down',
      ticket: 'INC-1',
      breakGlass: true,
    });
    await rig.settle();
    await rig.service.revoke(request.id, people.adele, 'not an emergency');
    await rig.settle();
    expect(rig.directory.members(DIR.groups.prodAdmin)).not.toContain(people.alex.id);
  });

  it('is capped at the group’s break-glass duration, and refused where policy has none', async () => {
    const long = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'prod-admin',
        durationMs: HOUR,
        justification: 'x',
        ticket: 'INC-1',
        breakGlass: true,
      }),
    );
    expect(long).toMatchObject({
      code: 'DURATION.TOO_LONG',
      message: '1h is longer than prod-admin allows (30m for break-glass). Ask for 30m or less.',
    });
    const none = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'db-read',
        durationMs: HOUR,
        justification: 'x',
        breakGlass: true,
      }),
    );
    expect(none).toMatchObject({
      code: 'BREAK_GLASS.NOT_ALLOWED',
      message: expect.stringMatching(/file a normal request instead/),
    });
  });

  it('is not needed by someone who already holds the group', async () => {
    const request = await rig.askFor(people.isaiah, 'prod-admin', 30 * MINUTE, 'pager', { ticket: 'INC-5' });
    const again = await refusal(
      rig.service.submit({
        requester: people.isaiah,
        group: 'prod-admin',
        durationMs: 30 * MINUTE,
        justification: 'x',
        ticket: 'INC-5',
        breakGlass: true,
      }),
    );
    expect(again).toMatchObject({
      code: 'REQUEST.DUPLICATE',
      message: expect.stringContaining(`You already hold prod-admin (request ${request.id}`),
    });
  });
});
