import { DIR } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, refusal, rigPolicy, startRig, type Rig, type PersonKey } from './rig';

describe('extend an active grant', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  /** An active grant of `group` for `who`, approved by `approver`. */
  async function grant(group: string, who: PersonKey, approver: PersonKey, durationMs = HOUR) {
    const active = await rig.grantTo(people[who], group, people[approver], durationMs, 'work');
    expect(active.status).toBe('active');
    return active;
  }

  it('moves the end later at once where policy needs no approval, and says so; expiry follows the new end', async () => {
    rig = await startRig();
    const active = await grant('sandbox', 'alex', 'alex');
    await rig.advance(30 * MINUTE);
    const extended = await rig.service.extend({
      requestId: active.id,
      actor: people.alex,
      addedMs: HOUR,
      reason: 'migration runs long',
    });
    expect(extended).toMatchObject({
      expiresAt: active.expiresAt! + HOUR,
      extensions: [{ addedMs: HOUR, by: { id: people.alex.id }, reason: 'migration runs long' }],
    });
    await rig.settle();
    expect(await rig.repliesFor(active.id)).toEqual(['granted', 'extended']);
    expect(rig.toldTo('alex')).toContain('extended');

    await rig.advance(HOUR); // past the old end
    expect((await rig.get(active.id)).status).toBe('active');
    expect(rig.directory.members(DIR.groups.sandbox)).toContain(people.alex.id);
    await rig.advance(30 * MINUTE - 1000);
    expect((await rig.get(active.id)).status).toBe('active');
    await rig.advance(1000);
    expect((await rig.get(active.id)).status).toBe('expired');
    expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.alex.id);
  });

  it('warns once before the end, and once more before the new end after an extension', async () => {
    rig = await startRig();
    const active = await grant('sandbox', 'alex', 'alex');
    await rig.advance(50 * MINUTE); // expiryWarning is 10m
    expect(rig.toldTo('alex').filter((t) => t === 'expiry_warning')).toHaveLength(1);
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
    await rig.advance(50 * MINUTE);
    expect(rig.toldTo('alex').filter((t) => t === 'expiry_warning')).toHaveLength(1);
    await rig.advance(10 * MINUTE);
    expect(rig.toldTo('alex').filter((t) => t === 'expiry_warning')).toHaveLength(2);
  });

  it('asks the approvers where policy says so (extension.requireApproval); an approver agrees and the end moves', async () => {
    rig = await startRig();
    const active = await grant('db-read', 'alex', 'megan');
    const asked = await rig.service.extend({
      requestId: active.id,
      actor: people.alex,
      addedMs: HOUR,
      reason: 'still digging',
    });
    expect(asked).toMatchObject({
      expiresAt: active.expiresAt,
      pendingExtension: { addedMs: HOUR, by: { id: people.alex.id }, reason: 'still digging' },
    });
    await rig.settle();
    expect(await rig.repliesFor(active.id)).toEqual(['granted', 'extension_requested']);

    const duplicate = await refusal(
      rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR }),
    );
    expect(duplicate).toMatchObject({
      code: 'REQUEST.DUPLICATE',
      message: expect.stringMatching(/already waiting for approval/),
    });
    expect(await refusal(rig.service.decide(active.id, people.lynne, 'approve'))).toMatchObject({
      code: 'AUTH.NOT_APPROVER',
    });

    const approved = await rig.service.decide(active.id, people.adele, 'approve');
    expect(approved.pendingExtension).toBeUndefined();
    expect(approved.expiresAt).toBe(active.expiresAt! + HOUR);
    expect(approved.extensions).toEqual([
      expect.objectContaining({
        addedMs: HOUR,
        by: expect.objectContaining({ id: people.alex.id }),
        approvedBy: [expect.objectContaining({ id: people.adele.id })],
      }),
    ]);
    const audit = (await rig.audit()).filter((r) => r.requestId === active.id && r.type === 'extended');
    expect(audit).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ id: people.adele.id }) }),
    ]);
  });

  it('needs N approvals for an extension where the group needs N, one vote per person', async () => {
    rig = await startRig({
      policy: rigPolicy({ defaults: { extension: { requireApproval: true, maxTotal: '4h' } } }),
    });
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      durationMs: HOUR,
      justification: 'work',
      ticket: 'INC-9',
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.service.decide(request.id, people.adele, 'approve');
    await rig.settle();
    const active = await rig.get(request.id);
    expect(active.status).toBe('active');
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: 30 * MINUTE });
    const one = await rig.service.decide(active.id, people.megan, 'approve');
    expect(one).toMatchObject({
      expiresAt: active.expiresAt,
      pendingExtension: {
        votes: [expect.objectContaining({ by: expect.objectContaining({ id: people.megan.id }) })],
      },
    });
    expect(await refusal(rig.service.decide(active.id, people.megan, 'approve'))).toMatchObject({
      code: 'AUTH.ALREADY_VOTED',
    });
    const two = await rig.service.decide(active.id, people.isaiah, 'approve');
    expect(two.expiresAt).toBe(active.expiresAt! + 30 * MINUTE);
  });

  it('drops the extension on a deny, which needs a reason; the grant keeps its end', async () => {
    rig = await startRig();
    const active = await grant('db-read', 'alex', 'megan');
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
    expect(await refusal(rig.service.decide(active.id, people.adele, 'deny'))).toMatchObject({
      code: 'REASON.REQUIRED',
    });
    const denied = await rig.service.decide(active.id, people.adele, 'deny', 'wrap it up');
    expect(denied).toMatchObject({ status: 'active', expiresAt: active.expiresAt });
    expect(denied.pendingExtension).toBeUndefined();
    expect(await rig.auditOf(active.id)).toContain('extension_denied');
    const record = (await rig.audit()).find((r) => r.type === 'extension_denied');
    expect(record).toMatchObject({ reason: 'wrap it up', actor: { id: people.adele.id } });
  });

  it('refuses an approver extending their own grant by approving it themselves', async () => {
    rig = await startRig();
    const active = await grant('db-read', 'megan', 'adele');
    await rig.service.extend({ requestId: active.id, actor: people.megan, addedMs: HOUR });
    expect(await refusal(rig.service.decide(active.id, people.megan, 'approve'))).toMatchObject({
      code: 'AUTH.SELF_APPROVAL',
      message: expect.stringMatching(/another approver/),
    });
  });

  it('caps the total length (extension.maxTotal) and says how much is left', async () => {
    rig = await startRig();
    const active = await grant('db-read', 'alex', 'megan', 4 * HOUR); // maxTotal 6h
    const tooLong = await refusal(
      rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: 3 * HOUR }),
    );
    expect(tooLong.code).toBe('EXTENSION.TOO_LONG');
    expect(tooLong.message).toBe(
      'That would make the grant 7h long; db-read allows 6h in all. You can add up to 2h.',
    );
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: 2 * HOUR });
    await rig.service.decide(active.id, people.adele, 'approve');
    const full = await refusal(
      rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: MINUTE }),
    );
    expect(full).toMatchObject({
      code: 'EXTENSION.TOO_LONG',
      message: expect.stringMatching(/cannot be extended further; file a new request when it ends/),
    });
  });

  it('is for the requester of an active grant only', async () => {
    rig = await startRig();
    const active = await grant('sandbox', 'alex', 'alex');
    expect(
      await refusal(rig.service.extend({ requestId: active.id, actor: people.megan, addedMs: HOUR })),
    ).toMatchObject({ code: 'AUTH.NOT_REQUESTER' });
    const { request: pending } = await rig.service.submit({
      requester: people.megan,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
    });
    const early = await refusal(
      rig.service.extend({ requestId: pending.id, actor: people.megan, addedMs: HOUR }),
    );
    expect(early).toMatchObject({
      code: 'REQUEST.ILLEGAL_TRANSITION',
      message: expect.stringMatching(/only an active grant can be extended/i),
    });
    await rig.service.release(active.id, people.alex);
    const closed = await refusal(
      rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR }),
    );
    expect(closed.message).toMatch(/File a new request instead/);
  });
});

