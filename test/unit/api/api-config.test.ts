import { exportJWK, generateKeyPair } from 'jose';
import { DEFAULT_API_CALL_RATE_LIMIT, loadConfig } from '../../../src/config';

const TENANT = '11111111-2222-3333-4444-555555555555';
const PROD = { MicrosoftAppId: 'bot-app', MicrosoftAppTenantId: TENANT };

describe('the workflow API’s settings (§6)', () => {
  it('off unless TIMEBOX_API_AUDIENCE names an audience', () => {
    expect(loadConfig({ TIMEBOX_DEV: '1' }).api).toBeUndefined();
    expect(loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_API_AUDIENCE: ' , ' }).api).toBeUndefined();
  });

  it('on: the audiences, the tenant, Entra’s metadata for it by default, the public URL, a call limit', () => {
    const api = loadConfig({
      ...PROD,
      TIMEBOX_API_AUDIENCE: 'api://timebox, 99999999-0000-0000-0000-000000000001',
      TIMEBOX_URL: 'https://timebox.contoso.com/',
    }).api;
    expect(api).toEqual({
      audiences: ['api://timebox', '99999999-0000-0000-0000-000000000001'],
      tenantId: TENANT,
      metadataUrl: `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`,
      publicUrl: 'https://timebox.contoso.com',
      approvalKeys: undefined,
      callRateLimit: DEFAULT_API_CALL_RATE_LIMIT,
    });
    expect(
      loadConfig({
        ...PROD,
        TIMEBOX_API_AUDIENCE: 'api://timebox',
        TIMEBOX_URL: 'https://t.example',
        AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us',
      }).api?.metadataUrl,
    ).toBe(`https://login.microsoftonline.us/${TENANT}/v2.0/.well-known/openid-configuration`);
  });

  it('local mode relaxes nothing of authentication: the tenant is required; only TIMEBOX_URL may default', () => {
    expect(() => loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_API_AUDIENCE: 'api://timebox' })).toThrow(
      /TIMEBOX_API_AUDIENCE is set, so MicrosoftAppTenantId must be too/,
    );
    expect(
      loadConfig({ TIMEBOX_DEV: '1', MicrosoftAppTenantId: TENANT, TIMEBOX_API_AUDIENCE: 'api://timebox' })
        .api?.publicUrl,
    ).toBeUndefined();
    expect(() => loadConfig({ ...PROD, TIMEBOX_API_AUDIENCE: 'api://timebox' })).toThrow(
      /TIMEBOX_URL must be too/,
    );
  });

  it('an issuer or public URL that is not https (or loopback http) is refused', () => {
    const base = { ...PROD, TIMEBOX_API_AUDIENCE: 'api://timebox', TIMEBOX_URL: 'https://t.example' };
    expect(() => loadConfig({ ...base, TIMEBOX_API_OPENID_METADATA: 'http://issuer.example/x' })).toThrow(
      /TIMEBOX_API_OPENID_METADATA must be https/,
    );
    expect(() => loadConfig({ ...base, TIMEBOX_URL: 'http://timebox.contoso.com' })).toThrow(
      /TIMEBOX_URL must be https/,
    );
    expect(
      loadConfig({
        ...base,
        TIMEBOX_API_OPENID_METADATA: 'http://127.0.0.1:9/t/v2.0/.well-known/openid-configuration',
      }).api?.metadataUrl,
    ).toMatch(/^http:\/\/127\.0\.0\.1/);
  });

  it('TIMEBOX_APPROVAL_KEYS is checked at start; TIMEBOX_API_RATE_LIMIT takes "n/window" or "off"', async () => {
    const base = { ...PROD, TIMEBOX_API_AUDIENCE: 'api://timebox', TIMEBOX_URL: 'https://t.example' };
    expect(() => loadConfig({ ...base, TIMEBOX_APPROVAL_KEYS: '{"keys":[]}' })).toThrow(
      /TIMEBOX_APPROVAL_KEYS has no keys/,
    );
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const keys = JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k1' }] });
    expect(loadConfig({ ...base, TIMEBOX_APPROVAL_KEYS: keys }).api?.approvalKeys).toBe(keys);
    expect(loadConfig({ ...base, TIMEBOX_API_RATE_LIMIT: '30/1m' }).api?.callRateLimit).toEqual({
      max: 30,
      windowMs: 60_000,
    });
    expect(loadConfig({ ...base, TIMEBOX_API_RATE_LIMIT: 'off' }).api?.callRateLimit).toBeUndefined();
    expect(() => loadConfig({ ...base, TIMEBOX_API_RATE_LIMIT: 'lots' })).toThrow(/TIMEBOX_API_RATE_LIMIT/);
  });
});
