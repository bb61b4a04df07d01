import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  checkpointLinesOf,
  fileNames,
  parseAnchor,
  type AuditNames,
  verifyAuditFile,
  verifyAuditRecords,
  type VerifyRecordsOptions,
  type VerifyResult,
} from '../adapters/store/audit-verify';
import {
  CHECKPOINT_FILE,
  DEFAULT_CHECKPOINT_EVERY,
  parseAuditKey,
  type AuditKey,
} from '../adapters/store/audit-checkpoint';
import {
  exportAudit,
  exportAuditRecords,
  parseTimeBound,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
} from '../adapters/store/audit-export';
import { createStore, describeStore, type StoreConfig } from '../adapters/store/open-store';
import { DomainError, ErrorCodes } from '../domain/errors';
import type { AuditCheckpoint, Store } from '../ports/store';

/** Exit code when the chain does not verify (0 = verified, 1/2 = the command itself failed). */
export const EXIT_CHAIN_BROKEN = 3;

/** The store the environment names (TIMEBOX_DATA_DIR, DATABASE_URL), as the bot would open it. */
const storeConfig = (): StoreConfig => ({
  dataDir: process.env.TIMEBOX_DATA_DIR ?? './data',
  databaseUrl: process.env.DATABASE_URL || undefined,
});

/**
 * Runs `use` on the configured store opened read-only (the Store port, not its files), then
 * closes it; `missing` instead when there is no audit log there at all. Read-only, the store
 * writes nothing at all, so it is safe next to the running bot.
 */
async function withStore<T>(
  config: StoreConfig,
  use: (store: Store) => Promise<T>,
  missing: () => T,
): Promise<T> {
  // NB: chosen first, so that DATABASE_URL is refused (not yet supported) before anything else.
  const store = createStore(config, { readOnly: true });
  if (!describeStore(config).exists()) return missing();
  try {
    await store.open();
  } catch (error) {
    if (error instanceof DomainError && error.code === ErrorCodes.STORE_CORRUPT) {
      throw new DomainError(
        error.code,
        `${error.message} To check the audit log alone: timebox audit verify --file ${describeStore(config).audit}`,
        error.details,
      );
    }
    throw error;
  }
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** A store's checkpoints (none from a store that keeps none). */
const checkpointsOf = (store: Store): AsyncIterable<AuditCheckpoint> => store.readAuditCheckpoints();

/**
 * Verifies the store's log through the port: its checkpoints first (or those of
 * `checkpointFile`, e.g. a copy kept outside the data directory), then its records.
 */
function verifyThroughStore(
  store: Store,
  checks: VerifyRecordsOptions,
  names: AuditNames,
  checkpointFile?: string,
): Promise<VerifyResult> {
  if (checkpointFile === undefined)
    return verifyAuditRecords(store.readAudit(), checkpointsOf(store), { ...checks, names });
  const fromFile = fileNames(checkpointFile);
  return verifyAuditRecords(store.readAudit(), checkpointLinesOf(checkpointFile), {
    ...checks,
    names: { ...fromFile, record: names.record },
  });
}

/** The store's hot file next to the audit log, when there is one (it tells how many records were written). */
function storeFileBeside(file: string): string | undefined {
  const candidate = path.join(path.dirname(file), 'timebox.json');
  return existsSync(candidate) ? candidate : undefined;
}

function describe(file: string, result: VerifyResult): string {
  const head = result.head ? ` Last good record: ${result.head.seq}:${result.head.hash}` : '';
  return `${file}: ${result.problem}.${head}`;
}

/** What the signatures said, for a verified log. */
function describeSignatures(result: VerifyResult, checkpointFile: string): string {
  const s = result.signatures;
  if (!s.checked) {
    return `Signatures not checked (no --key): the chain alone can be recomputed by whoever can write the data directory${s.checkpoints ? `; ${s.checkpoints} checkpoint(s) in ${checkpointFile} were not read` : ''}.`;
  }
  const other = s.otherKeys ? ` ${s.otherKeys} checkpoint(s) signed with another key were not checked.` : '';
  if (!s.last)
    return `Signatures: no checkpoint signed with this key; ${s.unsignedTail} record(s) are not covered by a signature.${other}`;
  return `Signatures: ${s.verified} checkpoint(s) verified, the last at record ${s.last.seq} (${s.last.at}, ${s.last.reason}); ${s.unsignedTail} record(s) after it are not covered by a signature.${other}`;
}

/**
 * A --key source: "@path" (the key's file), "env:NAME" (an environment variable; bare --key is
 * env:TIMEBOX_AUDIT_KEY), or the key itself (which then sits in the shell's history).
 */
function collectKey(source: string, previous: string[] = []): string[] {
  return [...previous, source];
}

function loadKey(source: string): AuditKey {
  let text: string | undefined;
  let what: string;
  if (source.startsWith('@')) {
    what = `--key ${source}`;
    try {
      text = readFileSync(source.slice(1), 'utf8');
    } catch (error) {
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        `${what}: cannot read the key file: ${(error as Error).message}`,
      );
    }
  } else if (source.startsWith('env:')) {
    what = source.slice(4);
    text = process.env[what];
    if (!text?.trim())
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        `--key: the environment variable ${what} is not set.`,
      );
  } else {
    what = '--key';
    text = source;
  }
  try {
    return parseAuditKey(text, what);
  } catch (error) {
    throw new DomainError(ErrorCodes.COMMAND_INVALID, (error as Error).message);
  }
}