describe('overlap: asking again for a group one holds', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('becomes an extension offer to the approvers (db-read), not a second grant', async () => {
    const request = await rig.grantTo(people.alex, 'db-read', people.megan, HOUR, 'orders');
    const again = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: 2 * HOUR,
      justification: 'more orders',
    });
    expect(again.outcome).toBe('extension');
    expect(again.request).toMatchObject({
      id: request.id,
      pendingExtension: { addedMs: 2 * HOUR, reason: 'more orders' },
    });
    expect(await rig.store.listOpen({ requesterId: people.alex.id })).toHaveLength(1);
  });

  it('extends at once where extensions need no approval (sandbox)', async () => {
    const request = await rig.grantTo(people.alex, 'sandbox', people.alex);
    const before = await rig.get(request.id);
    const again = await rig.service.submit({
      requester: people.alex,
      group: 'Sandbox',
      durationMs: 30 * MINUTE,
      justification: 'y',
    });
    expect(again).toMatchObject({
      outcome: 'extension',
      request: { id: request.id, expiresAt: before.expiresAt! + 30 * MINUTE },
    });
  });

  it('a request still waiting for a decision is a duplicate, with what to do', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
    });
    const duplicate = await refusal(
      rig.service.submit({ requester: people.alex, group: 'db-read', durationMs: HOUR, justification: 'x' }),
    );
    expect(duplicate).toMatchObject({
      code: 'REQUEST.DUPLICATE',
      message: expect.stringContaining(`cancel ${request.id}`),
    });
  });

  it('two submits racing for the same group give one request', async () => {
    const outcomes = await Promise.allSettled([
      rig.service.submit({ requester: people.alex, group: 'db-read', durationMs: HOUR, justification: 'x' }),
      rig.service.submit({ requester: people.alex, group: 'DB-READ', durationMs: HOUR, justification: 'x' }),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await rig.store.listOpen({ requesterId: people.alex.id })).toHaveLength(1);
  });
});

