import { Command } from 'commander';
import { DomainError } from '../../src/domain/errors';

type Register = (program: Command) => void;
type Env = Record<string, string | undefined>;

/** What one in-process run printed, stream by stream and in order, and its exit code. */
interface Printed {
  code: number;
  lines: Array<{ stream: 'stdout' | 'stderr'; text: string }>;
}

/**
 * Runs `timebox <args>` in-process with only the commands `register` adds, under `env` (restored
 * after), as src/cli.ts would end it: exit 2 for a DomainError (a refusal), 1 for anything else,
 * else the process.exitCode the command set (restored after, so it never leaks into jest's).
 * console.log is stdout, console.error stderr; a thrown error's message is stderr's last line.
 */
async function run(register: Register, args: string[], env: Env): Promise<Printed> {
  const program = new Command('timebox').exitOverride();
  register(program);
  const lines: Printed['lines'] = [];
  const capture =
    (stream: 'stdout' | 'stderr') =>
    (...a: unknown[]) =>
      void lines.push({ stream, text: a.join(' ') });
  const log = jest.spyOn(console, 'log').mockImplementation(capture('stdout'));
  const error = jest.spyOn(console, 'error').mockImplementation(capture('stderr'));
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Env) => {
    for (const [k, v] of Object.entries(values))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  apply(env);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: Number(process.exitCode ?? 0), lines };
  } catch (e) {
    lines.push({ stream: 'stderr', text: (e as Error).message });
    return { code: e instanceof DomainError ? 2 : 1, lines };
  } finally {
    process.exitCode = exitCode;
    apply(saved);
    log.mockRestore();
    error.mockRestore();
  }
}

/** `timebox <args>` in this process (see `run`): its exit code and everything printed, as one text. */
export async function runCli(
  register: Register,
  args: string[],
  env: Env = {},
): Promise<{ code: number; out: string }> {
  const { code, lines } = await run(register, args, env);
  return { code, out: lines.map((l) => l.text).join('\n') };
}

/** `timebox <args>` in this process (see `run`): its exit code, stdout and stderr apart. */
export async function runCliStreams(
  register: Register,
  args: string[],
  env: Env = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, lines } = await run(register, args, env);
  const of = (stream: 'stdout' | 'stderr') =>
    lines
      .filter((l) => l.stream === stream)
      .map((l) => l.text)
      .join('\n');
  return { code, stdout: of('stdout'), stderr: of('stderr') };
}
