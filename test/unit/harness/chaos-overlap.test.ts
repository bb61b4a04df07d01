import { concurrentMembershipCalls, type Life } from '../../chaos/analysis';
import type { LocalDirectoryCall } from '../../../src/dev/local-directory/server';

const add = (at: number, answeredAt: number, status = 204): LocalDirectoryCall =>
  ({
    method: 'POST',
    path: '/groups/g1/members/$ref',
    subject: 'u1',
    status,
    at,
    answeredAt,
  }) as LocalDirectoryCall;
const life = (endAt: number, killed = true): Life => ({ spawnAt: 0, readyAt: 1, endAt, killed });

describe('the chaos analysis: one effect run twice at once', () => {
  it('counts two adds of one membership in flight together', () => {
    expect(concurrentMembershipCalls([add(1000, 1081), add(1037, 1037, 429)])).toHaveLength(1);
  });

  it('does not count them when a bot was killed between their starts (the other replica took over)', () => {
    // Seen in CI (seed 20261202): replica 1 posted at 598, was killed at 605, replica 2 posted at 635.
    expect(concurrentMembershipCalls([add(1598, 1679), add(1635, 1635, 429)], [life(1605)])).toEqual([]);
  });

  it('still counts them when the kill came before the first or after the second began', () => {
    const calls = [add(1598, 1679), add(1635, 1635, 429)];
    expect(concurrentMembershipCalls(calls, [life(1500)])).toHaveLength(1);
    expect(concurrentMembershipCalls(calls, [life(1650)])).toHaveLength(1);
    expect(concurrentMembershipCalls(calls, [life(1605, false)])).toHaveLength(1);
  });

  it('does not count calls one after the other', () => {
    expect(concurrentMembershipCalls([add(1000, 1081), add(1100, 1180)])).toEqual([]);
  });
});