describe('break-glass and auto-approved grants never grow without a human approval (guarantee 7)', () => {
  // prod-admin: break-glass 30m, auto-approve for on-call (Isaiah) up to 30m, 2 approvals, and
  // extension.requireApproval false from defaults — the combination that let such grants grow alone.
  let rig: Rig;
  afterEach(() => rig.close());

  async function breakGlass(who: PersonKey, group = 'prod-admin', durationMs = 15 * MINUTE) {
    const { request } = await rig.service.submit({
      requester: people[who],
      group,
      durationMs,
      justification: 'prod is down',
      ticket: 'INC-1',
      breakGlass: true,
    });
    await rig.settle();
    const active = await rig.get(request.id);
    expect(active).toMatchObject({ kind: 'break_glass', status: 'active' });
    return active;
  }

  async function autoApproved() {
    const { request } = await rig.service.submit({
      requester: people.isaiah,
      group: 'prod-admin',
      durationMs: 30 * MINUTE,
      justification: 'pager',
      ticket: 'INC-5',
    });
    await rig.settle();
    const active = await rig.get(request.id);
    expect(active).toMatchObject({ kind: 'auto', status: 'active' });
    return active;
  }

  it('extend on a break-glass grant becomes a pending extension for the approvers; the end moves only once they approve', async () => {
    rig = await startRig();
    expect(rig.service.rules('prod-admin').extension.requireApproval).toBe(false);
    const active = await breakGlass('alex');
    const asked = await rig.service.extend({
      requestId: active.id,
      actor: people.alex,
      addedMs: 2 * HOUR,
      reason: 'still down',
    });
    expect(asked).toMatchObject({
      expiresAt: active.expiresAt,
      extensions: [],
      pendingExtension: { addedMs: 2 * HOUR, votes: [] },
    });
    await rig.settle();
    // The approvers are asked as for any pending extension: a thread reply under the card.
    expect(await rig.repliesFor(active.id)).toEqual(['break_glass', 'granted', 'extension_requested']);
    expect(await rig.auditOf(active.id)).not.toContain('extended');

    await rig.advance(10 * MINUTE);
    expect((await rig.get(active.id)).expiresAt).toBe(active.expiresAt);
    const one = await rig.service.decide(active.id, people.megan, 'approve'); // prod-admin needs 2
    expect(one).toMatchObject({
      expiresAt: active.expiresAt,
      pendingExtension: { votes: [expect.objectContaining({ decision: 'approve' })] },
    });
    const two = await rig.service.decide(active.id, people.adele, 'approve');
    expect(two.pendingExtension).toBeUndefined();
    expect(two.expiresAt).toBe(active.expiresAt! + 2 * HOUR);
    expect(two.extensions).toEqual([
      expect.objectContaining({
        addedMs: 2 * HOUR,
        by: expect.objectContaining({ id: people.alex.id }),
        approvedBy: [
          expect.objectContaining({ id: people.megan.id }),
          expect.objectContaining({ id: people.adele.id }),
        ],
      }),
    ]);
    expect((await rig.audit()).filter((r) => r.requestId === active.id && r.type === 'extended')).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ id: people.adele.id }) }),
    ]);
  });

  it('without an approval the break-glass grant ends at its first end, however often more time is asked for', async () => {
    rig = await startRig();
    const active = await breakGlass('alex');
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
    // Every other way to more time meets the waiting extension, and nothing moves the end.
    expect(
      await refusal(rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR })),
    ).toMatchObject({ code: 'REQUEST.DUPLICATE' });
    const overlap = {
      requester: people.alex,
      group: 'prod-admin',
      durationMs: HOUR,
      justification: 'more',
      ticket: 'INC-1',
    };
    expect(await refusal(rig.service.submit(overlap))).toMatchObject({ code: 'REQUEST.DUPLICATE' });
    expect(
      await refusal(rig.service.submit({ ...overlap, durationMs: 15 * MINUTE, breakGlass: true })),
    ).toMatchObject({ code: 'REQUEST.DUPLICATE' });
    // An approver says no; asking again goes to the approvers again.
    await rig.service.decide(active.id, people.megan, 'deny', 'fixed already');
    const again = await rig.service.extend({
      requestId: active.id,
      actor: people.alex,
      addedMs: 30 * MINUTE,
    });
    expect(again).toMatchObject({ expiresAt: active.expiresAt, pendingExtension: { addedMs: 30 * MINUTE } });

    await rig.advance(15 * MINUTE - 1000);
    expect((await rig.get(active.id)).status).toBe('active');
    await rig.advance(1000);
    const ended = await rig.get(active.id);
    expect(ended).toMatchObject({ status: 'expired', expiresAt: active.expiresAt, extensions: [] });
    expect(rig.directory.members(DIR.groups.prodAdmin)).not.toContain(people.alex.id);
    expect(await rig.auditOf(active.id)).not.toContain('extended');
  });

  it('an overlapping request while an extension waits says why it is refused: what is held, until when, what became of it', async () => {
    rig = await startRig();
    const active = await breakGlass('alex');
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
    const refused = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'prod-admin',
        durationMs: HOUR,
        justification: 'more',
        ticket: 'INC-1',
      }),
    );
    const until = new Date(active.expiresAt!).toISOString().slice(11, 16);
    expect(refused).toMatchObject({
      code: 'REQUEST.DUPLICATE',
      message: `You already hold prod-admin by break-glass (request ${active.id}, until ${until} UTC), so a new request for it would be an extension of that grant; one (1h more) is already waiting for the approvers. Nothing new was filed: wait for their decision ("status" shows it).`,
    });
    expect(await rig.store.listOpen({ requesterId: people.alex.id })).toHaveLength(1);
  });

  it('an overlapping request on a break-glass grant becomes a pending extension, not more time', async () => {
    rig = await startRig();
    const active = await breakGlass('alex');
    const again = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      durationMs: 2 * HOUR,
      justification: 'still down',
      ticket: 'INC-1',
    });
    expect(again.outcome).toBe('extension');
    expect(again.request).toMatchObject({
      id: active.id,
      expiresAt: active.expiresAt,
      extensions: [],
      pendingExtension: { addedMs: 2 * HOUR, reason: 'still down' },
    });
    await rig.settle();
    expect(await rig.repliesFor(active.id)).toContain('extension_requested');
    expect(await rig.store.listOpen({ requesterId: people.alex.id })).toHaveLength(1);
  });

  it('an auto-approved grant is extended only with approval, also when the extension itself would qualify for auto-approve', async () => {
    rig = await startRig();
    const active = await autoApproved();
    // 30m for an on-call member is what auto-approve grants at once; as more time it is not.
    const again = await rig.service.submit({
      requester: people.isaiah,
      group: 'prod-admin',
      durationMs: 30 * MINUTE,
      justification: 'pager again',
      ticket: 'INC-5',
    });
    expect(again).toMatchObject({
      outcome: 'extension',
      request: { id: active.id, expiresAt: active.expiresAt, pendingExtension: { addedMs: 30 * MINUTE } },
    });
    // Isaiah is an approver of prod-admin, but not of his own extension.
    expect(await refusal(rig.service.decide(active.id, people.isaiah, 'approve'))).toMatchObject({
      code: 'AUTH.SELF_APPROVAL',
    });
    await rig.service.decide(active.id, people.megan, 'approve');
    const approved = await rig.service.decide(active.id, people.adele, 'approve');
    expect(approved.expiresAt).toBe(active.expiresAt! + 30 * MINUTE);

    const more = await rig.service.extend({
      requestId: active.id,
      actor: people.isaiah,
      addedMs: 10 * MINUTE,
    });
    expect(more).toMatchObject({ expiresAt: approved.expiresAt, pendingExtension: { addedMs: 10 * MINUTE } });
  });

  it('the holder of a break-glass grant cannot approve its extension, even where policy allows self-approval', async () => {
    // sandbox: Alex is its approver and may approve his own requests; give it break-glass.
    const policy = rigPolicy();
    policy.groups['sandbox']!.breakGlass = { maxDuration: '30m' };
    rig = await startRig({ policy });
    const active = await breakGlass('alex', 'sandbox');
    const asked = await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
    expect(asked).toMatchObject({ expiresAt: active.expiresAt, pendingExtension: { addedMs: HOUR } });
    expect(await refusal(rig.service.decide(active.id, people.alex, 'approve'))).toMatchObject({
      code: 'AUTH.SELF_APPROVAL',
      message: expect.stringMatching(/another approver has to/),
    });
    expect((await rig.get(active.id)).expiresAt).toBe(active.expiresAt);
    // His approved (standard) sandbox grants still extend as the group's policy says: at once.
    await rig.service.release(active.id, people.alex);
    const standard = await rig.grantTo(people.alex, 'sandbox', people.alex);
    const extended = await rig.service.extend({ requestId: standard.id, actor: people.alex, addedMs: HOUR });
    expect(extended.expiresAt).toBe(standard.expiresAt! + HOUR);
  });

  it('a break-glass request while holding an approved grant of the group is refused, and changes nothing', async () => {
    rig = await startRig();
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      durationMs: HOUR,
      justification: 'rotate keys',
      ticket: 'INC-2',
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.service.decide(request.id, people.adele, 'approve');
    await rig.settle();
    const active = await rig.get(request.id);
    expect(active.status).toBe('active');
    const glass = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'prod-admin',
        durationMs: 30 * MINUTE,
        justification: 'x',
        ticket: 'INC-2',
        breakGlass: true,
      }),
    );
    expect(glass).toMatchObject({
      code: 'REQUEST.DUPLICATE',
      message: expect.stringContaining('no break-glass is needed'),
    });
    expect(await rig.get(request.id)).toMatchObject({
      expiresAt: active.expiresAt,
      extensions: [],
      version: active.version,
    });
    expect(await rig.store.listOpen({ requesterId: people.alex.id })).toHaveLength(1);
  });
});

