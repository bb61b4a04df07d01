import { breakGlassNotNeededError, overlapWaitingError } from '../../../src/app/overlap';
import { extendedElsewhereReply, overlapReply } from '../../../src/adapters/teams/extension-reply';
import { aRequestIn, HOUR, MINUTE, T0 } from '../../helpers/builders';

// T0 is 2026-11-21 14:00 UTC; the grant ends at 15:00 UTC, 16:00 in Berlin, 10:00 in New York.
const held = () => aRequestIn('active', { expiresAt: T0 + HOUR, extensions: [] });

describe('replies that print a time use the reader’s zone', () => {
  it('the overlap reply (extended at once) names the new end in the person’s zone', () => {
    expect(overlapReply(held(), 'Europe/Berlin')).toMatch(/it now ends 2026-11-21 16:00 CET\.$/);
    expect(overlapReply(held())).toMatch(/it now ends 2026-11-21 15:00 UTC\.$/);
  });

  it('the answer to `extend` in a channel names the new end in the person’s zone', () => {
    expect(extendedElsewhereReply(held(), 'America/New_York')).toMatch(/now ends 2026-11-21 10:00 EST\.$/);
    expect(extendedElsewhereReply(held(), 'Mars/Olympus')).toMatch(/now ends 2026-11-21 15:00 UTC\.$/);
  });

  it('the refusal while an extension waits names the grant’s end in the person’s zone', () => {
    const waiting = {
      ...held(),
      pendingExtension: { addedMs: 30 * MINUTE, at: T0, by: held().requester, votes: [] },
    };
    const message = overlapWaitingError(waiting, T0, 'Asia/Kolkata').message;
    expect(message).toContain(`(request ${waiting.id}, until 20:30 GMT+5:30)`);
    expect(message).toContain('(30m more)');
    expect(overlapWaitingError(waiting, T0).message).toContain('until 15:00 UTC)');
  });

  it('the refusal of break-glass for a group one holds names its end in the person’s zone', () => {
    const message = breakGlassNotNeededError(held(), T0, 'Europe/Berlin').message;
    expect(message).toContain('until 16:00 CET); no break-glass is needed.');
    // A different day in that zone: the date is said too.
    const late = { ...held(), expiresAt: T0 + 10 * HOUR + 30 * MINUTE };
    expect(breakGlassNotNeededError(late, T0, 'Europe/Berlin').message).toContain(
      'until 2026-11-22 01:30 CET)',
    );
  });
});
