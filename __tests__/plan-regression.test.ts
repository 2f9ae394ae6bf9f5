import { describe, expect, it } from 'vitest';
import type { RawOptions } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { describeWriteRatio, writeNoise, writeTimings } from '../src/stages/write-cost.js';
import type { Report } from '../src/report/model.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const USERS = {
  'migrations/1_users.up.sql':
    'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, n int NOT NULL);\nCREATE INDEX users_email_idx ON users (email);\n' +
    'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), total int NOT NULL);\nCREATE INDEX orders_user_id_idx ON orders (user_id);\n',
};

describe.each(servers())('query plans at volume on $name', ({ url }) => {
  const run = async (files: Record<string, string>, raw: RawOptions = {}): Promise<Report> => {
    const report = await runPipeline(configFor(makeRepo({ ...USERS, ...files }), url, { stages: 'performance', perfRows: '20000', ...raw }));
    expect(await leftoverScratchDatabases(url)).toEqual([]);
    return report;
  };
  const regressions = (r: Report) => r.findings.filter((f) => f.rule === 'plan-regression');

  it('warns when dropping an index turns the generated lookup by email into a sequential scan', async () => {
    const report = await run({ 'migrations/2_drop_idx.up.sql': 'DROP INDEX users_email_idx;\n' });
    const found = regressions(report);
    expect(found.map((f) => [f.severity, f.migration, f.file])).toEqual([['warning', '2', 'migrations/2_drop_idx.up.sql']]);
    expect(found[0]!.message).toMatch(/^after 2, the lookup of users by email turns an index scan into a sequential scan of users \(cost [\d.]+ -> [\d.]+\)$/);
    expect(found[0]!.detail).toMatch(/^before:\n  (Index|Bitmap).* using users_email_idx on users|^before:\n.*\n  Bitmap Index Scan using users_email_idx/s);
    expect(found[0]!.detail).toMatch(/after:\n  Seq Scan on users/);
  });

  it('plans the running release\'s queries, at their file and line, and stays quiet on a new index', async () => {
    const report = await run(
      {
        'migrations/2_drop_idx.up.sql': 'DROP INDEX orders_user_id_idx;\nCREATE INDEX CONCURRENTLY users_n_idx ON users (n);\n',
        'queries/app.sql': 'SELECT * FROM users WHERE n = $1;\n\nSELECT sum(total) FROM orders WHERE user_id = $1;\n',
      },
      { queries: 'queries/app.sql' },
    );
    expect(regressions(report).map((f) => [f.file, f.line, f.message.replace(/ \(cost .*$/, '')])).toEqual([
      ['queries/app.sql', 3, 'after 2, the query at queries/app.sql:3 turns an index scan into a sequential scan of orders'],
    ]);
  });

  it('says nothing for a migration that keeps every plan', async () => {
    const report = await run({ 'migrations/2_col.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n' });
    expect(regressions(report)).toEqual([]);
  });
});

describe('write-cost wording', () => {
  it('says unchanged inside the noise band and slower by a factor outside it; never faster', () => {
    expect([1, 1.04, 0.93, 1.0999].map((r) => describeWriteRatio(r))).toEqual(Array(4).fill('unchanged (within 10%)'));
    expect(describeWriteRatio(2.34)).toBe('2.3× slower');
    expect(describeWriteRatio(1.1)).toBe('1.1× slower');
    // What a migration adds cannot speed inserts up: a faster reading is the machine.
    expect(describeWriteRatio(0.5)).toBe('unchanged (within 10%)');
    expect(describeWriteRatio(14.6)).toBe('15× slower');
    expect(describeWriteRatio(1.3, 0.35)).toBe('unchanged (within 35%)');
  });

  it('widens the noise band to what the runs of either side moved among themselves', () => {
    const steady = writeTimings([100, 101, 102, 103, 104]);
    expect(steady).toEqual({ fastest: 100, spread: 0.02, slowest: 104 });
    expect(writeNoise(steady, steady)).toBe(0.1);
    const loaded = writeTimings([180, 100, 140, 300, 120]);
    expect(loaded.fastest).toBe(100);
    expect(loaded.spread).toBeCloseTo(0.4);
    expect(writeNoise(steady, loaded)).toBeCloseTo(0.4);
  });
});

describe.each(servers())('write cost on $name', ({ url }) => {
  it('times inserts before and after a migration that adds indexes to a table with rows, and reports the ratio', async () => {
    const report = await runPipeline(
      configFor(
        makeRepo({
          ...USERS,
          'migrations/2_more_idx.up.sql':
            'CREATE INDEX CONCURRENTLY users_n_idx ON users (n);\nCREATE INDEX CONCURRENTLY users_email_n_idx ON users (email, n);\nCREATE INDEX CONCURRENTLY users_lower_email_idx ON users (lower(email));\n',
          'migrations/3_col.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
        }),
        url,
        { stages: 'performance', perfRows: '20000' },
      ),
    );
    const found = report.findings.filter((f) => f.rule === 'write-cost');
    // The ratio is measured; what it is depends on the machine, what it says does not.
    expect(found.map((f) => [f.migration, f.file])).toEqual([['2', 'migrations/2_more_idx.up.sql']]);
    expect(found[0]!.message).toMatch(/^inserts into users ([\d.]+× slower|unchanged \(within \d+%\)) after 2: 3 new indexes$/);
    expect(found[0]!.detail).toMatch(/^2,000 generated rows, rolled back, fastest of 5: [\d.]+ ms before, [\d.]+ ms after/);
    expect(['notice', 'warning']).toContain(found[0]!.severity);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('times the batch as the application inserts: a new trigger fires on it', async () => {
    // A trigger that refuses every insert shows it ran: with triggers off the batch would be timed.
    const report = await runPipeline(
      configFor(
        makeRepo({
          ...USERS,
          'migrations/2_guard.up.sql':
            "CREATE FUNCTION users_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'users are frozen'; END $$;\n" +
            'CREATE TRIGGER users_frozen BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_frozen();\n',
        }),
        url,
        { stages: 'performance', perfRows: '20000' },
      ),
    );
    const found = report.findings.filter((f) => f.rule === 'write-cost');
    expect(found.map((f) => [f.migration, f.severity])).toEqual([['2', 'notice']]);
    expect(found[0]!.message).toMatch(/^inserts into users could not be timed after 2 \(1 new trigger\): .*users are frozen/);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});