describe('a grant whose group left the policy', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('cannot be extended (not by the defaults’ rules); it still ends on time and can be released', async () => {
    rig = await startRig();
    const active = await rig.grantTo(people.alex, 'sandbox', people.alex);
    const second = await rig.grantTo(people.megan, 'sandbox', people.alex);
    // The admin takes sandbox out of the policy and restarts the bot.
    delete (rig.policy.groups as Record<string, unknown>)['sandbox'];
    await rig.restart();
    expect(rig.policy.defaults.extension?.requireApproval).toBe(false);

    const refused = await refusal(
      rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: 30 * MINUTE }),
    );
    expect(refused).toMatchObject({
      code: 'EXTENSION.NOT_ALLOWED',
      message:
        'sandbox is no longer in the policy; its grant cannot be extended. File a new request for a group the policy has ("help" lists them), or ask an admin.',
    });
    expect(await rig.get(active.id)).toMatchObject({ expiresAt: active.expiresAt, extensions: [] });
    expect((await rig.get(active.id)).pendingExtension).toBeUndefined();

    await rig.service.release(second.id, people.megan);
    await rig.advance(HOUR);
    expect(await rig.get(active.id)).toMatchObject({ status: 'expired', expiresAt: active.expiresAt });
    expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.alex.id);
    expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.megan.id);
  });
});
