import { REPLICAS_SHORT, runChaos, summarize } from '../chaos/harness';

/**
 * The replica run of `npm run test:chaos -- --replicas 3 --store postgres`, shorter: two bot
 * processes on one embedded PostgreSQL (DATABASE_URL), activities spread over them, ≥ 5 SIGKILLs
 * of random replicas and one of PostgreSQL itself, against Graph and Bot Connector faults; every
 * guarantee checked from the database. About a minute and a half; the full run's figures are in
 * docs/reliability.md.
 */
describe('crash-and-fault run with replicas on PostgreSQL (short)', () => {
  it('keeps every guarantee through replica kills, a database kill, throttling and connector failures', async () => {
    const result = await runChaos({ ...REPLICAS_SHORT, seed: Number(process.env.CHAOS_SEED ?? 20261202) });
    const summary = summarize(result);
    if (!result.passed) throw new Error(`chaos run failed:\n${summary}`);
    expect(result.kills).toBeGreaterThanOrEqual(5);
    expect(result.dbKills).toBeGreaterThanOrEqual(1);
    expect(new Set(result.lives.map((l) => l.replica)).size).toBe(2);
    expect(result.analysis.requests).toBeGreaterThanOrEqual(50);
    expect(result.analysis.maxOverstayRunningMs).toBeLessThanOrEqual(5000);
    expect(result.analysis.maxOverstayAfterStartMs).toBeLessThanOrEqual(5000);
    expect(result.analysis.unexplained).toEqual([]);
    expect(result.analysis.decidedTwice).toEqual([]);
    expect(result.analysis.concurrentEffects).toEqual([]);
    expect(result.analysis.addsPerGrant.repeatedWithoutKill).toEqual([]);
    expect(result.analysis.lostDecisions).toEqual([]);
    expect(result.analysis.missingFromAudit).toEqual([]);
    expect(result.analysis.audit.ok).toBe(true);
  }, 360_000);
});
