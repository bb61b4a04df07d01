import { readFileSync, readdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { createHttpApp, type HttpDeps } from '../../../src/adapters/http/http-app';
import { loadConfig } from '../../../src/config';
import { silentLogger } from '../../../src/ports/logger';

/**
 * infra/ has no Bicep compiler here (PLATFORM.md): these checks read the template's text and
 * hold it to the code — every variable it sets is one Timebox reads, the ones Timebox needs are
 * set, the probes hit real routes, each API version comes from infra/api-versions.json.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const bicep = readFileSync(path.join(ROOT, 'infra', 'azure.bicep'), 'utf8');

/** `name: 'X'` directly followed by `value:` or `secretRef:` — a container app's env entry. */
function templateEnv(): Map<string, string> {
  const env = new Map<string, string>();
  for (const m of bicep.matchAll(/name: '([^']+)'\s*\n\s*(value|secretRef): ([^\n]+)/g)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(m[1]!)) env.set(m[1]!, m[3]!.trim());
  }
  return env;
}

/** Every environment variable production code reads (src without src/dev): `env.X` or `env['X']`. */
function variablesTimeboxReads(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const file = path.join(dir, entry);
      if (statSync(file).isDirectory()) {
        if (path.relative(ROOT, file) !== path.join('src', 'dev')) walk(file);
      } else if (file.endsWith('.ts')) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(
          /\benv\.([A-Za-z_][A-Za-z0-9_]*)|\benv\[['"]([A-Za-z_][A-Za-z0-9_]*)['"]\]/g,
        ))
          names.add((m[1] ?? m[2])!);
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return names;
}

describe('infra/azure.bicep', () => {
  it('sets only environment variables Timebox reads', () => {
    const env = templateEnv();
    expect(env.size).toBeGreaterThanOrEqual(8);
    const read = variablesTimeboxReads();
    expect(read.has('MicrosoftAppId')).toBe(true);
    expect([...env.keys()].filter((name) => !read.has(name))).toEqual([]);
  });

  it('sets what production needs, and loadConfig accepts it', () => {
    const env = templateEnv();
    for (const name of [
      'PORT',
      'TIMEBOX_POLICY',
      'TIMEBOX_DATA_DIR',
      'MicrosoftAppId',
      'MicrosoftAppType',
      'MicrosoftAppTenantId',
      'AZURE_CLIENT_ID',
      'TIMEBOX_METRICS_PORT',
    ]) {
      expect([name, env.has(name)]).toEqual([name, true]);
    }
    expect(env.has('TIMEBOX_DEV')).toBe(false);
    expect(env.get('MicrosoftAppType')).toBe("'UserAssignedMSI'");
    // Literal values as they are; Bicep expressions become sample values of the right shape.
    const sample: Record<string, string> = {};
    for (const [name, value] of env) {
      const literal = /^'([^'$]*)'$/.exec(value);
      sample[name] = literal
        ? literal[1]!
        : name.endsWith('PORT')
          ? '3978'
          : name === 'TIMEBOX_METRICS_PORT'
            ? '9464'
            : '00000000-0000-4000-8000-000000000001';
    }
    sample.TIMEBOX_METRICS_PORT = '9464';
    delete sample.TIMEBOX_AUDIT_KEY;
    delete sample.DATABASE_URL;
    const config = loadConfig(sample);
    expect(config).toMatchObject({
      dev: false,
      host: '0.0.0.0',
      dataDir: '/data',
      policyFile: '/config/timebox.policy.yaml',
      port: 3978,
    });
    // The policy file is mounted where TIMEBOX_POLICY points.
    expect(bicep).toMatch(/mountPath: '\/config'/);
    expect(bicep).toMatch(/path: 'timebox\.policy\.yaml'/);
    expect(bicep).toMatch(/mountPath: '\/data'/);
  });

  it('takes every API version from infra/api-versions.json, and the list has nothing unused', () => {
    const list = JSON.parse(readFileSync(path.join(ROOT, 'infra', 'api-versions.json'), 'utf8')) as Record<
      string,
      string
    >;
    delete list.$comment;
    const used = [...bicep.matchAll(/^resource \w+ '([^'@]+)@([^']+)'/gm)].map(
      (m) => [m[1]!, m[2]!] as const,
    );
    expect(used.length).toBeGreaterThanOrEqual(10);
    for (const [type, version] of used) expect([type, version]).toEqual([type, list[type]]);
    expect(Object.keys(list).sort()).toEqual([...new Set(used.map(([type]) => type))].sort());
  });

  it('has the resources PRODUCT.md §14 names', () => {
    for (const type of [
      'Microsoft.ManagedIdentity/userAssignedIdentities',
      'Microsoft.BotService/botServices',
      'Microsoft.BotService/botServices/channels',
      'Microsoft.App/containerApps',
      'Microsoft.DBforPostgreSQL/flexibleServers',
      'Microsoft.OperationalInsights/workspaces',
      'Microsoft.KeyVault/vaults',
    ]) {
      expect(bicep).toContain(`'${type}@`);
    }
    expect(bicep).toMatch(/channelName: 'MsTeamsChannel'/);
    expect(bicep).toMatch(/endpoint: 'https:\/\/\$\{[^}]+\}\/api\/messages'/);
    expect(bicep).toMatch(/msaAppType: 'UserAssignedMSI'/);
    expect(bicep).toMatch(/activeDirectoryAuth: 'Enabled'/);
    expect(bicep).toMatch(/passwordAuth: 'Disabled'/);
  });

  it('never scales to zero: one replica with lowdb, two with PostgreSQL', () => {
    const min = /minReplicas: usePostgres \? (\d+) : (\d+)/.exec(bicep);
    const max = /maxReplicas: usePostgres \? (\d+) : (\d+)/.exec(bicep);
    expect(min && [Number(min[1]), Number(min[2])]).toEqual([2, 1]);
    // lowdb: exactly one writer.
    expect(max && Number(max[2])).toBe(1);
    expect(bicep).toMatch(/activeRevisionsMode: 'Single'/);
  });

  it('probes /healthz and /readyz on the port the app listens on, and both routes answer', async () => {
    const probes = [
      ...bicep.matchAll(
        /type: '(Liveness|Readiness|Startup)'\s*\n\s*httpGet: \{\s*\n\s*path: '([^']+)'\s*\n\s*port: (\w+)/g,
      ),
    ].map((m) => ({ type: m[1]!, path: m[2]!, port: m[3]! }));
    expect(probes.map((p) => `${p.type} ${p.path}`).sort()).toEqual([
      'Liveness /healthz',
      'Readiness /readyz',
      'Startup /healthz',
    ]);
    expect(new Set(probes.map((p) => p.port))).toEqual(new Set(['port']));
    expect(bicep).toMatch(/targetPort: port\n/);
    expect(templateEnv().get('PORT')).toBe('string(port)');
    const app = createHttpApp({
      adapter: {} as HttpDeps['adapter'],
      bot: {} as HttpDeps['bot'],
      logger: silentLogger,
      ready: async () => ({ ok: true }),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const probe of probes)
        expect([probe.path, (await fetch(base + probe.path)).status]).toEqual([probe.path, 200]);
    } finally {
      server.close();
    }
  });

  it('keeps secrets in Key Vault and out of plain values', () => {
    expect(bicep).toMatch(/@secure\(\)\nparam auditKey string/);
    expect(bicep).toMatch(/keyVaultUrl: auditKeySecret\.properties\.secretUri/);
    expect(templateEnv().get('TIMEBOX_AUDIT_KEY')).toBe("'timebox-audit-key'");
    expect(bicep).toMatch(/enableRbacAuthorization: true/);
  });

  it('has a parameters file for the declared parameters, and m365agents.yml provisions them', () => {
    const declared = [...bicep.matchAll(/^param (\w+) \w+( = .*)?$/gm)].map((m) => ({
      name: m[1]!,
      required: !m[2],
    }));
    const parameters = JSON.parse(
      readFileSync(path.join(ROOT, 'infra', 'azure.parameters.json'), 'utf8'),
    ) as { parameters: Record<string, unknown> };
    const given = Object.keys(parameters.parameters);
    expect(given.filter((name) => !declared.some((d) => d.name === name))).toEqual([]);
    expect(declared.filter((d) => d.required && !given.includes(d.name)).map((d) => d.name)).toEqual([]);
    const project = parse(readFileSync(path.join(ROOT, 'm365agents.yml'), 'utf8')) as {
      provision: Array<{ uses: string; with: { templates: Array<{ path: string; parameters: string }> } }>;
    };
    const deploy = project.provision.find((step) => step.uses === 'arm/deploy');
    expect(deploy?.with.templates).toEqual([
      { path: './infra/azure.bicep', parameters: './infra/azure.parameters.json', deploymentName: 'timebox' },
    ]);
  });
});
