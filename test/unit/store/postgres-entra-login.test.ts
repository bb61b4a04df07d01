import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import {
  EntraLoginError,
  TOKEN_RENEW_BEFORE_MS,
  entraTokenPassword,
  postgresConnection,
} from '../../../src/adapters/store/postgres/entra-login';
import { isTransientPgError } from '../../../src/adapters/store/postgres/pg-errors';
import { connect } from '../../../src/adapters/store/postgres/import';
import { PostgresStore } from '../../../src/adapters/store/postgres/postgres-store';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { useEmbeddedPostgres } from '../../helpers/embedded-postgres';

/** A credential that hands out `token` (or fails), expiring `lifetimeMs` after `now()`, and counts the asks. */
class FakeCredential implements TokenCredential {
  readonly scopes: string[] = [];
  failWith?: Error;
  constructor(
    public token: string,
    private readonly now: () => number = Date.now,
    private readonly lifetimeMs = 60 * 60_000,
  ) {}
  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failWith) throw this.failWith;
    return { token: this.token, expiresOnTimestamp: this.now() + this.lifetimeMs };
  }
}

describe('DATABASE_URL without a password: an Entra token as the password', () => {
  it('leaves a URL with a password as it is, and never asks for a token', () => {
    let made = 0;
    const config = postgresConnection('postgres://timebox:secret@db.example:5432/timebox', {
      credential: () => {
        made += 1;
        return new FakeCredential('t');
      },
    });
    expect(config).toEqual({ connectionString: 'postgres://timebox:secret@db.example:5432/timebox' });
    expect(made).toBe(0);
  });

  it('without one, connects to the URL parts with a password function; the identity is chosen only when a password is asked', async () => {
    let made = 0;
    const credential = new FakeCredential('entra-token');
    const config = postgresConnection(
      'postgres://timebox-identity@srv.postgres.database.azure.com:5432/timebox?sslmode=verify-full',
      {
        credential: () => {
          made += 1;
          return credential;
        },
      },
    );
    expect(config).toMatchObject({
      host: 'srv.postgres.database.azure.com',
      port: 5432,
      user: 'timebox-identity',
      database: 'timebox',
    });
    expect(config.connectionString).toBeUndefined();
    expect(typeof config.password).toBe('function');
    expect(made).toBe(0);
    const password = config.password as () => Promise<string>;
    await expect(password()).resolves.toBe('entra-token');
    expect(credential.scopes).toEqual(['https://ossrdbms-aad.database.windows.net/.default']);
  });

  it.each([
    ['srv.postgres.database.usgovcloudapi.net', 'https://ossrdbms-aad.database.usgovcloudapi.net/.default'],
    ['srv.postgres.database.chinacloudapi.cn', 'https://ossrdbms-aad.database.chinacloudapi.cn/.default'],
    ['db.internal.example', 'https://ossrdbms-aad.database.windows.net/.default'],
  ])('asks the token for the cloud of %s', async (host, scope) => {
    const credential = new FakeCredential('t');
    const config = postgresConnection(`postgres://me@${host}/timebox`, { credential: () => credential });
    await (config.password as () => Promise<string>)();
    expect(credential.scopes).toEqual([scope]);
  });

  it('keeps one token for every connection until shortly before it expires, then gets a new one', async () => {
    let now = 1_000_000;
    const credential = new FakeCredential('first', () => now, 60 * 60_000);
    const password = entraTokenPassword(
      () => credential,
      'scope',
      () => now,
    );
    // Ten connections opening together: one request.
    const tokens = await Promise.all(Array.from({ length: 10 }, () => password()));
    expect(new Set(tokens)).toEqual(new Set(['first']));
    expect(credential.scopes).toHaveLength(1);
    now += 60 * 60_000 - TOKEN_RENEW_BEFORE_MS - 1;
    await expect(password()).resolves.toBe('first');
    expect(credential.scopes).toHaveLength(1);
    credential.token = 'second';
    now += 2;
    await expect(password()).resolves.toBe('second');
    expect(credential.scopes).toHaveLength(2);
  });

  it('a failed token is an EntraLoginError the store retries as unavailable, and the next ask tries again', async () => {
    const credential = new FakeCredential('t');
    credential.failWith = new Error('ManagedIdentityCredential: no managed identity endpoint found');
    const password = entraTokenPassword(() => credential, 'scope');
    const failure = await password().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EntraLoginError);
    expect((failure as Error).message).toMatch(
      /DATABASE_URL has no password.*Entra identity.*no managed identity endpoint/,
    );
    expect(isTransientPgError(failure)).toBe(true);
    credential.failWith = undefined;
    await expect(password()).resolves.toBe('t');
  });

  it('a credential the environment cannot make (secret without tenant) fails at the first password, saying why', async () => {
    const config = postgresConnection('postgres://me@srv.postgres.database.azure.com/timebox', {
      env: { AZURE_CLIENT_SECRET: 'x' },
    });
    await expect((config.password as () => Promise<string>)()).rejects.toThrow(
      /Entra identity.*AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID/,
    );
  });
});

describe('Entra sign-in against a real PostgreSQL (password authentication)', () => {
  const pg = useEmbeddedPostgres();

  /** The database's URL and the password the server wants, the URL without it. */
  async function database(): Promise<{ withoutPassword: string; password: string }> {
    const db = pg.freshDatabase();
    await db.ready;
    const url = new URL(db.url);
    const password = decodeURIComponent(url.password);
    url.password = '';
    return { withoutPassword: url.href, password };
  }

  it('opens the store with the token as the password, one token for the whole pool and its change feed', async () => {
    const { withoutPassword, password } = await database();
    const credential = new FakeCredential(password);
    const store = pg.track(
      new PostgresStore(withoutPassword, { entraLogin: { credential: () => credential } }),
    );
    await store.open();
    // Several connections at once: the pool opens more than one.
    await Promise.all(Array.from({ length: 6 }, () => store.listOpen()));
    await expect(store.health()).resolves.toMatchObject({ ok: true });
    expect(credential.scopes).toHaveLength(1);
    await store.close();
  });

  it('a token the server refuses fails the open (not retried: the role is wrong) with the server’s reason', async () => {
    const { withoutPassword } = await database();
    const store = pg.track(
      new PostgresStore(withoutPassword, {
        entraLogin: { credential: () => new FakeCredential('not-the-password') },
      }),
    );
    const failure = await store.open().catch((error: unknown) => error);
    expect((failure as DomainError).code).toBe(ErrorCodes.STORE_WRITE_FAILED);
    expect((failure as Error).message).toMatch(/28P01/);
    expect(JSON.stringify((failure as DomainError).details)).toMatch(/password authentication failed/);
  });

  it('no token: the open is STORE_UNAVAILABLE (retried by the bot) and says why', async () => {
    const { withoutPassword } = await database();
    const credential = new FakeCredential('t');
    credential.failWith = new Error('IMDS endpoint not reachable');
    const store = pg.track(
      new PostgresStore(withoutPassword, { entraLogin: { credential: () => credential } }),
    );
    const failure = await store.open().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DomainError);
    expect((failure as DomainError).code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    expect(JSON.stringify((failure as DomainError).details)).toMatch(/IMDS endpoint not reachable/);
  });

  it('the CLI’s own connection (db migrate, store copy) signs in the same way', async () => {
    const { withoutPassword, password } = await database();
    const client = await connect(withoutPassword, 'the test database', {
      credential: () => new FakeCredential(password),
    });
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
    expect(rows[0]?.one).toBe(1);
    await client.end();
  });
});
