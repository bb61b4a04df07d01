import { repeatedRevocations, type Life } from '../../chaos/analysis';

const revoke = (at: number, userId = 'u1') => ({ call: { at }, userId });
const remove = (at: number, userId = 'u1') => ({ call: { at, method: 'DELETE' }, userId });
const add = (at: number, userId = 'u1') => ({ call: { at, method: 'POST' }, userId });
const life = (endAt: number, killed = true): Life => ({ spawnAt: 0, readyAt: 1, endAt, killed });

describe('the chaos analysis: a revocation run again', () => {
  it('counts a second revocation with no removal between, after a kill or not', () => {
    const revocations = [revoke(1000), revoke(2000)];
    expect(repeatedRevocations(revocations, [remove(900)], [life(1500)])).toEqual({ afterKill: 1, other: 0 });
    expect(repeatedRevocations(revocations, [remove(900)], [])).toEqual({ afterKill: 0, other: 1 });
    // A bot that stopped cleanly (the final SIGTERM) is not a kill.
    expect(repeatedRevocations(revocations, [remove(900)], [life(1500, false)])).toEqual({
      afterKill: 0,
      other: 1,
    });
  });

  it('does not count a revocation after another removal, nor one of another person', () => {
    expect(
      repeatedRevocations([revoke(1000), revoke(2000)], [remove(900), add(1200), remove(1800)], []),
    ).toEqual({ afterKill: 0, other: 0 });
    expect(repeatedRevocations([revoke(1000, 'u1'), revoke(2000, 'u2')], [], [life(1500)])).toEqual({
      afterKill: 0,
      other: 0,
    });
  });
});
