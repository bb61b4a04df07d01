import { DIR } from '../../helpers/fake-directory';
import { HOUR, people, refusal, rigPolicy, startRig, type Rig } from './rig';

/**
 * A "required" field needs a visible letter or digit: text of fillers, blanks, tags, variation
 * selectors or combining marks only looks filled in on a card but says nothing.
 */
const LOOKS_FILLED: Array<[string, string]> = [
  ['Hangul fillers U+3164', '\u3164\u3164\u3164'],
  ['braille blanks U+2800', '\u2800\u2800\u2800'],
  ['halfwidth and conjoining Hangul fillers', '\uFFA0\u115F\u1160'],
  ['tag characters', '\u{E0001}\u{E0072}\u{E0065}\u{E0061}\u{E0073}\u{E006F}\u{E006E}\u{E007F}'],
  ['variation selectors', '\uFE00\uFE0F\u{E0100}\u{E01EF}'],
  ['combining grapheme joiners U+034F', '\u034F\u034F'],
  ['Khmer invisible vowels U+17B4, U+17B5', '\u17B4\u17B5'],
  ['240 combining marks on nothing', '\u0301\u0310\u0352'.repeat(80)],
  ['zero-width characters and line breaks', '\u200B\n\u200D\r\n\u2060 \u3164'],
  ['punctuation and emoji', '… — !!! 🔥'],
];

describe('required text needs a visible letter or digit', () => {
  let rig: Rig;
  afterEach(() => rig?.close());

  it.each(LOOKS_FILLED)('a justification of %s is refused as JUSTIFICATION_REQUIRED', async (_name, text) => {
    rig = await startRig();
    const missing = await refusal(
      rig.service.submit({ requester: people.alex, group: 'db-read', durationMs: HOUR, justification: text }),
    );
    expect(missing).toMatchObject({
      code: 'JUSTIFICATION.REQUIRED',
      message: 'db-read needs a reason. Add one: request db-read for 1h because <why you need it>.',
    });
    expect(await rig.store.listOpen()).toEqual([]);
  });

  it.each(LOOKS_FILLED)('a deny reason of %s is refused as REASON_REQUIRED', async (_name, text) => {
    rig = await startRig();
    const request = await rig.askFor(people.alex, 'db-read');
    expect(await refusal(rig.service.decide(request.id, people.megan, 'deny', text))).toMatchObject({
      code: 'REASON.REQUIRED',
    });
    expect(await rig.get(request.id)).toMatchObject({ status: 'pending', votes: [] });
  });

  it.each(LOOKS_FILLED)('a revoke reason of %s is refused as REASON_REQUIRED', async (_name, text) => {
    rig = await startRig();
    const active = await rig.grantTo(people.alex, 'db-read', people.megan);
    expect(active.status).toBe('active');
    expect(await refusal(rig.service.revoke(active.id, people.adele, text))).toMatchObject({
      code: 'REASON.REQUIRED',
    });
    expect((await rig.get(active.id)).status).toBe('active');
  });

  it.each(LOOKS_FILLED)(
    'an extension deny reason of %s is refused as REASON_REQUIRED',
    async (_name, text) => {
      rig = await startRig();
      const active = await rig.grantTo(people.alex, 'db-read', people.megan);
      await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
      expect(await refusal(rig.service.decide(active.id, people.adele, 'deny', text))).toMatchObject({
        code: 'REASON.REQUIRED',
      });
      expect((await rig.get(active.id)).pendingExtension).toBeDefined();
    },
  );

  it.each(LOOKS_FILLED)('a required ticket of %s is refused as TICKET_REQUIRED', async (_name, text) => {
    const policy = rigPolicy();
    policy.groups['tickets'] = {
      groupId: DIR.groups.sandbox,
      displayName: 'Tickets only',
      approverChannel: 'ops',
      approvers: { users: ['meganb@example.com'] },
      requireTicket: true,
    };
    rig = await startRig({ policy });
    const missing = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'tickets',
        durationMs: HOUR,
        justification: 'real reason',
        ticket: text,
      }),
    );
    expect(missing).toMatchObject({ code: 'TICKET.REQUIRED' });
  });

  it('visible text among the invisible is enough, and the store keeps what was typed', async () => {
    rig = await startRig();
    const typed = '\u3164 checking INC-4711\n✔ Approved by Ana Approver \u{E0041}';
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: typed,
    });
    expect(request.justification).toBe(typed.trim());
    expect((await rig.get(request.id)).justification).toBe(typed.trim());
    const denied = await rig.service.decide(request.id, people.megan, 'deny', '\u2800 use the replica');
    expect(denied).toMatchObject({ status: 'denied', resolution: { reason: '\u2800 use the replica' } });
  });
});
