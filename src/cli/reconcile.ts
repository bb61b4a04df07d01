import type { Command } from 'commander';
import type { ReconcileReport } from '../app/reconciler';
import { createStore } from '../adapters/store/open-store';
import { createDirectoryFromEnv } from '../adapters/graph/create-directory';
import { loadConfig } from '../config';
import { DomainError, ErrorCodes } from '../domain/errors';
import { loadPolicyFile } from '../policy-file';
import { systemClock } from '../ports/clock';
import { silentLogger } from '../ports/logger';
import { postsNothing, wireCore } from '../wire';

/** Exit code of `reconcile --dry-run --exit-code` when the pass would change something. */
export const EXIT_WOULD_ACT = 4;

/** The lines people read: what the pass found, per group, and what it would do. */
export function formatReport(report: ReconcileReport): string {
  const lines: string[] = [];
  const acting = report.findings.filter((f) => f.fresh);
  lines.push(
    `${report.dryRun ? 'Dry run' : 'Reconciled'} at ${new Date(report.at).toISOString()}: ${acting.length === 0 ? 'nothing to do' : `${acting.length} thing(s) to do`}${report.errors.length ? `, ${report.errors.length} error(s)` : ''}.`,
  );
  for (const g of report.groups) {
    lines.push(
      `  ${g.alias} (${g.groupId}): ${g.members} member(s) — ${g.granted} by an open grant, ${g.ending} being removed, ${g.standing} standing, ${g.unexplained} unexplained`,
    );
  }
  for (const f of report.findings)
    lines.push(`  ${f.fresh ? (report.dryRun ? 'would' : 'did') : 'known'} · ${f.kind}: ${f.text}`);
  for (const e of report.errors) lines.push(`  error: ${e}`);
  return lines.join('\n');
}

/**
 * `timebox reconcile --dry-run`: what a reconciliation pass would do now, read from the store
 * and the directory without changing either. The running bot makes these passes itself (at
 * start and every TIMEBOX_RECONCILE_INTERVAL); this shows them ahead of time.
 *
 * NB: the store is opened read-only (createStore's `readOnly`): opening it for writing would
 * finish interrupted writes (audit records, torn lines, compaction) behind the running bot's
 * back, a second writer that corrupts it. Read-only, it writes nothing, and the state it reads
 * is consistent even while the bot writes.
 */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      'compare the store with the directory: overdue grants, lost adds/removals, members no grant explains',
    )
    .option('--dry-run', 'print what a pass would do, changing nothing (the running bot does the passes)')
    .option('--json', 'print the report as JSON')
    .option('--exit-code', `exit with ${EXIT_WOULD_ACT} when the pass would change something`)
    .action(async (options: { dryRun?: boolean; json?: boolean; exitCode?: boolean }) => {
      if (!options.dryRun) {
        throw new DomainError(
          ErrorCodes.COMMAND_INVALID,
          'The running bot reconciles by itself, at start and every TIMEBOX_RECONCILE_INTERVAL (default 5m). Use "timebox reconcile --dry-run" to see what a pass would do now.',
        );
      }
      // Reads the store and Graph only: no bot credentials needed (nothing is posted).
      const config = loadConfig(process.env, { bot: false });
      const policy = await loadPolicyFile(config.policyFile);
      const store = createStore(config, { readOnly: true });
      await store.open();
      try {
        const directory = createDirectoryFromEnv({ ...process.env, GRAPH_BASE_URL: config.graphBaseUrl });
        // The bot's wiring, never started: one dry pass, and no worker runs (nothing is posted).
        const core = wireCore(
          { store, directory, policy, clock: systemClock, logger: silentLogger, ...postsNothing() },
          { mode: config.grantMode },
        );
        const report = await core.reconciler.runOnce({ dryRun: true });
        console.log(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
        if (report.errors.length > 0) process.exitCode = 1;
        else if (options.exitCode && report.findings.some((f) => f.fresh)) process.exitCode = EXIT_WOULD_ACT;
      } finally {
        await store.close();
      }
    });
}