const keyOption = () =>
  new Option(
    '--key [source]',
    'check the signed checkpoints with this key: @file, env:NAME, or bare for $TIMEBOX_AUDIT_KEY (repeat for keys before a rotation)',
  )
    .preset('env:TIMEBOX_AUDIT_KEY')
    .argParser(collectKey);

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description(
      'recompute the hash chain, check the signed checkpoints (--key), and report the first problem (exit code 3)',
    )
    .option(
      '--file <path>',
      'an audit file to read directly (default: the configured store, TIMEBOX_DATA_DIR, opened read-only)',
    )
    .addOption(keyOption())
    .option(
      '--checkpoints <path>',
      `signed checkpoints (default: the store's, or ${CHECKPOINT_FILE} beside --file)`,
    )
    .option(
      '--strict',
      'with --key: fail when any record follows the last signed checkpoint (a cleanly stopped bot leaves none)',
    )
    .option(
      '--anchor <seq:hash...>',
      'records known from an earlier check (the "head" it printed); each must still be there',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--no-store', 'with --file: do not compare with the store file beside the log (timebox.json)')
    .action(
      async (options: {
        file?: string;
        anchor?: string[];
        store: boolean;
        key?: string[];
        checkpoints?: string;
        strict?: boolean;
      }) => {
        let anchors;
        try {
          anchors = (options.anchor ?? []).map(parseAnchor);
        } catch (error) {
          throw new DomainError(ErrorCodes.COMMAND_INVALID, (error as Error).message);
        }
        const keys = (options.key ?? []).map(loadKey);
        if (options.strict && keys.length === 0)
          throw new DomainError(
            ErrorCodes.COMMAND_INVALID,
            '--strict needs --key: without the key no signature can be checked.',
          );
        // The bot's interval, for a log with no checkpoint of this key yet (each checkpoint carries its own).
        const every = Number(process.env.TIMEBOX_AUDIT_CHECKPOINT_EVERY);
        const checks: VerifyRecordsOptions = {
          anchors,
          keys,
          strict: options.strict,
          ...(Number.isSafeInteger(every) && every >= 1 ? { checkpointEvery: every } : {}),
        };
        let file: string;
        let checkpointFile: string;
        let result: VerifyResult;
        if (options.file) {
          file = options.file;
          checkpointFile = options.checkpoints ?? path.join(path.dirname(file), CHECKPOINT_FILE);
          result = await verifyAuditFile(file, {
            ...checks,
            storeFile: options.store ? storeFileBeside(file) : undefined,
            checkpointFile,
          });
        } else {
          // Through the port: the store's records and checkpoints (and its own numbering: a cut tail fails the read).
          const config = storeConfig();
          const where = describeStore(config);
          file = where.audit;
          checkpointFile = options.checkpoints ?? where.checkpoints;
          result = await withStore<VerifyResult>(
            config,
            (store) => verifyThroughStore(store, checks, where.names, options.checkpoints),
            () => ({
              ok: false,
              records: 0,
              problem: 'there is no audit log here (set TIMEBOX_DATA_DIR, or --file)',
              signatures: {
                checked: keys.length > 0,
                checkpoints: 0,
                verified: 0,
                otherKeys: 0,
                unsignedTail: 0,
                every: checks.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
              },
            }),
          );
        }
        if (result.ok) {
          console.log(
            `${file}: ${result.records} record(s), chain verified.${result.head ? ` Head: ${result.head.seq}:${result.head.hash}` : ''}`,
          );
          console.log(describeSignatures(result, checkpointFile));
        } else {
          console.error(describe(file, result));
          process.exitCode = EXIT_CHAIN_BROKEN;
        }
      },
    );

  audit
    .command('export')
    .description('write the audit log as CSV or JSON (to stdout, or --out); verifies the chain first')
    .option(
      '--file <path>',
      'an audit file to read directly, past lines that are not records (default: the configured store, TIMEBOX_DATA_DIR, opened read-only)',
    )
    .option(
      '--format <format>',
      'csv or json',
      (value: string) => {
        if (value !== 'csv' && value !== 'json') throw new InvalidArgumentError('use csv or json.');
        return value as ExportFormat;
      },
      'csv' as ExportFormat,
    )
    .option('--since <time>', 'records at or after: 2026-11-01, 2026-11-01T14:00:00Z, or 7d back from now')
    .option('--until <time>', 'records before: same forms as --since')
    .option('--group <alias>', 'records of requests for this group only')
    .option('--out <path>', 'write to this file instead of stdout')
    .addOption(keyOption())
    .action(
      async (options: {
        file?: string;
        format: ExportFormat;
        since?: string;
        until?: string;
        group?: string;
        out?: string;
        key?: string[];
      }) => {
        const now = Date.now();
        const bound = (text: string | undefined, flag: string) => {
          if (text === undefined) return undefined;
          try {
            return parseTimeBound(text, now);
          } catch (error) {
            throw new DomainError(ErrorCodes.COMMAND_INVALID, `${flag}: ${(error as Error).message}`);
          }
        };
        const since = bound(options.since, '--since');
        const until = bound(options.until, '--until');
        const keys = (options.key ?? []).map(loadKey);
        const wanted: ExportOptions = { format: options.format, since, until, group: options.group };
        // The export goes ahead on a broken chain (an investigator needs what is there), but says so.
        const warnIfBroken = (label: string, verified: VerifyResult) => {
          if (verified.ok) return;
          console.error(
            `warning: ${describe(label, verified)} The export below includes records that cannot be trusted.`,
          );
          process.exitCode = EXIT_CHAIN_BROKEN;
        };
        const open = () => (options.out ? createWriteStream(options.out) : process.stdout);
        let out: Writable;
        let result: ExportResult;
        if (options.file) {
          const file = options.file;
          if (!existsSync(file))
            throw new DomainError(
              ErrorCodes.COMMAND_INVALID,
              `${file} does not exist (set --file or TIMEBOX_DATA_DIR).`,
            );
          warnIfBroken(file, await verifyAuditFile(file, { storeFile: storeFileBeside(file), keys }));
          out = open();
          result = await exportAudit(file, wanted, out);
        } else {
          const config = storeConfig();
          const where = describeStore(config);
          ({ out, result } = await withStore(
            config,
            async (store) => {
              warnIfBroken(where.audit, await verifyThroughStore(store, { keys }, where.names));
              const to = open();
              return { out: to, result: await exportAuditRecords(store.readAudit(), wanted, to) };
            },
            () => {
              throw new DomainError(
                ErrorCodes.COMMAND_INVALID,
                `${where.audit} does not exist (set --file or TIMEBOX_DATA_DIR).`,
              );
            },
          ));
        }
        if (options.out) {
          out.end();
          await once(out, 'finish');
        }
        const { exported, unreadable, nonconforming, stopped } = result;
        const flagged = nonconforming
          ? `, ${nonconforming} of them from lines verify refuses (fields the log never writes were dropped)`
          : '';
        console.error(
          `${exported} record(s) exported${flagged}${unreadable ? `, ${unreadable} unreadable line(s) skipped` : ''}.`,
        );
        if (stopped !== undefined) {
          // NB: the store refuses to read past a line that is not a record; --file reads past it.
          console.error(
            `warning: the export stopped there: ${stopped} (timebox audit export --file reads past such lines).`,
          );
          process.exitCode = EXIT_CHAIN_BROKEN;
        }
      },
    );
}
