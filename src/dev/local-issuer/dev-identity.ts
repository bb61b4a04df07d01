// The made-up Entra registrations of `npm run dev`'s demo tenant: the Timebox API's app and the
// pipelines that may ask the local issuer for a token. examples/demo.policy.yaml names the same
// ids under `clients:`; a real tenant has its own (docs/workflow-api.md).

/** A workload identity the local issuer knows: an app registration and its service principal. */
export interface DevApp {
  /** What the launcher and `npm run dev:pipeline` call it (TIMEBOX_DEV_APP). */
  name: string;
  displayName: string;
  /** The application (client) id: `azp` of its tokens, `clients.<name>.appId` in the policy. */
  clientId: string;
  /** A fixed secret: the issuer answers on 127.0.0.1 only and its tokens are trusted by the dev bot alone. */
  secret: string;
  /** The service principal's object id (`oid`): the requester when the pipeline asks for itself. */
  objectId: string;
}

/** The playground's tenant (.m365agentsplayground.yml): one tenant for chat and for the API. */
export const DEV_TENANT_ID = 'c0000000-0000-4000-8000-000000000001';

/** The Timebox API's app registration ("Expose an API"): v2 tokens carry the client id as `aud`. */
export const DEV_API_APP = {
  clientId: 'c0000000-0000-4000-8000-0000000000a1',
  appIdUri: 'api://c0000000-0000-4000-8000-0000000000a1',
} as const;

/** The bot's TIMEBOX_API_AUDIENCE in local mode; the pipeline client asks for the first one's /.default. */
export const DEV_API_AUDIENCE = `${DEV_API_APP.appIdUri},${DEV_API_APP.clientId}`;

export const DEV_APPS: readonly DevApp[] = [
  {
    name: 'dev-pipeline',
    displayName: 'Demo deploy pipeline',
    clientId: 'c1000000-0000-4000-8000-000000000001',
    secret: 'dev-pipeline-local-secret',
    objectId: 'c2000000-0000-4000-8000-000000000001',
  },
  {
    // Not in the demo policy's `clients:`: its token is valid, and Timebox answers 403.
    name: 'dev-stranger',
    displayName: 'An app the policy does not know',
    clientId: 'c1000000-0000-4000-8000-000000000002',
    secret: 'dev-stranger-local-secret',
    objectId: 'c2000000-0000-4000-8000-000000000002',
  },
];

export const DEFAULT_ISSUER_PORT = 5200;
