import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, type RawOptions } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { renderSummary } from '../src/report/summary.js';
import type { Finding, Report, StatementMeasure } from '../src/report/model.js';
import { projectDuration } from '../src/stages/projection.js';
import { configFor, leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const brief = (f: Finding) => `${f.rule}@${f.migration}:${f.line}`;
const notNotice = (r: Report) => r.findings.filter((f) => f.severity !== 'notice');
const at = (r: Report, migration: string, line: number): StatementMeasure => {
  const s = r.statements.find((x) => x.migration === migration && x.line === line);
  if (!s) throw new Error(`no statement ${migration}:${line} in ${JSON.stringify(r.statements.map((x) => `${x.migration}:${x.line}`))}`);
  return s;
};

const USERS = {
  'migrations/1_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, n int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());',
};

describe.each(servers())('performance stage on $name', ({ url }) => {
  const run = async (files: Record<string, string>, raw: RawOptions = {}): Promise<Report> => {
    const root = makeRepo(files);
    const report = await runPipeline(configFor(root, url, { stages: 'performance', perfRows: '20000', ...raw }));
    expect(await leftoverScratchDatabases(url)).toEqual([]);
    return report;
  };

  it('times a plain CREATE INDEX on 500,000 rows with its ShareLock, and fails it past the threshold', async () => {
    const report = await run(
      { ...USERS, 'migrations/2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email);" },
      { perfRows: '500000', perfThresholdMs: '1' },
    );
    const index = at(report, '2', 2);
    expect(index.head).toBe('CREATE INDEX users_email_idx ON users (email)');
    expect(index.durationMs).toBeGreaterThan(0);
    expect(index.rows).toBe(500_000);
    expect(index.locks).toEqual([{ relation: 'users', mode: 'ShareLock' }]);
    expect(index.rewrites).toEqual([]);
    expect(index.holds).toEqual([{ relation: 'users', mode: 'ShareLock', blocks: 'writes', ms: expect.any(Number), untilLine: 2 }]);
    expect(index.holds![0]!.ms).toBeGreaterThanOrEqual(index.durationMs);

    expect(report.verdict).toBe('fail');
    // Even at a 1 ms threshold the CREATE TABLE of migration 1 is not too slow: it works on no rows.
    const errors = report.findings.filter((f) => f.severity === 'error' && f.migration === '2');
    expect(errors.map(brief)).toEqual(['too-slow@2:2']);
    expect(errors[0]!.message).toMatch(
      /^2 takes [\d.]+ (ms|s) with 500,000 rows per table, over perf-threshold-ms \(1 ms\); slowest: line 2 `CREATE INDEX users_email_idx ON users \(email\)`, [\d.]+ (ms|s) under ShareLock on users \(blocks writes\)$/,
    );
    const warning = report.findings.find((f) => f.rule === 'index-not-concurrent')!;
    expect(warning.detail).toMatch(/^measured [\d.]+ (ms|s) with 500,000 rows in users; ShareLock on users until commit$/);
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'fail']);
    expect(report.findings.filter((f) => f.migration === '1' && f.rule === 'too-slow')).toEqual([]);
    // Far over the threshold: one run decides, and the finding says so.
    expect(errors[0]!.detail).toMatch(/^one run, \d+% over the threshold\nShareLock on users until commit$/);
  }, 60_000);

  it('times a migration near the threshold three times and keeps the fastest run', async () => {
    // A threshold near what the index takes: the first estimate lands within a factor of 3.
    const probe = await run({ ...USERS, 'migrations/2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email);" }, { perfRows: '200000' });
    const ms = at(probe, '2', 2).durationMs;
    // The estimate comes from a run at a quarter of the rows; on a loaded machine one such run can
    // land more than 3 times off, and then one run rightly decides: take another sample then.
    let report: Report | undefined;
    for (let attempt = 0; attempt < 3 && !(report && at(report, '2', 2).runsMs); attempt++) {
      report = await run(
        { ...USERS, 'migrations/2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email);" },
        { perfRows: '200000', perfThresholdMs: String(Math.max(1, Math.round(ms))) },
      );
    }
    const index = at(report!, '2', 2);
    expect(index.runsMs).toHaveLength(3);
    expect(index.durationMs).toBe(Math.min(...index.runsMs!));
    const tooSlow = report!.findings.find((f) => f.rule === 'too-slow');
    if (tooSlow) expect(tooSlow.detail).toMatch(/^fastest of 3 runs \([^)]*; they differ by \d+%\), \d+% (over|under) the threshold/);
  }, 240_000);

  it('passes the same index under the threshold, and sees no rewrite in it', async () => {
    const report = await run({ ...USERS, 'migrations/2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email);" });
    expect(report.verdict).toBe('pass');
    expect(notNotice(report).map(brief)).toEqual(['index-not-concurrent@2:2']);
    expect(at(report, '2', 2).locks).toEqual([{ relation: 'users', mode: 'ShareLock' }]);
  });

  it('tells rewrites from metadata-only changes', async () => {
    const report = await run({
      ...USERS,
      'migrations/2_columns.up.sql': [
        "SET lock_timeout = '5s';",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
        'ALTER TABLE users ADD COLUMN score float8 DEFAULT random();',
        'ALTER TABLE users ALTER COLUMN n TYPE bigint;',
        'ALTER TABLE users ADD COLUMN seq bigserial;',
      ].join('\n'),
    });
    expect(at(report, '2', 2).rewrites).toEqual([]);
    expect(at(report, '2', 3).rewrites).toEqual(['users']);
    expect(at(report, '2', 4).rewrites).toEqual(['users']);
    expect(at(report, '2', 4).rebuiltIndexes).toEqual(['users_pkey']);
    expect(at(report, '2', 5).rewrites).toEqual(['users']);
    expect(at(report, '2', 2).locks).toEqual([{ relation: 'users', mode: 'AccessExclusiveLock' }]);
    // One warning per rewrite: the hazard that explains it, or the measured rewrite when none does.
    expect(notNotice(report).map(brief)).toEqual(['volatile-default@2:3', 'column-type-rewrite@2:4', 'table-rewrite@2:5']);
    const rewrite = report.findings.find((f) => f.rule === 'table-rewrite')!;
    expect(rewrite.severity).toBe('warning');
    expect(rewrite.message).toBe('ALTER TABLE users ADD COLUMN seq bigserial rewrites users (20,000 rows) while AccessExclusiveLock blocks reads and writes');
    expect(rewrite.detail).toMatch(/^measured [\d.]+ m?s with 20,000 rows in users; AccessExclusiveLock on users until commit; rewrote users$/);
    // The table stays locked against reads from line 2 to the commit.
    expect(at(report, '2', 2).holds).toEqual([{ relation: 'users', mode: 'AccessExclusiveLock', blocks: 'reads', ms: expect.any(Number), untilLine: 5 }]);
  });

  it('raises no performance warning for a table the migration creates and indexes', async () => {
    const report = await run({
      ...USERS,
      'migrations/2_tags.up.sql': [
        'CREATE TABLE tags (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users, name text NOT NULL);',
        'CREATE INDEX tags_name_idx ON tags (name);',
        'ALTER TABLE tags ADD COLUMN token uuid DEFAULT gen_random_uuid();',
        'ALTER TABLE tags ALTER COLUMN name SET NOT NULL;',
        "INSERT INTO tags (user_id, name) SELECT id, 'tag' || id FROM users;",
        'CREATE UNIQUE INDEX tags_user_name_idx ON tags (user_id, name);',
      ].join('\n'),
    });
    expect(notNotice(report)).toEqual([]);
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'pass']);
    // The parent the new table references was filled and locked briefly, without blocking reads.
    expect(at(report, '2', 1).locks).toEqual(expect.arrayContaining([{ relation: 'users', mode: 'ShareRowExclusiveLock' }]));
    expect(at(report, '2', 1).rows).toBe(20_000);
  });

  it('projects whole-table work by bytes from production-stats, other work per row by rows', async () => {
    // Production's users rows are 50 times as wide as the generated ones: an index build reads them
    // all, an UPDATE of one column per row does not read more rows for it.
    const stats = (bytesPerRow: number) => ({
      version: 1, exportedAt: '2026-01-01T00:00:00.000Z', postgres: '17.2', database: 'prod', withValues: false, unreadable: [],
      tables: [{ schema: 'public', name: 'users', rows: 1_000_000, pages: 0, tableBytes: 0, totalBytes: 1_000_000 * bytesPerRow, indexes: [], columns: [] }],
    });
    const files = {
      ...USERS,
      'migrations/2_index.up.sql': ["SET lock_timeout = '5s';", 'CREATE INDEX users_email_idx ON users (email);', 'UPDATE users SET n = n + 1;'].join('\n'),
      'stats.json': JSON.stringify(stats(5_000)),
    };
    const report = await run(files, { productionStats: 'stats.json' });
    const index = at(report, '2', 2);
    const update = at(report, '2', 3);
    expect(index.productionRows).toBe(1_000_000);
    expect(index.productionBytes).toBe(5_000_000_000);
    expect(update.productionRows).toBe(1_000_000);
    expect(update.productionBytes).toBeUndefined();
    // 50 rows' worth of bytes per production row: the index build projects far past its row ratio, the update does not.
    expect(index.projectedMs! / index.durationMs).toBeGreaterThan((5 * update.projectedMs!) / update.durationMs);
    expect(report.findings.find((f) => f.rule === 'too-slow' || f.rule === 'index-not-concurrent')?.detail).toMatch(/at 1,000,000 rows \(4\.7 GB\)/);

    // production-rows is the row part: a bigger count scales the file's bytes per row with it.
    const more = await run(files, { productionStats: 'stats.json', productionRows: 'users=2e6' });
    expect(at(more, '2', 2).productionRows).toBe(2_000_000);
    expect(at(more, '2', 2).productionBytes).toBe(10_000_000_000);
  }, 120_000);

  it('projects to production rows: an index grows with the table, a metadata change does not', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/2_index.up.sql': [
          "SET lock_timeout = '5s';",
          'CREATE INDEX users_email_idx ON users (email);',
          "ALTER TABLE users ADD COLUMN note text DEFAULT 'none';",
        ].join('\n'),
      },
      { productionRows: 'users=2e8,unrelated=5' },
    );
    const index = at(report, '2', 2);
    const column = at(report, '2', 3);
    expect(index.productionRows).toBe(200_000_000);
    expect(index.projectedMs!).toBeGreaterThan(index.durationMs * 100);
    expect(column.projectedMs).toBe(column.durationMs);
    const hold = index.holds![0]!;
    expect(hold).toMatchObject({ relation: 'users', blocks: 'writes', mode: 'ShareLock', untilLine: 3 });
    expect(hold.projectedMs!).toBeGreaterThan(index.projectedMs! - 1);

    const error = report.findings.find((f) => f.rule === 'too-slow')!;
    expect(error.severity).toBe('error');
    expect(error.line).toBe(2);
    expect(error.message).toMatch(
      /^2 would take .+ at production size, over perf-threshold-ms \(10 s\); slowest: line 2 `CREATE INDEX users_email_idx ON users \(email\)`, .+ under ShareLock on users \(blocks writes\)$/,
    );
    expect(error.detail).toMatch(/projected .+ at 200,000,000 rows/);

    // A name that matches no table is most likely a typo.
    expect(report.findings.filter((f) => f.rule === 'unknown-production-table').map((f) => f.message)).toEqual([
      'production-rows names unrelated, but no table of that name exists after the migrations; nothing is projected for it',
    ]);

    const summary = renderSummary(report);
    expect(summary).toMatch(/\| Statement \| Time \| Locks and rewrites \| At production size \|/);
    expect(summary).toMatch(/### Lock holds/);
    expect(summary).toMatch(/\| `2` \| `users` \| writes \(Share\) \| lines 2–3 \| [\d.]+ m?s \| .+ \|/);
  });

  it('honours ignore comments for measured rules too', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/2_quiet.up.sql': [
          "SET lock_timeout = '5s';",
          '-- small table in production',
          '-- migration-ci: ignore index-not-concurrent, too-slow',
          'CREATE INDEX users_email_idx ON users (email);',
          '-- migration-ci: ignore table-rewrite, too-slow',
          'ALTER TABLE users ADD COLUMN seq bigserial;',
        ].join('\n'),
      },
      { perfThresholdMs: '1' },
    );
    const findings = notNotice(report).filter((f) => f.migration === '2');
    // Without the comments: index-not-concurrent at 4, table-rewrite at 6, too-slow at the slower of the two.
    // The hold of users against reads from line 6 is a separate rule, left on.
    expect(findings.map(brief)).toEqual(['long-lock@2:6']);
  });

  it('warns and goes on when the migration fails only on the generated values at volume', async () => {
    const report = await run(
      {
        'migrations/1_items.up.sql': 'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL);',
        'migrations/2_check.up.sql': 'ALTER TABLE items ADD CONSTRAINT qty_small CHECK (qty <= 15000);',
        'migrations/3_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY items_qty_idx ON items (qty);",
      },
      { stages: 'syntax,performance' },
    );
    // At 100 rows (syntax) the check holds; at 20,000 it does not.
    const dependent = report.findings.filter((f) => f.rule === 'data-dependent');
    expect(dependent.map((f) => `${f.stage}:${f.severity}:${f.line}`)).toEqual(['performance:warning:1']);
    expect(dependent[0]!.message).toMatch(/violated by some row — fails on the 20,000 generated rows per table: items rows that violate the new CHECK make it fail; .*The migration was not timed$/);
    // Not timed, but still read: the check was added without NOT VALID and without lock_timeout.
    expect(notNotice(report).map(brief).sort()).toEqual(['constraint-not-valid@2:1', 'data-dependent@2:1', 'missing-lock-timeout@2:1']);
    expect(report.verdict).toBe('pass');
    expect(report.statements.filter((s) => s.migration === '2')).toEqual([]);
    const index = at(report, '3', 2);
    expect(index.rows).toBe(20_000);
    expect(index.outsideTransaction).toBe(true);
    expect(index.locks).toEqual([{ relation: 'items', mode: 'ShareUpdateExclusiveLock' }]);
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'warn', 'pass']);
  });

  it('warns when a table could be filled only part of the way, naming the table and the count', async () => {
    const report = await run(
      {
        'migrations/1_levels.up.sql': 'CREATE TABLE levels (id smallint PRIMARY KEY CHECK (id > 0), name text NOT NULL);',
        'migrations/2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY levels_name_idx ON levels (name);",
      },
      { perfRows: '40000' },
    );
    const short = report.findings.filter((f) => f.rule === 'measured-on-fewer-rows');
    expect(short.map((f) => `${f.severity}@${f.migration}`)).toEqual(['warning@2']);
    expect(short[0]!.message).toMatch(/^2 was measured on 31,767 of 40,000 rows in levels: id \(smallint\) holds 31767 generated values$/);
    expect(at(report, '2', 2).rows).toBe(31_767);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'warn']);
  });

  it('warns when the fill of a table times out, naming the table: never a silent pass', async () => {
    const report = await run(
      {
        'migrations/1_t.up.sql': [
          "CREATE FUNCTION slow_ok(v int) RETURNS boolean LANGUAGE sql AS 'SELECT v IS NOT NULL FROM pg_sleep(0.001)';",
          'CREATE TABLE slowt (id int PRIMARY KEY, n int NOT NULL CHECK (slow_ok(n)));',
          'CREATE TABLE fast (id int PRIMARY KEY, n int NOT NULL);',
        ].join('\n'),
        'migrations/2_cols.up.sql': "SET lock_timeout = '5s';\nALTER TABLE slowt ADD COLUMN x int;\nALTER TABLE fast ADD COLUMN x int;",
      },
      { perfRows: '8000', statementTimeoutMs: '2000' },
    );
    const short = report.findings.filter((f) => f.rule === 'measured-on-fewer-rows');
    expect(short.map((f) => `${f.severity}@${f.migration}`)).toEqual(['warning@2']);
    expect(short[0]!.message).toMatch(/^2 was measured on \d+ of 8,000 rows in slowt: canceling statement due to statement timeout$/);
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'warn']);
  });

  it('exits with a database error when no table the migrations touch could be filled', async () => {
    const root = makeRepo({
      'migrations/1_pairs.up.sql': 'CREATE TABLE pairs (id int PRIMARY KEY, lo int NOT NULL, hi int NOT NULL, CHECK (lo > hi));',
      'migrations/2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY pairs_lo_idx ON pairs (lo);",
    });
    await expect(runPipeline(configFor(root, url, { stages: 'performance', perfRows: '20000' }))).rejects.toMatchObject({
      name: 'InputError',
      kind: 'database',
      message: expect.stringMatching(/could not fill any table the migrations touch, so nothing could be measured \(2\): 2 was measured on 0 of 20,000 rows in pairs: .*check constraint/),
    });
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('reports a statement that runs past statement-timeout at volume as an error, and goes on', async () => {
    const report = await run(
      {
        'migrations/1_items.up.sql': [
          'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL);',
          "CREATE FUNCTION slow(v int) RETURNS int LANGUAGE sql AS 'SELECT v FROM pg_sleep(0.001)';",
        ].join('\n'),
        'migrations/2_backfill.up.sql': 'UPDATE items SET qty = slow(qty);',
        'migrations/3_more.up.sql': "SET lock_timeout = '5s';\nALTER TABLE items ADD COLUMN note text;",
      },
      { statementTimeoutMs: '1000' },
    );
    const errors = report.findings.filter((f) => f.severity === 'error');
    expect(errors.map(brief)).toEqual(['statement-timeout@2:1']);
    expect(errors[0]!.message).toMatch(/^canceling statement due to statement timeout: this statement ran past statement-timeout \(1,000 ms\) with 20,000 rows per table/);
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'fail', 'pass']);
    expect(at(report, '3', 2).rows).toBe(20_000);
  });

  it('measures only the migrations that touch a critical table', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/2_orders.up.sql': 'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL);',
        'migrations/3_users.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX users_n_idx ON users (n);",
        'migrations/4_orders.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX orders_user_idx ON orders (user_id);",
        'critical.txt': '# the big ones\norders\n',
      },
      { criticalTables: 'critical.txt' },
    );
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['skip', 'skip', 'skip', 'warn']);
    expect([...new Set(report.statements.map((s) => s.migration))]).toEqual(['4']);
    expect(notNotice(report).map(brief)).toEqual(['index-not-concurrent@4:2']);
  });

  it('reports a migration that does not apply as an error when it is the only stage, as a notice otherwise', async () => {
    const files = {
      ...USERS,
      'migrations/2_bad.up.sql': 'ALTER TABLE accounts ADD COLUMN region text;',
      'migrations/3_after.up.sql': 'SELECT 1;',
    };
    const alone = await run(files);
    expect(alone.findings.map((f) => `${f.stage}:${f.severity}:${f.rule}`)).toEqual([
      'performance:error:apply-failed',
      'performance:notice:not-measured',
    ]);
    expect(alone.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'fail', 'skip']);
    expect(alone.findings[1]!.message).toBe('3 was not measured: 2 could not be applied, so the migrations after it were not reached');
    const both = await run(files, { stages: 'syntax,performance' });
    expect(both.findings.filter((f) => f.stage === 'performance').map((f) => `${f.severity}:${f.rule}`)).toEqual(['notice:not-measured', 'notice:not-measured']);
    expect(both.findings.filter((f) => f.severity === 'error').map((f) => `${f.stage}:${f.rule}`)).toEqual(['syntax:apply-failed']);
  });

  it('fails a NOT NULL column nothing fills as fails-with-rows, once, and measures the migrations after it', async () => {
    const files = {
      ...USERS,
      'migrations/2_bad.up.sql': 'ALTER TABLE users ADD COLUMN region text NOT NULL;',
      'migrations/3_after.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY users_n_idx ON users (n);",
    };
    const alone = await run(files, { perfRows: '4000' });
    const errors = alone.findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => `${f.stage}:${f.rule}@${f.migration}:${f.line}`)).toEqual(['performance:fails-with-rows@2:1']);
    expect(errors[0]!.message).toMatch(/users\.region is added NOT NULL without a default, so any row of users fails it; the migration was not timed$/);
    expect(alone.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'fail', 'pass']);
    expect(at(alone, '3', 2).rows).toBe(4_000);
    const both = await run(files, { stages: 'syntax,performance', perfRows: '4000' });
    expect(both.findings.filter((f) => f.severity === 'error').map((f) => `${f.stage}:${f.rule}`)).toEqual(['syntax:fails-with-rows']);
    expect(both.findings.filter((f) => f.stage === 'performance' && f.migration === '2' && f.rule !== 'missing-lock-timeout').map((f) => `${f.severity}:${f.rule}`)).toEqual(['notice:not-measured']);
    expect(at(both, '3', 2).rows).toBe(4_000);
  });

  it('goes on from the state before the generated rows: no TRUNCATE or DELETE, the rows the migrations inserted kept', async () => {
    const report = await run(
      {
        'migrations/1_schema.up.sql': [
          'CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);',
          'CREATE TABLE members (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs, user_id int NOT NULL, role text NOT NULL);',
          'CREATE TABLE templates (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs);',
          'CREATE TABLE settings (key text PRIMARY KEY, value int NOT NULL);',
          "INSERT INTO settings VALUES ('default_owner', 7);",
          "CREATE FUNCTION keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'rows of % are kept', TG_TABLE_NAME; END $$;",
          'CREATE TRIGGER templates_keep BEFORE TRUNCATE OR DELETE ON templates FOR EACH STATEMENT EXECUTE FUNCTION keep_rows();',
          'CREATE TRIGGER settings_keep BEFORE TRUNCATE OR DELETE ON settings FOR EACH STATEMENT EXECUTE FUNCTION keep_rows();',
        ].join('\n'),
        // The backfill finds an owner only for organisations with an 'owner' member: none among the generated rows.
        'migrations/2_created_by.up.sql': [
          'ALTER TABLE templates ADD COLUMN created_by int;',
          "UPDATE templates SET created_by = (SELECT m.user_id FROM members m WHERE m.org_id = templates.org_id AND m.role = 'owner' LIMIT 1);",
          'ALTER TABLE templates ALTER COLUMN created_by SET NOT NULL;',
        ].join('\n'),
        // Needs the row migration 1 inserted.
        'migrations/3_owner.up.sql': [
          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM settings WHERE key = 'default_owner') THEN RAISE EXCEPTION 'the default_owner setting is missing'; END IF; END $$;",
          "SET lock_timeout = '5s';",
          'CREATE INDEX CONCURRENTLY templates_created_by_idx ON templates (created_by);',
        ].join('\n'),
      },
      { perfRows: '4000' },
    );
    const dependent = report.findings.filter((f) => f.rule === 'data-dependent');
    expect(dependent.map((f) => `${f.stage}:${f.severity}@${f.migration}:${f.line}`)).toEqual(['performance:warning@2:3']);
    expect(dependent[0]!.message).toMatch(/templates rows that the backfill at line 2 leaves NULL in created_by \(rows with no matching row in members\) make SET NOT NULL fail/);
    // Failing on the values at a quarter of the rows already, it is not filled further to fail again.
    expect(dependent[0]!.message).toMatch(/fails on the 1,000 generated rows per table/);
    expect(report.findings.filter((f) => f.rule === 'measured-on-fewer-rows')).toEqual([]);
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.findings.filter((f) => f.rule === 'fill-fires-triggers')).toEqual([]);
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'warn', expect.stringMatching(/^(pass|warn)$/)]);
    // Measured on generated rows again after the restore.
    expect(at(report, '3', 3).rows).toBe(4_000);
    expect(report.verdict).toBe('pass');
  });

  it('counts a partitioned table once, with its partitions, and says how to index it', async () => {
    const report = await run({
      'migrations/1_events.up.sql': [
        'CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, kind text NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);',
        "CREATE TABLE events_old PARTITION OF events FOR VALUES FROM ('2000-01-01') TO ('2020-01-01');",
        'CREATE TABLE events_new PARTITION OF events DEFAULT;',
      ].join('\n'),
      'migrations/2_change.up.sql': [
        "SET lock_timeout = '5s';",
        'CREATE INDEX events_kind_idx ON events (kind);',
        'ALTER TABLE events ALTER COLUMN kind TYPE varchar(20);',
      ].join('\n'),
    });
    expect(notNotice(report).map(brief)).toEqual(['index-not-concurrent@2:2', 'column-type-rewrite@2:3']);
    expect(report.findings.find((f) => f.rule === 'index-not-concurrent')!.hint).toMatch(/^CREATE INDEX ON ONLY the partitioned table/);
    const change = at(report, '2', 3);
    expect(change.rows).toBe(20_000);
    expect(change.locks).toEqual([{ relation: 'events', mode: 'AccessExclusiveLock' }]);
    expect([...change.rewrites].sort()).toEqual(['events_new', 'events_old']);
    expect(at(report, '2', 2).holds!.map((h) => `${h.relation}:${h.blocks}`)).toEqual(['events:writes']);
  });

  it('follows a file that manages its own transaction: locks last until its COMMIT', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/2_own.up.sql': [
          'BEGIN;',
          "SET LOCAL lock_timeout = '5s';",
          'ALTER TABLE users ADD COLUMN plan text;',
          "UPDATE users SET plan = 'free';",
          'COMMIT;',
          'CREATE INDEX CONCURRENTLY users_plan_idx ON users (plan);',
        ].join('\n'),
      },
      { perfThresholdMs: '100000' },
    );
    const alter = at(report, '2', 3);
    expect(alter.locks).toEqual([{ relation: 'users', mode: 'AccessExclusiveLock' }]);
    expect(alter.holds).toEqual([{ relation: 'users', mode: 'AccessExclusiveLock', blocks: 'reads', ms: expect.any(Number), untilLine: 5 }]);
    const update = at(report, '2', 4);
    expect(alter.holds![0]!.ms).toBeGreaterThanOrEqual(alter.durationMs + update.durationMs);
    expect(at(report, '2', 6)).toMatchObject({ outsideTransaction: true, locks: [{ relation: 'users', mode: 'ShareUpdateExclusiveLock' }] });
    expect(notNotice(report)).toEqual([]);
  });

  it('passes the bundled examples through syntax and performance without a warning', async () => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/migrations', databaseUrl: url, stages: 'syntax,performance', perfRows: '20000' }));
    expect(notNotice(report)).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.performance)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(report.statements.length).toBeGreaterThan(6);
    expect(fs.existsSync(path.join(repoRoot, 'examples/migrations'))).toBe(true);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});

