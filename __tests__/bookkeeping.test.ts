import { describe, expect, it } from 'vitest';
import { bookkeepingOf, isBookkeepingTable } from '../src/db/bookkeeping.js';
import { runPipeline } from '../src/pipeline.js';
import { configFor, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

describe('bookkeeping tables', () => {
  it("are the format's own, and every known tool's only when the tool is unknown", () => {
    expect(isBookkeepingTable('public', 'flyway_schema_history', bookkeepingOf('flyway'))).toBe(true);
    expect(isBookkeepingTable('public', 'flyway_schema_history', bookkeepingOf('golang-migrate'))).toBe(false);
    expect(isBookkeepingTable('public', 'schema_migrations', bookkeepingOf('golang-migrate'))).toBe(true);
    expect(isBookkeepingTable('sqitch', 'changes', bookkeepingOf('sqitch'))).toBe(true);
    expect(isBookkeepingTable('sqitch', 'changes', bookkeepingOf('goose'))).toBe(false);
    expect(isBookkeepingTable('public', 'migrations', bookkeepingOf('dbmate'))).toBe(false);
    // A migration tool run through up-command could be any of them.
    expect(isBookkeepingTable('public', 'knex_migrations', bookkeepingOf('command'))).toBe(true);
    expect(isBookkeepingTable('sqitch', 'changes', bookkeepingOf('command'))).toBe(true);
  });
});

describe.each(servers().slice(0, 1))('on $name', ({ url }) => {
  it("seeds and compares a table that only bears another tool's name", async () => {
    const root = makeRepo({
      'migrations/0001_history.up.sql': 'CREATE TABLE flyway_schema_history (id int PRIMARY KEY, note text);\n',
      'migrations/0001_history.down.sql': 'DROP TABLE flyway_schema_history;\n',
      // The down forgets the column: a rollback finding on a table flyway would own, here the project's.
      'migrations/0002_source.up.sql': 'ALTER TABLE flyway_schema_history ADD COLUMN source text;\n',
      'migrations/0002_source.down.sql': 'SELECT 1;\n',
      // Fails only on a table that holds rows: the table was seeded.
      'migrations/0003_required.up.sql': 'ALTER TABLE flyway_schema_history ADD COLUMN required int NOT NULL;\n',
      'migrations/0003_required.down.sql': 'ALTER TABLE flyway_schema_history DROP COLUMN required;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    const errors = report.findings.filter((f) => f.severity === 'error').map((f) => `${f.migration} ${f.rule}: ${f.message}`);
    expect(errors.find((e) => e.startsWith('0002 ') && /source/.test(e))).toBeDefined();
    expect(errors.find((e) => e.startsWith('0003 ') && /fails-with-rows|apply-failed/.test(e))).toBeDefined();
  });
});
