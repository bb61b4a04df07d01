import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEV_API_APP, DEV_API_AUDIENCE, DEV_APPS, DEV_TENANT_ID, type DevApp } from './dev-identity';
import { startLocalIssuer, type LocalIssuerHandle } from './issuer';

/** What `npm run dev` writes for `npm run dev:pipeline` (in .dev/pipeline.json): where to ask, as whom. */
export interface DevPipelineFile {
  timeboxUrl: string;
  /** The audience the pipeline client asks a token for (its `/.default` scope). */
  audience: string;
  tokenUrl: string;
  apps: Array<Pick<DevApp, 'name' | 'clientId' | 'secret'>>;
}

export const PIPELINE_FILE = 'pipeline.json';

export interface DevIssuer {
  handle: LocalIssuerHandle;
  /** The bot's workflow API settings: on, for the demo tenant, trusting this issuer only. */
  botEnv: NodeJS.ProcessEnv;
  /** Writes .dev/pipeline.json once the bot listens at `timeboxUrl`. */
  writeClientFile(timeboxUrl: string): void;
  /** Stops the issuer and removes .dev/pipeline.json (its secrets are no use without it). */
  close(): Promise<void>;
}

/** The local issuer with the demo tenant's registrations (dev-identity.ts), as `npm run dev` runs it. */
export async function startDevIssuer(options: { port: number; devDir: string }): Promise<DevIssuer> {
  const handle = await startLocalIssuer({
    tenantId: DEV_TENANT_ID,
    api: DEV_API_APP,
    apps: DEV_APPS,
    port: options.port,
  });
  const file = path.join(options.devDir, PIPELINE_FILE);
  let closed: Promise<void> | undefined;
  return {
    handle,
    botEnv: {
      TIMEBOX_API_AUDIENCE: DEV_API_AUDIENCE,
      TIMEBOX_API_OPENID_METADATA: handle.metadataUrl,
      // The playground's tenant: the API checks `tid` against it, and chat's activities name it too.
      MicrosoftAppTenantId: DEV_TENANT_ID,
    },
    writeClientFile(timeboxUrl) {
      const content: DevPipelineFile = {
        timeboxUrl,
        audience: DEV_API_AUDIENCE.split(',')[0]!,
        tokenUrl: handle.tokenUrl,
        apps: DEV_APPS.map(({ name, clientId, secret }) => ({ name, clientId, secret })),
      };
      mkdirSync(options.devDir, { recursive: true });
      writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    },
    close: () =>
      (closed ??= handle.close().finally(() => {
        rmSync(file, { force: true });
      })),
  };
}