describe('projectDuration', () => {
  it('keeps catalog-only statements at their time, fits per-row work through two sizes', () => {
    expect(projectDuration({ ms: 0.6, rows: 20_000 }, { ms: 0.5, rows: 5_000 }, 1e9, 'fixed')).toBe(0.6);
    // 10 ms more for 15,000 more rows: 1 ms per 1,500 rows on top of 20 ms.
    expect(projectDuration({ ms: 20, rows: 20_000 }, { ms: 10, rows: 5_000 }, 2_000_000, 'per-row')).toBeCloseTo(20 + (10 / 15_000) * 1_980_000);
    // Per-row work whose growth hid in fixed costs: proportional to the rows.
    expect(projectDuration({ ms: 12, rows: 20_000 }, { ms: 11, rows: 5_000 }, 200_000, 'per-row')).toBeCloseTo(120);
    expect(projectDuration({ ms: 12, rows: 20_000 }, undefined, 200_000, 'per-row')).toBeCloseTo(120);
    // Unknown code: fitted only when it clearly grew and took some time.
    expect(projectDuration({ ms: 3, rows: 20_000 }, { ms: 1, rows: 5_000 }, 1e9, 'unknown')).toBe(3);
    expect(projectDuration({ ms: 40, rows: 20_000 }, { ms: 10, rows: 5_000 }, 200_000, 'unknown')).toBeCloseTo(40 + (30 / 15_000) * 180_000);
    expect(projectDuration({ ms: 40, rows: 20_000 }, undefined, 200_000, 'unknown')).toBe(40);
    // Empty tables project nothing.
    expect(projectDuration({ ms: 5, rows: 0 }, undefined, 1e6, 'per-row')).toBe(5);
  });
});
