import { runChaos, SHORT, summarize } from '../chaos/harness';

/**
 * The crash-and-fault run of `npm run test:chaos`, shorter (≥ 5 kills, ≥ 50 requests, grants
 * of 10-16 s): the real bot as a child process, SIGKILLed and restarted, against Graph and Bot
 * Connector faults. About a minute; the full run and its figures are in docs/reliability.md.
 */
describe('crash-and-fault run (short)', () => {
  it('keeps every guarantee through kills, throttling and connector failures', async () => {
    const result = await runChaos({ ...SHORT, seed: Number(process.env.CHAOS_SEED ?? 20261121) });
    const summary = summarize(result);
    if (!result.passed) throw new Error(`chaos run failed:\n${summary}`);
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(result.analysis.requests).toBeGreaterThanOrEqual(50);
    expect(result.analysis.maxOverstayRunningMs).toBeLessThanOrEqual(5000);
    expect(result.analysis.maxOverstayAfterStartMs).toBeLessThanOrEqual(5000);
    expect(result.analysis.unexplained).toEqual([]);
    expect(result.analysis.decidedTwice).toEqual([]);
    expect(result.analysis.lateClocks).toEqual([]);
    expect(result.analysis.missingFromAudit).toEqual([]);
    expect(result.analysis.audit.ok).toBe(true);
  }, 240_000);
});
