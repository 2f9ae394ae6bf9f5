import { describe, expect, it } from 'vitest';
import type { ColumnStats, ProductionStats } from '../src/production-stats.js';
import { parseSource } from '../src/sql/parse.js';
import type { PreparedMigration } from '../src/stages/context.js';
import { predictFindings } from '../src/stages/predictions.js';
import './support/sql.js';

const col = (name: string, type: string, extra: Partial<ColumnStats> = {}): ColumnStats => ({ name, type, nullFrac: 0, nDistinct: -1, avgWidth: 8, ...extra });

const STATS: ProductionStats = {
  version: 1,
  exportedAt: '2026-01-01T00:00:00.000Z',
  postgres: '17.2',
  database: 'app',
  withValues: true,
  tables: [
    {
      schema: 'public',
      name: 'users',
      rows: 48_000_000,
      pages: 1,
      tableBytes: 1,
      totalBytes: 1,
      indexes: [],
      columns: [
        col('phone', 'text', { nullFrac: 0.02 }),
        col('country', 'text', { nDistinct: 190 }),
        col('city', 'text', { nDistinct: 20_000 }),
        col('code', 'text', { mostCommonValues: ['n/a', '12'], mostCommonFreqs: [0.03, 0.01] }),
        col('name', 'character varying(200)', { avgWidth: 64 }),
      ],
    },
    { schema: 'billing', name: 'invoices', rows: 1000, pages: 1, tableBytes: 1, totalBytes: 1, indexes: [], columns: [col('note', 'text', { nullFrac: 0.5 })] },
  ],
  unreadable: [],
};

function migration(version: string, sql: string): PreparedMigration {
  const up = { file: `migrations/${version}.up.sql`, text: sql };
  return { migration: { version, name: version, up, down: undefined, underTest: true } as PreparedMigration['migration'], up: parseSource(up), down: undefined };
}
const rules = (...sql: string[]) => predictFindings(sql.map((s, i) => migration(String(i + 1).padStart(4, '0'), s)), STATS).map((f) => `${f.migration}:${f.line} ${f.severity} ${f.rule}`);

describe('predictions from production statistics', () => {
  it('names the figure: NULL fraction and rows', () => {
    const [f] = predictFindings([migration('0001', 'ALTER TABLE users ALTER COLUMN phone SET NOT NULL;')], STATS);
    expect(f!.message).toBe('fails in production: about 2.0% of 48,000,000 users rows have phone NULL (pg_stats null_frac 0.02)');
    expect(rules('ALTER TABLE billing.invoices ALTER note SET NOT NULL;')).toEqual(['0001:1 error predicted-not-null-violation']);
  });

  it('bounds distinct combinations by the product of each column: too few is a duplicate, enough says nothing', () => {
    expect(rules('CREATE UNIQUE INDEX ON users (country);')).toEqual(['0001:1 error predicted-unique-violation']);
    expect(rules('CREATE UNIQUE INDEX ON users (country, city);')).toEqual(['0001:1 error predicted-unique-violation']);
    // 190 * 20,000 * a unique column: the statistics cannot show duplicates.
    expect(rules('ALTER TABLE users ADD CONSTRAINT u UNIQUE (country, phone);')).toEqual([]);
    // Partial and expression indexes are beyond per-column statistics.
    expect(rules('CREATE UNIQUE INDEX ON users (country) WHERE phone IS NOT NULL;', 'CREATE UNIQUE INDEX ON users (lower(country));')).toEqual([]);
  });

  it('keeps quiet where the statistics no longer describe the data', () => {
    expect(rules("UPDATE users SET phone = '' WHERE phone IS NULL;\nALTER TABLE users ALTER phone SET NOT NULL;")).toEqual([]);
    expect(rules("DO $$ BEGIN UPDATE users SET phone = '' WHERE phone IS NULL; END $$;", 'ALTER TABLE users ALTER phone SET NOT NULL;')).toEqual([]);
    expect(rules('ALTER TABLE users RENAME COLUMN code TO phone2;\nALTER TABLE users RENAME COLUMN phone TO code;\nALTER TABLE users ALTER code SET NOT NULL;')).toEqual([]);
    expect(rules('DROP TABLE users;\nCREATE TABLE users (phone text);\nALTER TABLE users ALTER phone SET NOT NULL;')).toEqual([]);
    expect(rules("ALTER TABLE users ALTER code TYPE integer USING nullif(code, 'n/a')::integer;")).toEqual([]);
    expect(rules('ALTER TABLE users ADD CONSTRAINT c CHECK (code IN (\'12\')) NOT VALID;')).toEqual([]);
  });

  it('tells a certain overflow (an error) from a likely one (a warning)', () => {
    expect(rules('ALTER TABLE users ALTER code TYPE bigint USING code::bigint;')).toEqual(['0001:1 error predicted-type-overflow']);
    expect(rules('ALTER TABLE users ALTER name TYPE varchar(50);')).toEqual(['0001:1 warning predicted-type-overflow']);
    expect(rules('ALTER TABLE users ALTER name TYPE varchar(100);')).toEqual([]);
    expect(rules("ALTER TABLE users ADD CHECK (code <> 'n/a');", "ALTER TABLE users ADD CHECK (code IN ('n/a', '12'));")).toEqual(['0001:1 error predicted-check-violation']);
  });

  it('sees an empty new parent under a foreign key over rows that are set', () => {
    expect(rules('CREATE TABLE countries (code text PRIMARY KEY);\nALTER TABLE users ADD FOREIGN KEY (country) REFERENCES countries (code);')).toEqual(['0001:2 error predicted-foreign-key-violation']);
    expect(rules("CREATE TABLE countries (code text PRIMARY KEY);\nINSERT INTO countries SELECT DISTINCT country FROM users;\nALTER TABLE users ADD FOREIGN KEY (country) REFERENCES countries (code);")).toEqual([]);
  });
});
