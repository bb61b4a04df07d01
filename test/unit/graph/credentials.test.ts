import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { authorityHostFor, credentialFromEnv } from '../../../src/adapters/graph/credentials';
import { createDirectoryFromEnv, graphBaseUrlFromEnv } from '../../../src/adapters/graph/create-directory';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { graphScopeFor } from '../../../src/adapters/graph/graph-http';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';

const GRAPH = 'https://graph.microsoft.com/v1.0';
const app = {
  AZURE_TENANT_ID: '11111111-1111-4111-8111-111111111111',
  AZURE_CLIENT_ID: '22222222-2222-4222-8222-222222222222',
};

describe("credential selection from @azure/identity's variables", () => {
  test('client secret', () => {
    const selected = credentialFromEnv({ ...app, AZURE_CLIENT_SECRET: 'shh' }, GRAPH);
    expect(selected.credential).toBeInstanceOf(ClientSecretCredential);
    expect(selected.description).toContain(app.AZURE_CLIENT_ID);
    expect(selected.description).not.toContain('shh');
  });

  test('client certificate', () => {
    const selected = credentialFromEnv(
      { ...app, AZURE_CLIENT_CERTIFICATE_PATH: '/etc/timebox/graph.pem' },
      GRAPH,
    );
    expect(selected.credential).toBeInstanceOf(ClientCertificateCredential);
    expect(selected.description).toContain('/etc/timebox/graph.pem');
  });

  test('workload identity (AKS)', () => {
    expect(
      credentialFromEnv({ ...app, AZURE_FEDERATED_TOKEN_FILE: '/var/run/token' }, GRAPH).credential,
    ).toBeInstanceOf(WorkloadIdentityCredential);
  });

  test('managed identity: user-assigned by AZURE_CLIENT_ID, else system-assigned', () => {
    const user = credentialFromEnv({ AZURE_CLIENT_ID: app.AZURE_CLIENT_ID }, GRAPH);
    expect(user.credential).toBeInstanceOf(ManagedIdentityCredential);
    expect(user.description).toBe(`user-assigned managed identity ${app.AZURE_CLIENT_ID}`);
    const system = credentialFromEnv({}, GRAPH);
    expect(system.credential).toBeInstanceOf(ManagedIdentityCredential);
    expect(system.description).toBe('system-assigned managed identity');
  });

  test('a secret without tenant or client id names what is missing', () => {
    expect(() => credentialFromEnv({ AZURE_CLIENT_SECRET: 'shh' }, GRAPH)).toThrow(
      /AZURE_TENANT_ID and AZURE_CLIENT_ID/,
    );
    const error = (() => {
      try {
        credentialFromEnv({ AZURE_CLIENT_ID: 'x', AZURE_CLIENT_SECRET: 'shh' }, GRAPH);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCodes.DIRECTORY_AUTH);
  });

  test('secret and certificate together are refused as ambiguous', () => {
    expect(() =>
      credentialFromEnv({ ...app, AZURE_CLIENT_SECRET: 's', AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' }, GRAPH),
    ).toThrow(/not both|keep one/);
  });
});

describe('national clouds', () => {
  test('token scope follows the Graph host', () => {
    expect(graphScopeFor(GRAPH)).toBe('https://graph.microsoft.com/.default');
    expect(graphScopeFor('https://graph.microsoft.us/v1.0')).toBe('https://graph.microsoft.us/.default');
    expect(graphScopeFor('https://dod-graph.microsoft.us/v1.0')).toBe(
      'https://dod-graph.microsoft.us/.default',
    );
    expect(graphScopeFor('https://microsoftgraph.chinacloudapi.cn/v1.0')).toBe(
      'https://microsoftgraph.chinacloudapi.cn/.default',
    );
  });

  test('sign-in host follows the cloud unless AZURE_AUTHORITY_HOST says otherwise', () => {
    expect(authorityHostFor(GRAPH, {})).toBeUndefined();
    expect(authorityHostFor('https://graph.microsoft.us/v1.0', {})).toBe('https://login.microsoftonline.us');
    expect(authorityHostFor('https://microsoftgraph.chinacloudapi.cn/v1.0', {})).toBe(
      'https://login.chinacloudapi.cn',
    );
    expect(
      authorityHostFor('https://graph.microsoft.us/v1.0', { AZURE_AUTHORITY_HOST: 'https://login.example' }),
    ).toBe('https://login.example');
  });
});

describe('createDirectoryFromEnv', () => {
  test('default endpoint is global Graph v1.0; a trailing slash is dropped', () => {
    expect(graphBaseUrlFromEnv({})).toBe(GRAPH);
    expect(graphBaseUrlFromEnv({ GRAPH_BASE_URL: 'http://127.0.0.1:5100/v1.0/' })).toBe(
      'http://127.0.0.1:5100/v1.0',
    );
  });

  test('a base URL without version or not a URL is refused', () => {
    expect(() => graphBaseUrlFromEnv({ GRAPH_BASE_URL: 'https://graph.microsoft.com' })).toThrow(/version/);
    expect(() => graphBaseUrlFromEnv({ GRAPH_BASE_URL: 'graph' })).toThrow(/not a URL/);
  });

  test('the local directory needs no credential at all', () => {
    const directory = createDirectoryFromEnv({ GRAPH_BASE_URL: 'http://127.0.0.1:5100/v1.0' });
    expect(directory).toBeInstanceOf(GraphDirectory);
    expect((directory as GraphDirectory).baseUrl).toBe('http://127.0.0.1:5100/v1.0');
  });

  test('Graph itself needs a valid credential configuration', () => {
    expect(() => createDirectoryFromEnv({ AZURE_CLIENT_SECRET: 'x' })).toThrow(/AZURE_TENANT_ID/);
    expect(createDirectoryFromEnv({ ...app, AZURE_CLIENT_SECRET: 'x' })).toBeInstanceOf(GraphDirectory);
  });
});
