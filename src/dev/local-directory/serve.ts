import { readFileSync } from 'node:fs';
import { validateFaultSpec, type FaultSpec } from './faults';
import { startLocalDirectory, type LocalDirectoryHandle, type LocalDirectorySeed } from './server';

export interface ServeOptions {
  seed: string;
  port?: string | number;
  host?: string;
  state?: string;
  /** A fault spec or an array of them, as JSON. */
  faults?: string;
}

function parseFaults(text: string | undefined): FaultSpec[] {
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`--faults is not JSON: ${(error as Error).message}`);
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).map(validateFaultSpec);
}

/**
 * Runs the local directory until SIGINT/SIGTERM: what `timebox directory serve` and
 * `tsx src/dev/local-directory/main.ts` do. Prints exactly one line when listening.
 */
export async function serveLocalDirectory(
  options: ServeOptions,
  log: (line: string) => void = console.log,
): Promise<LocalDirectoryHandle> {
  let seed: LocalDirectorySeed;
  try {
    seed = JSON.parse(readFileSync(options.seed, 'utf8')) as LocalDirectorySeed;
  } catch (error) {
    throw new Error(`cannot read the seed ${options.seed}: ${(error as Error).message}`);
  }
  const port = options.port === undefined ? 5100 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, not "${options.port}"`);
  const handle = await startLocalDirectory({
    seed,
    port,
    host: options.host,
    stateFile: options.state,
    faults: parseFaults(options.faults),
  });
  log(`local directory listening on ${handle.url}`);
  const stop = (): void => {
    handle.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`local directory did not stop cleanly: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return handle;
}
