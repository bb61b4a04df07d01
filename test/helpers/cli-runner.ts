import { Command } from 'commander';
import { DomainError } from '../../src/domain/errors';

/**
 * Runs `timebox <args>` in-process with only the commands `register` adds, under `env` (restored
 * after), as the CLI's own error handler would end it: exit 2 for a DomainError (a refusal),
 * 1 for anything else. Everything printed (log and error) comes back as one text.
 */
export async function runCli(
  register: (program: Command) => void,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; out: string }> {
  const program = new Command('timebox').exitOverride();
  register(program);
  const printed: string[] = [];
  const capture = (...a: unknown[]) => void printed.push(a.join(' '));
  const log = jest.spyOn(console, 'log').mockImplementation(capture);
  const error = jest.spyOn(console, 'error').mockImplementation(capture);
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  };
  apply(env);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, out: printed.join('\n') };
  } catch (e) {
    return { code: e instanceof DomainError ? 2 : 1, out: [...printed, (e as Error).message].join('\n') };
  } finally {
    apply(saved);
    log.mockRestore();
    error.mockRestore();
  }
}
