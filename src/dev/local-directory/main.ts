import { parseArgs } from 'node:util';
import { serveLocalDirectory } from './serve';

// npx tsx src/dev/local-directory/main.ts --seed examples/demo.directory.json --port 5100 --state .dev/directory.json [--faults '<json>']
const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: 'examples/demo.directory.json' },
    port: { type: 'string', default: '5100' },
    host: { type: 'string', default: '127.0.0.1' },
    state: { type: 'string' },
    faults: { type: 'string' },
  },
});

serveLocalDirectory({
  seed: values.seed as string,
  port: values.port,
  host: values.host,
  state: values.state,
  faults: values.faults,
}).catch((error: unknown) => {
  console.error(`local directory: ${(error as Error).message}`);
  process.exit(1);
});
