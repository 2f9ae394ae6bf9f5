import { describe, expect, it } from 'vitest';
import { spawnCommand } from '../src/cli/command.js';
import { buildConfig } from '../src/config.js';
import { isInputError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import type { Finding, Report } from '../src/report/model.js';
import { renderSummary } from '../src/report/summary.js';
import { renderTerminal } from '../src/report/terminal.js';
import { configFor, leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const USERS = {
  'migrations/0001_users.up.sql':
    'CREATE TABLE users (\n  id bigserial PRIMARY KEY,\n  email text NOT NULL,\n  status text NOT NULL DEFAULT \'active\',\n  age integer CHECK (age >= 0)\n);\n',
  'migrations/0001_users.down.sql': 'DROP TABLE users;\n',
};

const pick = (f: Finding) => ({ rule: f.rule, severity: f.severity, migration: f.migration, file: f.file, line: f.line, message: f.message });
const rollbackFindings = (r: Report) => r.findings.filter((f) => f.stage === 'rollback');

describe.each(servers())('rollback stage on $name', ({ url }) => {
  const run = (files: Record<string, string>, raw: Parameters<typeof configFor>[2] = {}) =>
    runPipeline(configFor(makeRepo({ ...USERS, ...files }), url, { stages: 'syntax,rollback', ...raw }), { runCommand: spawnCommand });

  it('passes the bundled examples with no rollback finding', async () => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/migrations', databaseUrl: url, stages: 'syntax,rollback' }));
    expect(report.findings).toEqual([]);
    expect(report.stages.map((s) => [s.name, s.status])).toEqual([
      ['syntax', 'pass'],
      ['rollback', 'pass'],
    ]);
    expect(report.migrations.map((m) => m.stages.rollback)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('reports a down that does not restore a dropped default, at the statement that dropped it', async () => {
    const report = await run({
      'migrations/0002_status_no_default.up.sql': '-- the application sets it now\nALTER TABLE users ALTER COLUMN status DROP DEFAULT;\n',
      'migrations/0002_status_no_default.down.sql': '-- forgot the default\nALTER TABLE users ALTER COLUMN status SET NOT NULL;\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_status_no_default.down.sql',
        line: 2,
        message: "column users.status: default 'active'::text is not restored by the down of 0002",
      },
    ]);
    const f = rollbackFindings(report)[0]!;
    expect(f.detail).toBe(
      [
        '--- schema before the up of 0002',
        '+++ schema after the down of 0002',
        ' column users.status',
        "-  default: 'active'::text",
      ].join('\n'),
    );
    // The fix goes in the down, where the finding is; the up statement it does not undo is a pointer.
    expect(f.fix).toBe("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active';");
    expect(f.related).toEqual({ file: 'migrations/0002_status_no_default.up.sql', line: 2, message: 'the down of 0002 does not undo this' });
    expect(report.verdict).toBe('fail');
    expect(report.stages.find((s) => s.name === 'rollback')?.status).toBe('fail');
    expect(report.migrations.map((m) => m.stages.rollback)).toEqual(['pass', 'fail']);
  });

  it('reports the index a down leaves behind, and the second up failing on it', async () => {
    const report = await run({
      'migrations/0002_indexes.up.sql': 'CREATE INDEX users_email_idx ON users (email);\n\nCREATE INDEX users_status_idx ON users (status);\n',
      'migrations/0002_indexes.down.sql': 'DROP INDEX users_email_idx;\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_indexes.down.sql',
        line: 1,
        message: 'index users_status_idx is left behind by the down of 0002',
      },
      {
        rule: 'reapply-failed',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_indexes.up.sql',
        line: 3,
        message: 'the up of 0002 fails when applied again after its down: relation "users_status_idx" already exists',
      },
    ]);
    expect(rollbackFindings(report)[0]!.detail).toContain('+  definition: CREATE INDEX users_status_idx ON public.users USING btree (status)');
    expect(rollbackFindings(report)[0]!.fix).toBe('DROP INDEX users_status_idx;');
    expect(rollbackFindings(report)[1]!.hint).toBe('the down leaves behind something that the up creates');
    // Both belong to the rollback stage: the syntax stage passed.
    expect(report.stages.map((s) => [s.name, s.status])).toEqual([
      ['syntax', 'pass'],
      ['rollback', 'fail'],
    ]);
  });

  it('reports a constraint the down re-creates under the name an earlier migration renamed away', async () => {
    const report = await run({
      'migrations/0002_rename_check.up.sql': 'ALTER TABLE users RENAME CONSTRAINT users_age_check TO users_age_nonnegative;\n',
      'migrations/0002_rename_check.down.sql': 'ALTER TABLE users RENAME CONSTRAINT users_age_nonnegative TO users_age_check;\n',
      'migrations/0003_age_range.up.sql':
        'ALTER TABLE users DROP CONSTRAINT users_age_nonnegative;\nALTER TABLE users ADD CONSTRAINT users_age_range CHECK (age BETWEEN 0 AND 150);\n',
      'migrations/0003_age_range.down.sql': 'ALTER TABLE users DROP CONSTRAINT users_age_range;\n-- as it was when the table was created\nALTER TABLE users ADD CHECK (age >= 0);\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_age_range.down.sql',
        line: 3,
        message: 'constraint users_age_nonnegative on users is restored by the down of 0003 under another name: users_age_check',
      },
      {
        rule: 'reapply-failed',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_age_range.up.sql',
        line: 1,
        message: 'the up of 0003 fails when applied again after its down: constraint "users_age_nonnegative" of relation "users" does not exist',
      },
    ]);
    expect(rollbackFindings(report)[1]!.hint).toBe('the down does not restore something that the up relies on');
    expect(rollbackFindings(report)[0]!.detail).toContain('-constraint users_age_nonnegative on users\n+constraint users_age_check on users');
  });

  it('reports a down that drops a constraint by the name it had before an earlier rename', async () => {
    const report = await run({
      'migrations/0002_rename_check.up.sql': 'ALTER TABLE users RENAME CONSTRAINT users_age_check TO users_age_nonnegative;\n',
      'migrations/0002_rename_check.down.sql': 'ALTER TABLE users RENAME CONSTRAINT users_age_nonnegative TO users_age_check;\n',
      'migrations/0003_age_range.up.sql': 'ALTER TABLE users ADD CONSTRAINT users_age_range CHECK (age < 150);\n',
      'migrations/0003_age_range.down.sql': 'ALTER TABLE users DROP CONSTRAINT users_age_range;\nALTER TABLE users DROP CONSTRAINT users_age_check;\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-failed',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_age_range.down.sql',
        line: 2,
        message: 'the down of 0003 fails: constraint "users_age_check" of relation "users" does not exist',
      },
    ]);
    expect(report.migrations.map((m) => m.stages.rollback)).toEqual(['pass', 'pass', 'fail']);
  });

  it('reports a column type the down does not change back', async () => {
    const report = await run({
      'migrations/0002_age_bigint.up.sql': 'ALTER TABLE users ALTER COLUMN age TYPE bigint;\n',
      'migrations/0002_age_bigint.down.sql': "COMMENT ON COLUMN users.age IS NULL;\n",
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_age_bigint.down.sql',
        line: 1,
        message: 'column users.age: type bigint is not changed back to integer by the down of 0002',
      },
    ]);
  });

  it('notes, without failing, a check that comes back with casts after a type change and back', async () => {
    const report = await run({
      'migrations/0002_amount.up.sql': 'CREATE TABLE invoices (id int PRIMARY KEY, amount bigint NOT NULL CHECK (amount >= 0));\n',
      'migrations/0002_amount.down.sql': 'DROP TABLE invoices;\n',
      'migrations/0003_numeric.up.sql': 'ALTER TABLE invoices ALTER COLUMN amount TYPE numeric(14,0);\n',
      'migrations/0003_numeric.down.sql': 'ALTER TABLE invoices ALTER COLUMN amount TYPE bigint;\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'expression-rewritten',
        severity: 'notice',
        migration: '0003',
        file: 'migrations/0003_numeric.down.sql',
        line: 1,
        message: 'constraint invoices_amount_check on invoices: definition differs only in casts after the down of 0003',
      },
    ]);
    expect(rollbackFindings(report)[0]!.detail).toContain('+  definition: CHECK (amount::numeric >= 0::numeric)');
    expect(report.verdict).toBe('pass');
  });

  it('reports an enum type the down leaves behind, and why the second up fails', async () => {
    const report = await run({
      'migrations/0002_mood.up.sql': "CREATE TYPE mood AS ENUM ('happy', 'sad');\nALTER TABLE users ADD COLUMN mood mood;\n",
      'migrations/0002_mood.down.sql': 'ALTER TABLE users DROP COLUMN mood;\n',
      'migrations/0003_later.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
      'migrations/0003_later.down.sql': 'ALTER TABLE users DROP COLUMN bio;\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_mood.down.sql',
        line: 1,
        message: 'type mood is left behind by the down of 0002',
      },
      {
        rule: 'reapply-failed',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_mood.up.sql',
        line: 1,
        message: 'the up of 0002 fails when applied again after its down: type "mood" already exists',
      },
    ]);
    expect(rollbackFindings(report)[0]!.detail).toContain("+  labels: 'happy', 'sad'");
    expect(rollbackFindings(report)[0]!.fix).toBe('DROP TYPE mood;');
    // The walk goes back to the state after the first up of 0002 and tests 0003 too.
    expect(report.findings.find((f) => f.rule === 'not-reached')).toBeUndefined();
    expect(report.migrations.map((m) => [m.version, m.stages.syntax, m.stages.rollback])).toEqual([
      ['0001', 'pass', 'pass'],
      ['0002', 'pass', 'fail'],
      ['0003', 'pass', 'pass'],
    ]);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('reports a second up that gives a different schema than the first', async () => {
    const report = await run({
      'migrations/0002_settings.up.sql': 'CREATE TABLE settings (k text);\n',
      'migrations/0002_settings.down.sql': 'DROP TABLE settings;\n',
      // The down forgets the row that tells the up it already ran.
      'migrations/0003_flag.up.sql': `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM settings WHERE k = 'flag') THEN
    ALTER TABLE users ADD COLUMN flag boolean;
  END IF;
  INSERT INTO settings VALUES ('flag');
END
$$;
`,
      'migrations/0003_flag.down.sql': 'ALTER TABLE users DROP COLUMN flag;\n',
    });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'reup-differs',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_flag.up.sql',
        line: 1,
        message: 'the second up of 0003 gives a different schema: column users.flag is there after the first up but not after the second',
      },
    ]);
    expect(rollbackFindings(report)[0]!.detail).toBe(
      '--- schema after the first up of 0003\n+++ schema after the second up of 0003\n-column users.flag\n-  type: boolean',
    );
  });

  it('reports a table left behind as one finding, and a down that drops what its up did not create', async () => {
    const first = await run({
      'migrations/0002_orders.up.sql':
        '-- orders of a user\nCREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id), total integer NOT NULL CHECK (total >= 0));\nCREATE INDEX orders_user_id_idx ON orders (user_id);\n',
      'migrations/0002_orders.down.sql': '-- nothing to do\nSELECT 1;\n',
    });
    expect(rollbackFindings(first).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_orders.down.sql',
        line: 2,
        message: 'table orders is left behind by the down of 0002',
      },
      {
        rule: 'reapply-failed',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_orders.up.sql',
        line: 2,
        message: 'the up of 0002 fails when applied again after its down: relation "orders" already exists',
      },
    ]);
    // The detail shows the table with everything that belongs to it.
    const detail = rollbackFindings(first)[0]!.detail!;
    for (const line of ['+table orders', '+column orders.total', '+constraint orders_total_check on orders', '+index orders_user_id_idx', '+sequence orders_id_seq']) {
      expect(detail).toContain(line);
    }

    const second = await run({
      'migrations/0002_orders.up.sql': 'CREATE TABLE orders (id bigint);\n',
      'migrations/0002_orders.down.sql': 'DROP TABLE orders;\n',
      'migrations/0003_notes.up.sql': 'CREATE TABLE IF NOT EXISTS orders (id bigint);\nCREATE TABLE notes (body text);\n',
      'migrations/0003_notes.down.sql': 'DROP TABLE notes;\nDROP TABLE orders;\n',
    });
    expect(rollbackFindings(second).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_notes.down.sql',
        line: 2,
        message: 'table orders is dropped by the down of 0003, but its up did not create it',
      },
    ]);
  });

  it('reports a missing down as an error, unless the migration is marked or allowed to be irreversible', async () => {
    const missing = await run({ 'migrations/0002_bio.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n' });
    expect(rollbackFindings(missing).map(pick)).toEqual([
      {
        rule: 'missing-down',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_bio.up.sql',
        line: 1,
        message: '0002 has no down migration: it cannot be rolled back',
      },
    ]);
    expect(rollbackFindings(missing)[0]!.hint).toContain('migrations/0002_bio.down.sql');
    expect(missing.verdict).toBe('fail');

    const marked = await run({ 'migrations/0002_bio.up.sql': '-- migration-ci: irreversible\nALTER TABLE users DROP COLUMN email;\n' });
    expect(rollbackFindings(marked).map((f) => [f.rule, f.severity, f.message])).toEqual([
      ['missing-down', 'notice', '0002 is marked irreversible: it has no down migration to test'],
    ]);
    expect(marked.verdict).toBe('pass');
    expect(marked.migrations.map((m) => m.stages.rollback)).toEqual(['pass', 'skip']);

    const allowed = await run({ 'migrations/0002_bio.up.sql': 'ALTER TABLE users DROP COLUMN email;\n' }, { allowIrreversible: true });
    expect(rollbackFindings(allowed).map((f) => [f.rule, f.severity])).toEqual([['missing-down', 'notice']]);
    expect(allowed.verdict).toBe('pass');
  });

  const CORRECT = {
    'migrations/0002_touch.up.sql': `ALTER TABLE users ADD COLUMN updated_at timestamptz;

CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  -- a ; and a $$ inside the body
  NEW.updated_at := now();
  RETURN NEW;
END;
$fn$;

CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
`,
    'migrations/0002_touch.down.sql': 'DROP TRIGGER users_touch ON users;\nDROP FUNCTION touch_updated_at();\nALTER TABLE users DROP COLUMN updated_at;\n',
    'migrations/0003_active_users.up.sql': "CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active';\n",
    'migrations/0003_active_users.down.sql': 'DROP VIEW active_users;\n',
    'migrations/0004_plan.up.sql': "CREATE TYPE plan AS ENUM ('free', 'pro');\nALTER TABLE users ADD COLUMN plan plan NOT NULL DEFAULT 'free';\n",
    'migrations/0004_plan.down.sql': 'ALTER TABLE users DROP COLUMN plan;\nDROP TYPE plan;\n',
    'migrations/0005_email_idx.up.sql': 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n',
    'migrations/0005_email_idx.down.sql': 'DROP INDEX CONCURRENTLY users_email_idx;\n',
    'migrations/0006_names.up.sql': "ALTER TABLE users ADD COLUMN full_name text, ADD COLUMN nickname text;\nUPDATE users SET full_name = 'Ada Lovelace';\n",
    'migrations/0006_names.down.sql': 'ALTER TABLE users DROP COLUMN nickname, DROP COLUMN full_name;\n',
    // A data migration that splits a column, and a down that merges it back: full_name comes back last.
    'migrations/0007_split_name.up.sql': `ALTER TABLE users ADD COLUMN first_name text, ADD COLUMN last_name text;
UPDATE users SET first_name = split_part(full_name, ' ', 1), last_name = split_part(full_name, ' ', 2);
ALTER TABLE users DROP COLUMN full_name;
`,
    'migrations/0007_split_name.down.sql': `ALTER TABLE users ADD COLUMN full_name text;
UPDATE users SET full_name = first_name || ' ' || last_name;
ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name;
`,
    'migrations/0008_policies.up.sql': `ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_self ON users FOR SELECT USING (email = current_user);
COMMENT ON TABLE users IS 'people who sign in';
CREATE SEQUENCE invoice_numbers START 1000;
CREATE DOMAIN cents AS bigint CHECK (VALUE >= 0);
`,
    'migrations/0008_policies.down.sql': `DROP DOMAIN cents;
DROP SEQUENCE invoice_numbers;
COMMENT ON TABLE users IS NULL;
DROP POLICY users_self ON users;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
`,
    'migrations/0009_nickname_varchar.up.sql':
      "CREATE INDEX users_lower_nickname_idx ON users (lower(nickname));\nALTER TABLE users ALTER COLUMN nickname SET DEFAULT 'anon', ALTER COLUMN nickname TYPE varchar(80);\n",
    'migrations/0009_nickname_varchar.down.sql': 'ALTER TABLE users ALTER COLUMN nickname TYPE text, ALTER COLUMN nickname DROP DEFAULT;\nDROP INDEX users_lower_nickname_idx;\n',
    'migrations/0010_citext.up.sql': 'CREATE EXTENSION IF NOT EXISTS citext;\nALTER TABLE users ADD COLUMN handle citext;\n',
    'migrations/0010_citext.down.sql': 'ALTER TABLE users DROP COLUMN handle;\nDROP EXTENSION citext;\n',
    'migrations/0011_counters.up.sql': 'ALTER TABLE users ADD COLUMN n serial, ADD COLUMN t integer GENERATED ALWAYS AS IDENTITY;\n',
    'migrations/0011_counters.down.sql': 'ALTER TABLE users DROP COLUMN n, DROP COLUMN t;\n',
    'migrations/0012_drop_age.up.sql': 'ALTER TABLE users DROP COLUMN age;\n',
    'migrations/0012_drop_age.down.sql': 'ALTER TABLE users ADD COLUMN age integer CHECK (age >= 0);\n',
  };

  it('finds nothing wrong with correct migrations: functions, triggers, views, enums, concurrent indexes, a column split and merged back', async () => {
    const report = await run(CORRECT);
    expect(report.findings.filter((f) => f.stage === 'rollback' || f.severity !== 'notice')).toEqual([]);
    expect(report.migrations.map((m) => m.stages.rollback)).toEqual(Array(12).fill('pass'));
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('counts a column that comes back at another position only with strict column order', async () => {
    const report = await run(CORRECT, { strictColumnOrder: true });
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0007',
        file: 'migrations/0007_split_name.down.sql',
        line: 1,
        message: 'table users: column full_name is at position 8 after the down of 0007, 7 before its up',
      },
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0012',
        file: 'migrations/0012_drop_age.down.sql',
        line: 1,
        message: 'table users: column age is at position 12 after the down of 0012, 4 before its up',
      },
    ]);
    expect(rollbackFindings(report)[0]!.hint).toMatch(/strict-column-order/);
  });

  it('shows the schema diff in a collapsed block of the job summary', async () => {
    const report = await run({
      'migrations/0002_indexes.up.sql': 'CREATE INDEX users_email_idx ON users (email);\nCREATE INDEX users_status_idx ON users (status);\n',
      'migrations/0002_indexes.down.sql': 'DROP INDEX users_email_idx;\n',
    });
    const summary = renderSummary(report);
    expect(summary).toContain('index users\\_status\\_idx is left behind by the down of 0002');
    expect(summary).toContain(
      '  <details><summary>Detail</summary>\n\n  ```diff\n  --- schema before the up of 0002\n  +++ schema after the down of 0002\n  +index users_status_idx\n',
    );
    // The statement that fixes the down, as SQL, with the file it goes in.
    expect(summary).toContain('**Fix** (add to `0002_indexes.down.sql`):\n\n  ```sql\n  DROP INDEX users_status_idx;\n  ```');
    expect(renderTerminal(report, { color: false })).toContain('index users_status_idx is left behind by the down of 0002');
  });

  it('compares pg_dump output when asked, or says clearly why pg_dump cannot read this server', async () => {
    const files = {
      'migrations/0002_indexes.up.sql': 'CREATE INDEX users_email_idx ON users (email);\nCREATE INDEX users_status_idx ON users (status);\n',
      'migrations/0002_indexes.down.sql': 'DROP INDEX users_email_idx;\n',
      'migrations/0003_ok.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
      'migrations/0003_ok.down.sql': 'ALTER TABLE users DROP COLUMN bio;\n',
    };
    let report: Report;
    try {
      report = await run({ ...files, 'migrations/0002_indexes.up.sql': files['migrations/0002_indexes.up.sql'].replace('CREATE INDEX users_status', 'CREATE INDEX IF NOT EXISTS users_status') }, { snapshot: 'pg_dump' });
    } catch (e) {
      expect(isInputError(e)).toBe(true);
      expect((e as Error).message).toMatch(/^pg_dump 15\.\d+ cannot dump PostgreSQL 1\d\.\d+: pg_dump refuses servers newer than itself/);
      expect(await leftoverScratchDatabases(url)).toEqual([]);
      return;
    }
    expect(rollbackFindings(report).map(pick)).toEqual([
      {
        rule: 'down-not-restoring',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_indexes.down.sql',
        line: 1,
        message: 'index users_status_idx is left behind by the down of 0002',
      },
    ]);
    expect(rollbackFindings(report)[0]!.detail).toContain('+  definition: CREATE INDEX users_status_idx ON public.users USING btree (status);');
    expect(report.migrations.map((m) => m.stages.rollback)).toEqual(['pass', 'fail', 'pass']);
  });
});
