import { PostgresStore, type PostgresStoreOptions } from '../../src/adapters/store/postgres/postgres-store';
import type { TestDatabase } from './embedded-postgres';

/** A PostgresStore on a database the helper is still creating: open() waits for it. */
export class StoreOnFreshDatabase extends PostgresStore {
  constructor(
    private readonly database: TestDatabase,
    options: PostgresStoreOptions = {},
  ) {
    super({ connectionString: database.url, max: 4 }, options);
  }
  override async open(): Promise<void> {
    await this.database.ready;
    return super.open();
  }
}
