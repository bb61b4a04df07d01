import { DIGEST_LOOKBACK_MS, DigestLoop, digestKey, digestLookbackMs } from '../../../src/app/digest';
import { validatePolicy } from '../../../src/domain/policy';
import { silentLogger } from '../../../src/ports/logger';
import { FakeClock } from '../../helpers/fake-clock';
import { CHANNEL, HOUR, MINUTE, SERVICE_URL, people, rigPolicy, startRig, type Rig } from './rig';

const utc = (y: number, mo: number, d: number, h: number, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s);

const DIGEST = { at: '09:00', timeZone: 'Europe/Berlin' };
const digestPolicy = () => rigPolicy({ approverChannels: { ops: { ...CHANNEL, digest: DIGEST } } });

describe('the daily digest of an approver channel, on the controlled clock', () => {
  let rig: Rig;
  let loops: DigestLoop[];

  /** A rig whose clock starts at `start`, and whose settle also waits for the digest loops. */
  async function rigAt(start: number): Promise<Rig> {
    loops = [];
    const r = await startRig({ clock: new FakeClock(start), policy: digestPolicy() });
    const inner = r.clock.settle;
    r.clock.settle = async () => {
      await inner();
      for (const loop of loops) await loop.settled();
      await inner();
    };
    return r;
  }

  /** One more "process" posting digests on the rig's store (as main.ts wires it with the core). */
  function startLoop(): DigestLoop {
    const loop = new DigestLoop({
      store: rig.store,
      notifier: rig.notifier,
      policy: rig.policy,
      clock: rig.clock,
      logger: silentLogger,
      defaultServiceUrl: SERVICE_URL,
    });
    loops.push(loop);
    loop.start();
    return loop;
  }

  const digests = () =>
    rig.notifier.sent.filter(
      (s) => s.op === 'postToChannel' && JSON.stringify(s.message?.card ?? {}).includes('Daily digest'),
    );
  const digestText = (i: number) => JSON.stringify(digests()[i]!.message!.card);

  async function settleLoops(): Promise<void> {
    await rig.settle();
    for (const loop of loops) await loop.settled();
    await rig.settle();
  }

  afterEach(async () => {
    for (const loop of loops) await loop.stop();
    await rig.close();
  });

  it('posts at 09:00 Berlin what waits (with its card link) and what was granted and ended, not before', async () => {
    rig = await rigAt(utc(2026, 11, 21, 6, 0)); // 07:00 Berlin
    startLoop();
    const granted = await rig.grantTo(people.alex, 'sandbox', people.alex, HOUR); // 07:00–08:00 Berlin
    await rig.advance(90 * MINUTE); // 08:30 Berlin
    const waiting = await rig.askFor(people.lynne, 'db-read'); // times out at 09:30
    await rig.clock.advanceTo(utc(2026, 11, 21, 7, 59, 59));
    await settleLoops();
    expect(digests()).toHaveLength(0);
    await rig.advance(1000); // 09:00:00 Berlin
    await settleLoops();
    expect(digests()).toHaveLength(1);
    expect(digests()[0]!.to).toBe(CHANNEL.channelId);
    const card = digestText(0);
    expect(card).toContain('Waiting for a decision (1)');
    expect(card).toContain(waiting.id);
    expect(card).toContain('Granted (1)');
    expect(card).toContain('Ended (1)');
    expect(card).toContain(granted.id);
    const activityId = (await rig.get(waiting.id)).approvalCard!.activityId;
    expect(card).toContain(
      `https://teams.microsoft.com/l/message/${encodeURIComponent(CHANNEL.channelId)}/${activityId}`,
    );
    expect(card).toContain('"title":"Open card"');
  });

  it('posts nothing on a day with nothing to say', async () => {
    rig = await rigAt(utc(2026, 11, 21, 6, 0));
    startLoop();
    await rig.advance(3 * 24 * HOUR);
    await settleLoops();
    expect(digests()).toHaveLength(0);
    // …and a day with news after quiet ones still gets its digest.
    await rig.grantTo(people.alex, 'sandbox', people.alex, HOUR);
    await rig.advance(24 * HOUR);
    await settleLoops();
    expect(digests()).toHaveLength(1);
  });

  it('posts once a day, however many processes run on the store and however often they restart', async () => {
    rig = await rigAt(utc(2026, 11, 21, 6, 0));
    startLoop();
    startLoop(); // a second replica
    await rig.grantTo(people.alex, 'sandbox', people.alex, 8 * HOUR); // 07:00–15:00 Berlin
    await rig.clock.advanceTo(utc(2026, 11, 21, 8, 0));
    await settleLoops();
    expect(digests()).toHaveLength(1);
    // A third process starting at 10:00 Berlin finds the day done.
    await rig.advance(HOUR);
    startLoop();
    await settleLoops();
    expect(digests()).toHaveLength(1);
    expect(await rig.store.markWelcomed(digestKey('ops', '2026-11-21'), rig.clock.now())).toBe(false);
    // The next day's digest (the grant ended at 15:00 yesterday) is posted once too.
    await rig.clock.advanceTo(utc(2026, 11, 22, 8, 0));
    await settleLoops();
    expect(digests()).toHaveLength(2);
    expect(digestText(1)).toContain('Ended (1)');
    expect(digestText(1)).not.toContain('Granted');
  });

  it('after a crash over 09:00, posts the day’s digest right after the start', async () => {
    rig = await rigAt(utc(2026, 11, 21, 6, 0));
    startLoop();
    await rig.grantTo(people.alex, 'sandbox', people.alex, HOUR);
    await rig.clock.advanceTo(utc(2026, 11, 21, 7, 30)); // 08:30 Berlin
    await settleLoops();
    loops = []; // the crashed process's loop dies with it (its store calls never answer)
    await rig.crash(3 * HOUR); // back at 11:30 Berlin
    await rig.settle();
    startLoop();
    await settleLoops();
    expect(digests()).toHaveLength(1);
    expect(rig.clock.now()).toBe(utc(2026, 11, 21, 10, 30)); // posted at once, no wait
  });

  it('does not post yesterday’s news after a long outage (past the 12 h catch-up)', async () => {
    rig = await rigAt(utc(2026, 11, 21, 6, 0));
    startLoop();
    await rig.grantTo(people.alex, 'sandbox', people.alex, HOUR);
    await rig.clock.advanceTo(utc(2026, 11, 21, 7, 30));
    await settleLoops();
    loops = [];
    await rig.crash(14 * HOUR); // back at 22:30 Berlin: 13.5 h after 09:00
    await rig.settle();
    startLoop();
    await settleLoops();
    expect(digests()).toHaveLength(0);
  });

  it('tries a failed post again until it goes through, and still once', async () => {
    rig = await rigAt(utc(2026, 11, 21, 6, 0));
    startLoop();
    await rig.grantTo(people.alex, 'sandbox', people.alex, HOUR);
    await rig.clock.advanceTo(utc(2026, 11, 21, 7, 59));
    await settleLoops();
    rig.notifier.failNext('postToChannel', () => new Error('Teams is down'), 2);
    await rig.advance(MINUTE); // 09:00: fails; 09:01 fails; 09:03 goes through
    await settleLoops();
    expect(digests()).toHaveLength(0);
    await rig.advance(5 * MINUTE);
    await settleLoops();
    expect(digests()).toHaveLength(1);
    await rig.advance(HOUR);
    await settleLoops();
    expect(digests()).toHaveLength(1);
  });

  it('keeps 09:00 in Berlin across the spring DST change (08:00 UTC, then 07:00 UTC)', async () => {
    rig = await rigAt(utc(2026, 3, 28, 6, 0)); // 07:00 CET, the day before the change
    startLoop();
    await rig.grantTo(people.alex, 'sandbox', people.alex, 8 * HOUR); // ends 15:00 CET
    await rig.clock.advanceTo(utc(2026, 3, 28, 7, 59));
    await settleLoops();
    expect(digests()).toHaveLength(0);
    await rig.clock.advanceTo(utc(2026, 3, 28, 8, 0));
    await settleLoops();
    expect(digests()).toHaveLength(1);
    await rig.clock.advanceTo(utc(2026, 3, 29, 6, 59)); // 08:59 CEST
    await settleLoops();
    expect(digests()).toHaveLength(1);
    await rig.clock.advanceTo(utc(2026, 3, 29, 7, 0)); // 09:00 CEST
    await settleLoops();
    expect(digests()).toHaveLength(2);
    expect(digestText(1)).toContain('Ended (1)');
  });
});

describe('how far back the digest reads closed requests', () => {
  const DAY = 24 * HOUR;
  it('35 days for a policy whose requests live less', () => {
    expect(digestLookbackMs(validatePolicy(rigPolicy()))).toBe(DIGEST_LOOKBACK_MS);
  });

  it('the longest a request can live, and a day, when a group allows more: waiting, scheduled, granted, extended', () => {
    const base = rigPolicy();
    const policy = validatePolicy({
      ...base,
      groups: {
        ...base.groups,
        'long-project': {
          groupId: base.groups!['sandbox']!.groupId,
          displayName: 'Long project',
          approverChannel: 'ops',
          approvers: { users: ['alex@example.com'] },
          maxDuration: '40d',
          pendingTimeout: '2d',
          maxScheduleAhead: '14d',
          extension: { requireApproval: true, maxTotal: '10d' },
        },
      },
    });
    expect(digestLookbackMs(policy)).toBe((2 + 14 + 40 + 10 + 1) * DAY);
  });
});
