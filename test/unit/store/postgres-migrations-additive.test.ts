import { MIGRATIONS, type Migration } from '../../../src/adapters/store/postgres/migrations';

/**
 * During a rolling deploy the old revision runs on the schema the new one migrated
 * (docs/deploy.md, "What a rolling deploy does"). That is safe only while every migration after
 * the first adds: nothing dropped, renamed or retyped, no new NOT NULL column without a default,
 * no constraint the old code's writes could break. A migration that must do more needs a
 * two-step deploy (expand, then contract a release later), and this test changed on purpose.
 */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bDROP\b/i, 'drops something the old revision still uses'],
  [/\bRENAME\b/i, 'renames something the old revision still uses'],
  [/\bALTER\s+COLUMN\b[^;]*\bTYPE\b/i, 'changes a column type under the old revision'],
  [/\bSET\s+NOT\s+NULL\b/i, 'makes a column the old revision may leave empty NOT NULL'],
  [
    /\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\w+\s+[^,;]*\bNOT\s+NULL\b(?![^,;]*\bDEFAULT\b)/i,
    'adds a NOT NULL column without a default: the old revision’s inserts would fail',
  ],
  [/\bADD\s+CONSTRAINT\b/i, 'adds a constraint the old revision’s writes may break'],
];

function problems(migration: Migration): string[] {
  return FORBIDDEN.filter(([pattern]) => pattern.test(migration.sql)).map(
    ([, why]) => `migration ${migration.version} (${migration.name}) ${why}`,
  );
}

describe('schema migrations only add (old and new revisions share the schema in a rolling deploy)', () => {
  it.each(MIGRATIONS.filter((m) => m.version > 1).map((m) => [m.version, m] as const))(
    'migration %i adds only',
    (_version, migration) => {
      expect(problems(migration)).toEqual([]);
    },
  );

  it('the check catches what it is for', () => {
    const sample = (sql: string): Migration => ({ version: 99, name: 'sample', sql });
    expect(problems(sample('ALTER TABLE requests DROP COLUMN doc;'))).toHaveLength(1);
    expect(problems(sample('ALTER TABLE effects RENAME TO outbox;'))).toHaveLength(1);
    expect(problems(sample('ALTER TABLE requests ADD COLUMN tier text NOT NULL;'))).toHaveLength(1);
    expect(problems(sample("ALTER TABLE requests ADD COLUMN tier text NOT NULL DEFAULT 'x';"))).toEqual([]);
    expect(problems(sample('CREATE TABLE welcomes (key text PRIMARY KEY, at bigint NOT NULL);'))).toEqual([]);
  });
});
