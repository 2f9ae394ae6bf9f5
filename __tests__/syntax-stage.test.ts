import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import type { Finding } from '../src/report/model.js';
import { configFor, leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const pick = (f: Finding) => ({ rule: f.rule, severity: f.severity, file: f.file, line: f.line, column: f.column });

describe.each(servers())('syntax stage on $name', ({ url }) => {
  it('passes the bundled examples and leaves no scratch database behind', async () => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/migrations', databaseUrl: url, stages: 'syntax' }));
    expect(report.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(report.postgres).toMatch(/^1[5-9]\.\d+/);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('reports the broken examples at file, line and column', async () => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/broken', databaseUrl: url, stages: 'syntax' }));
    expect(report.verdict).toBe('fail');
    const errors = report.findings.filter((f) => f.severity === 'error').map(pick);
    expect(errors).toEqual([
      { rule: 'parse-error', severity: 'error', file: 'examples/broken/0003_add_plan.up.sql', line: 4, column: 22 },
      { rule: 'fails-with-rows', severity: 'error', file: 'examples/broken/0002_add_region.up.sql', line: 2, column: 1 },
    ]);
    const notNull = report.findings.find((f) => f.rule === 'fails-with-rows')!;
    // One dash in a summary line: the one between the rule and the message.
    expect(notNull.message).toBe('column "region" of relation "accounts" contains null values: accounts.region is added NOT NULL without a default, so any row of accounts fails it');
    // 0002 fails on any row but applies before the generated rows, so the walk reaches 0003.
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'fail', 'fail']);
    expect(report.findings.find((f) => f.rule === 'not-reached')).toBeUndefined();
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('maps a server error position inside a statement to the file', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE t (id int);\n\nCREATE VIEW v AS\n    SELECT nope FROM t;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    expect(report.findings.filter((f) => f.severity === 'error').map(pick)).toEqual([
      { rule: 'apply-failed', severity: 'error', file: 'migrations/1_t.up.sql', line: 4, column: 12 },
    ]);
    expect(report.findings[0]!.message).toBe('column "nope" does not exist');
  });

  it("fails a migration that reads currval() of a sequence its session never advanced, as production does, whatever the tool's rows took from it", async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE items (id serial PRIMARY KEY, note text);',
      // In production the migration's session has drawn nothing from the sequence.
      'migrations/2_mark.up.sql': "INSERT INTO items (note) SELECT 'after ' || currval('items_id_seq');",
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    const errors = report.findings.filter((f) => f.severity === 'error');
    expect(errors.map(pick)).toEqual([{ rule: 'apply-failed', severity: 'error', file: 'migrations/2_mark.up.sql', line: 1, column: expect.any(Number) }]);
    expect(errors[0]!.message).toMatch(/currval of sequence "items_id_seq" is not yet defined in this session/);
  });

  it('warns when a new constraint rejects only the generated rows, and goes on', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL);',
      'migrations/2_check.up.sql': '-- generated qty values are 1..n\nALTER TABLE items ADD CONSTRAINT qty_small CHECK (qty < 10);',
      'migrations/3_more.up.sql': 'ALTER TABLE items ADD COLUMN note text;',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    const warning = report.findings.find((f) => f.severity === 'warning')!;
    expect(pick(warning)).toEqual({ rule: 'data-dependent', severity: 'warning', file: 'migrations/2_check.up.sql', line: 2, column: 1 });
    expect(warning.message).toMatch(/violated by some row — fails on the generated test rows: items rows that violate the new CHECK make it fail; production rows of that kind fail it too/);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'warn', 'pass']);
  });

  it('goes on from the rows the migrations wrote after an up fails on the generated ones, also when it reads a table through a view', async () => {
    const root = makeRepo({
      'migrations/1_base.up.sql': `CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO plans VALUES (1, 'free');
CREATE TABLE accounts (id int PRIMARY KEY, plan_id int REFERENCES plans, owner text);
CREATE TABLE audit (id int PRIMARY KEY, note text);
CREATE VIEW audit_view AS SELECT * FROM audit;`,
      // Generated plans have other names: the accounts on them keep NULL, and SET NOT NULL fails.
      'migrations/2_backfill.up.sql': `ALTER TABLE accounts ADD COLUMN plan_name text;
UPDATE accounts a SET plan_name = p.name FROM plans p WHERE p.id = a.plan_id AND p.name = 'free';
ALTER TABLE accounts ALTER COLUMN plan_name SET NOT NULL;`,
      // The reference row the first migration wrote is still there.
      'migrations/3_reference.up.sql': `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM plans WHERE id = 1 AND name = 'free') THEN RAISE EXCEPTION 'the free plan is missing'; END IF;
END $$;
UPDATE audit SET note = note;`,
      // Reads audit (filled for the UPDATE above) through the view, so the tables it names are not all it meets.
      'migrations/4_summary.up.sql': `CREATE TABLE audit_summary (n int NOT NULL);
INSERT INTO audit_summary SELECT count(*) FROM audit_view;
ALTER TABLE audit_summary ADD CONSTRAINT few CHECK (n < 10);`,
      'migrations/5_more.up.sql': 'ALTER TABLE audit ADD COLUMN at timestamptz;',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    expect(report.findings.filter((f) => f.severity !== 'notice').map(pick)).toEqual([
      { rule: 'data-dependent', severity: 'warning', file: 'migrations/2_backfill.up.sql', line: 3, column: 1 },
      { rule: 'data-dependent', severity: 'warning', file: 'migrations/4_summary.up.sql', line: 3, column: 1 },
    ]);
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'warn', 'pass', 'warn', 'pass']);
    expect(report.verdict).toBe('pass');
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('runs CREATE INDEX CONCURRENTLY outside the transaction and fails a NOT NULL column on rows', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE t (id bigserial PRIMARY KEY, name text);',
      'migrations/2_idx.up.sql': 'CREATE INDEX CONCURRENTLY t_name_idx ON t (name);\nALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;',
      'migrations/3_nn.up.sql': 'ALTER TABLE t ADD COLUMN d int NOT NULL;',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'pass', 'fail']);
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => [f.rule, f.file, f.line])).toEqual([
      ['fails-with-rows', 'migrations/3_nn.up.sql', 1],
    ]);
  });

  it('runs a file that manages its own transaction as written', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY t_id ON t (id);',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    expect(report.verdict).toBe('pass');
  });
});
