import { describe, expect, it } from 'vitest';
import { spawnCommand } from '../src/cli/command.js';
import { buildConfig, type RawOptions } from '../src/config.js';
import { isInputError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import type { Finding, Report } from '../src/report/model.js';
import { configFor, leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const USERS = {
  'migrations/0001_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, nickname text);\n',
  'migrations/0001_users.down.sql': 'DROP TABLE users;\n',
};

const dataFindings = (r: Report) => r.findings.filter((f) => f.stage === 'data');
const pick = (f: Finding) => ({ rule: f.rule, severity: f.severity, file: f.file, line: f.line, column: f.column });

describe.each(servers())('data stage on $name', ({ name, url }) => {
  async function run(files: Record<string, string>, raw: RawOptions = {}): Promise<Report> {
    const root = makeRepo(files);
    return runPipeline(configFor(root, url, { stages: 'syntax,data', ...raw }), { runCommand: spawnCommand });
  }

  it('fails an assertion that expects the empty string to survive a COALESCE(NULLIF()) merge, showing the row', async () => {
    const report = await run(
      {
        'migrations/0001_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email_primary text, email_secondary text);\n',
        'migrations/0002_merge_emails.up.sql': [
          'ALTER TABLE users ADD COLUMN email text;',
          "UPDATE users SET email = COALESCE(NULLIF(email_primary, ''), NULLIF(email_secondary, ''));",
          'ALTER TABLE users DROP COLUMN email_primary, DROP COLUMN email_secondary;',
          '',
        ].join('\n'),
        'data-tests/0002.seed.sql': [
          '-- Ids from 1001: the generated rows already use the low ones.',
          'INSERT INTO users (id, email_primary, email_secondary) VALUES',
          "    (1001, '', 'second@example.com'),",
          "    (1002, '', '');",
          '',
        ].join('\n'),
        'data-tests/0002.assert.sql': [
          '-- the secondary address is used when the primary one is empty',
          "SELECT id, email FROM users WHERE id = 1001 AND email IS DISTINCT FROM 'second@example.com';",
          '',
          '-- a user whose addresses were both empty keeps an empty address, not NULL',
          "SELECT id, email FROM users WHERE id = 1002 AND email IS DISTINCT FROM '';",
          '',
        ].join('\n'),
      },
      { dataTests: 'data-tests' },
    );
    const failed = dataFindings(report).filter((f) => f.rule === 'assert-failed');
    expect(failed.map(pick)).toEqual([{ rule: 'assert-failed', severity: 'error', file: 'data-tests/0002.assert.sql', line: 5, column: 1 }]);
    expect(failed[0]!.migration).toBe('0002');
    expect(failed[0]!.message).toBe('assertion failed after 0002: a user whose addresses were both empty keeps an empty address, not NULL (1 row returned)');
    expect(failed[0]!.detail).toBe(['id   | email', '-----+------', '1002 | NULL'].join('\n'));
    expect(report.verdict).toBe('fail');
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'fail']);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('blames a plain DROP COLUMN on the up once, not on the down that re-adds it empty', async () => {
    const report = await run({
      ...USERS,
      'migrations/0002_drop_nickname.up.sql': 'ALTER TABLE users DROP COLUMN nickname;\n',
      'migrations/0002_drop_nickname.down.sql': "-- put it back\nALTER TABLE users ADD COLUMN nickname text NOT NULL DEFAULT '';\n",
    });
    const found = dataFindings(report);
    expect(found.map(pick)).toEqual([{ rule: 'data-destroyed-by-up', severity: 'warning', file: 'migrations/0002_drop_nickname.up.sql', line: 1, column: 1 }]);
    expect(found[0]!.message).toBe('0002 drops users.nickname, which held 100 values; they cannot be restored');
    expect(found[0]!.hint).toMatch(/add the line "-- migration-ci: allow-data-loss" to migrations\/0002_drop_nickname.up.sql/);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'warn']);
  });

  it('fails a down that does not move back the values its up moved elsewhere', async () => {
    const report = await run({
      ...USERS,
      'migrations/0002_profiles.up.sql': [
        'CREATE TABLE profiles (user_id bigint PRIMARY KEY REFERENCES users, nickname text);',
        'INSERT INTO profiles (user_id, nickname) SELECT id, nickname FROM users;',
        'ALTER TABLE users DROP COLUMN nickname;',
        '',
      ].join('\n'),
      'migrations/0002_profiles.down.sql': 'ALTER TABLE users ADD COLUMN nickname text;\nDROP TABLE profiles;\n',
    });
    const found = dataFindings(report);
    expect(found.map(pick)).toEqual([{ rule: 'data-lost-by-down', severity: 'error', file: 'migrations/0002_profiles.down.sql', line: 1, column: 1 }]);
    expect(found[0]!.message).toBe('the down of 0002 does not restore users.nickname: 100 of 100 values lost');
    expect(report.verdict).toBe('fail');
  });

  it('warns once on rows the up deletes, at the DELETE', async () => {
    const report = await run({
      ...USERS,
      'migrations/0002_prune.up.sql': 'ALTER TABLE users ADD COLUMN flag int;\nDELETE FROM users WHERE id % 2 = 0;\n',
      'migrations/0002_prune.down.sql': 'ALTER TABLE users DROP COLUMN flag;\n',
    });
    expect(dataFindings(report).map(pick)).toEqual([{ rule: 'data-destroyed-by-up', severity: 'warning', file: 'migrations/0002_prune.up.sql', line: 2, column: 1 }]);
    expect(dataFindings(report)[0]!.message).toBe('0002 deletes 50 of 100 rows of users; they cannot be restored');
  });

  it('turns the loss into notices when the migration says it is intended', async () => {
    const report = await run({
      ...USERS,
      'migrations/0002_drop_nickname.up.sql': '-- migration-ci: allow-data-loss\nALTER TABLE users DROP COLUMN nickname;\n',
      'migrations/0002_drop_nickname.down.sql': 'ALTER TABLE users ADD COLUMN nickname text;\n',
    });
    const found = dataFindings(report);
    expect(found.map((f) => [f.rule, f.severity])).toEqual([['data-destroyed-by-up', 'notice']]);
    expect(found[0]!.message).toBe('0002 drops users.nickname, which held 100 values; they cannot be restored (accepted by -- migration-ci: allow-data-loss)');
    expect(report.verdict).toBe('pass');
  });

  it('passes a split-then-merge data migration whose down restores every value, with no warning', async () => {
    const report = await run(
      {
        'migrations/0001_people.up.sql': 'CREATE TABLE people (id bigserial PRIMARY KEY, full_name text, born date);\n',
        'migrations/0001_people.down.sql': 'DROP TABLE people;\n',
        'migrations/0002_split_name.up.sql': [
          'ALTER TABLE people ADD COLUMN first_name text, ADD COLUMN last_name text;',
          '-- Everything before the first space is the first name; no space, no last name.',
          'UPDATE people SET',
          "    first_name = CASE WHEN strpos(full_name, ' ') > 0 THEN left(full_name, strpos(full_name, ' ') - 1) ELSE full_name END,",
          "    last_name = CASE WHEN strpos(full_name, ' ') > 0 THEN substr(full_name, strpos(full_name, ' ') + 1) END;",
          'ALTER TABLE people DROP COLUMN full_name;',
          '',
        ].join('\n'),
        'migrations/0002_split_name.down.sql': [
          'ALTER TABLE people ADD COLUMN full_name text;',
          "UPDATE people SET full_name = CASE WHEN last_name IS NULL THEN first_name ELSE first_name || ' ' || last_name END;",
          'ALTER TABLE people DROP COLUMN first_name, DROP COLUMN last_name;',
          '',
        ].join('\n'),
        'data-tests/0002.seed.sql': [
          'INSERT INTO people (id, full_name) VALUES',
          "    (1001, 'Ada Lovelace'), (1002, 'Prince'), (1003, ''), (1004, NULL),",
          "    (1005, 'Jean Claude Van Damme'), (1006, 'trailing '), (1007, ' leading');",
          '',
        ].join('\n'),
        'data-tests/0002.assert.sql': [
          "SELECT id FROM people WHERE id = 1001 AND (first_name, last_name) IS DISTINCT FROM ('Ada', 'Lovelace');",
          "SELECT id FROM people WHERE id = 1002 AND (first_name, last_name) IS DISTINCT FROM ('Prince', NULL);",
          '',
        ].join('\n'),
      },
      { dataTests: 'data-tests' },
    );
    expect(dataFindings(report)).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'pass']);
  });

  it('warns on the up that overwrites NULLs with empty strings, not on the down', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/0002_nickname_not_null.up.sql': "UPDATE users SET nickname = '' WHERE nickname IS NULL;\nALTER TABLE users ALTER nickname SET NOT NULL;\n",
        'migrations/0002_nickname_not_null.down.sql': 'ALTER TABLE users ALTER nickname DROP NOT NULL;\n',
        'data-tests/0002.seed.sql': "INSERT INTO users (id, email, nickname) VALUES (1001, 'a@x', NULL), (1002, 'b@x', ''), (1003, 'c@x', NULL);\n",
      },
      { dataTests: 'data-tests' },
    );
    const found = dataFindings(report);
    expect(found.map(pick)).toEqual([{ rule: 'data-destroyed-by-up', severity: 'warning', file: 'migrations/0002_nickname_not_null.up.sql', line: 1, column: 1 }]);
    expect(found[0]!.message).toMatch(/^0002 overwrites users.nickname in \d+ rows; the old values cannot be restored$/);
  });

  it('does not blame a down for a column a trigger keeps up to date', async () => {
    const report = await run({
      'migrations/0001_items.up.sql': [
        'CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());',
        'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;',
        'CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();',
        '',
      ].join('\n'),
      'migrations/0002_upper_names.up.sql': 'UPDATE items SET name = upper(name);\n',
      'migrations/0002_upper_names.down.sql': 'UPDATE items SET name = lower(name);\n',
    });
    const found = dataFindings(report);
    expect(found.map((f) => [f.rule, f.severity, f.message])).toEqual([
      [
        'data-changed-indirectly',
        'notice',
        'items.updated_at changed in 100 rows across the up and down of 0002, though neither file names the column (a trigger or a function changed it)',
      ],
    ]);
    expect(report.verdict).toBe('pass');
  });

  it('fails a down that leaves a sequence behind the ids its column holds, and warns when an up does', async () => {
    const report = await run({
      'migrations/0001_t.up.sql': 'CREATE TABLE t (id serial PRIMARY KEY, v text);\n',
      'migrations/0002_identity.up.sql': [
        'ALTER TABLE t ALTER id DROP DEFAULT;',
        'DROP SEQUENCE t_id_seq;',
        'ALTER TABLE t ALTER id ADD GENERATED BY DEFAULT AS IDENTITY;',
        '',
      ].join('\n'),
      'migrations/0002_identity.down.sql': [
        'ALTER TABLE t ALTER id DROP IDENTITY;',
        'CREATE SEQUENCE t_id_seq OWNED BY t.id;',
        "ALTER TABLE t ALTER id SET DEFAULT nextval('t_id_seq');",
        '',
      ].join('\n'),
    });
    const found = dataFindings(report);
    expect(found.map((f) => [f.rule, f.severity, f.file, f.line])).toEqual([
      ['sequence-behind', 'warning', 'migrations/0002_identity.up.sql', 3],
      ['sequence-behind', 'error', 'migrations/0002_identity.down.sql', 3],
    ]);
    expect(found[0]!.message).toBe(
      'after 0002, sequence t_id_seq hands out 1 next, but t.id already holds values up to 1000100: inserts that rely on the column default will collide',
    );
    expect(found[1]!.message).toMatch(/^after the down of 0002, sequence t_id_seq hands out 1 next/);
    expect(found[1]!.hint).toBe("move the sequence past the existing values, e.g. SELECT setval('t_id_seq', (SELECT max(id) FROM t));");
  });

  it('points errors in seed and assert files at their own file, line and column', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/0002_bio.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
        'migrations/0003_more.up.sql': 'ALTER TABLE users ADD COLUMN more text;\n',
        'migrations/0004_last.up.sql': 'ALTER TABLE users ADD COLUMN last text;\n',
        'data-tests/0002.seed.sql': "-- one row\n\nINSERT INTO users (email, nick)\n    VALUES ('a@x', 'n');\n",
        'data-tests/0002.assert.sql': 'SELECT id FROM users WHERE false;\n',
        'data-tests/0003.seed.sql': "INSERT INTO users (id, email) VALUES (1, 'a@x'), (1, 'b@x');\n",
        'data-tests/0003.assert.sql': 'SELECT 1 WHERE false;\n\nSELECT id\n  FROM users\n WHERE bioo IS NULL;\nSELECT id FROM users WHERE false;\n',
        'data-tests/0004.assert.sql': "SELECT 1;\nSELECT id FROM users WHERE bio = 'x' AND;\n",
      },
      { dataTests: 'data-tests' },
    );
    const found = dataFindings(report);
    expect(found.map(pick)).toEqual([
      { rule: 'fixture-error', severity: 'error', file: 'data-tests/0004.assert.sql', line: 2, column: 41 },
      { rule: 'fixture-error', severity: 'error', file: 'data-tests/0002.seed.sql', line: 3, column: 27 },
      { rule: 'notice', severity: 'notice', file: 'data-tests/0002.assert.sql', line: undefined, column: undefined },
      { rule: 'fixture-error', severity: 'error', file: 'data-tests/0003.seed.sql', line: 1, column: 1 },
      { rule: 'notice', severity: 'notice', file: 'data-tests/0003.assert.sql', line: undefined, column: undefined },
    ].map((x) => (x.rule === 'notice' ? { ...x, rule: 'fixture-skipped' } : x)));
    expect(found[1]!.message).toBe('the seed for 0002 fails: column "nick" of relation "users" does not exist');
    expect(found[3]!.hint).toMatch(/every table already holds up to 100 generated rows/);
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'fail', 'fail', 'fail']);

    // The same server error position, mapped through the cursor an assertion runs in.
    const again = await run(
      { ...USERS, 'data-tests/0001.assert.sql': 'SELECT 1 WHERE false;\n\nSELECT id\n  FROM users\n WHERE bioo IS NULL;\n' },
      { dataTests: 'data-tests' },
    );
    expect(dataFindings(again).map(pick)).toEqual([{ rule: 'fixture-error', severity: 'error', file: 'data-tests/0001.assert.sql', line: 5, column: 8 }]);
    expect(dataFindings(again)[0]!.message).toBe('the assertion cannot run after 0001: column "bioo" does not exist');
  });

  it('leaves room for a fixture that writes its own ids, and sets the sequence past them', async () => {
    const report = await run(
      {
        ...USERS,
        'migrations/0002_bio.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
        'data-tests/0002.seed.sql': "INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x'), (4, 'd@x');\nINSERT INTO users (email) VALUES ('e@x');\n",
        'data-tests/0002.assert.sql': "SELECT id FROM users WHERE id <= 4 AND bio IS NOT NULL;\n",
      },
      { dataTests: 'data-tests' },
    );
    expect(dataFindings(report)).toEqual([]);
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'pass']);
  });

  it('reports a DO block that raises as a failed assertion, and shows at most 5 of many rows', async () => {
    const report = await run(
      {
        ...USERS,
        'data-tests/0001.assert.sql': [
          'DO $$ BEGIN',
          "  IF (SELECT count(*) FROM users) <> 0 THEN RAISE EXCEPTION 'users is not empty'; END IF;",
          'END $$;',
          '-- every user',
          'SELECT id, email, nickname FROM users ORDER BY id;',
          '',
        ].join('\n'),
      },
      { dataTests: 'data-tests' },
    );
    // 0001 creates the table: it is empty when the assertions run, then nothing fails.
    expect(dataFindings(report)).toEqual([]);

    const many = await run(
      {
        ...USERS,
        'migrations/0002_x.up.sql': 'SELECT 1;\n',
        'data-tests/0002.assert.sql': [
          'DO $$ BEGIN',
          "  IF (SELECT count(*) FROM users) <> 0 THEN RAISE EXCEPTION 'users is not empty'; END IF;",
          'END $$;',
          '-- every user',
          'SELECT id, email, nickname FROM users ORDER BY id;',
          '',
        ].join('\n'),
      },
      { dataTests: 'data-tests' },
    );
    const found = dataFindings(many);
    expect(found.map(pick)).toEqual([
      { rule: 'assert-failed', severity: 'error', file: 'data-tests/0002.assert.sql', line: 1, column: 1 },
      { rule: 'assert-failed', severity: 'error', file: 'data-tests/0002.assert.sql', line: 5, column: 1 },
    ]);
    expect(found[0]!.message).toBe('assertion failed after 0002: users is not empty');
    expect(found[1]!.message).toBe('assertion failed after 0002: every user (100 rows returned)');
    expect(found[1]!.detail!.split('\n')).toEqual([
      'id      | email               | nickname',
      '--------+---------------------+---------',
      "1000001 | 'user1@example.com' | 'user1'",
      "1000002 | 'user2@example.com' | 'user2'",
      "1000003 | 'user3@example.com' | 'user3'",
      "1000004 | 'user4@example.com' | 'user4'",
      "1000005 | 'user5@example.com' | 'user5'",
      '(first 5 of 100 rows)',
    ]);
  });

  it('warns about a fixture that matches no migration, and stops on a missing folder', async () => {
    const report = await run(
      { ...USERS, 'data-tests/0001_users.assert.sql': 'SELECT 1;\n', 'data-tests/1.seed.sql': 'SELECT 1;\n', 'data-tests/notes.sql': '', 'data-tests/README.md': '' },
      { dataTests: 'data-tests' },
    );
    expect(dataFindings(report).map((f) => [f.rule, f.severity, f.file, f.message, f.hint])).toEqual([
      [
        'fixture-unmatched',
        'warning',
        'data-tests/0001_users.assert.sql',
        'data-tests/0001_users.assert.sql matches no migration: there is no migration with version 0001_users',
        'name it 0001.assert.sql to run it with migration 0001',
      ],
      [
        'fixture-unmatched',
        'warning',
        'data-tests/1.seed.sql',
        'data-tests/1.seed.sql matches no migration: there is no migration with version 1',
        'name it 0001.seed.sql to run it with migration 0001',
      ],
      [
        'fixture-unmatched',
        'warning',
        'data-tests/notes.sql',
        'data-tests/notes.sql was not run: data test files are named <version>.seed.sql or <version>.assert.sql',
        undefined,
      ],
    ]);
    const missing = await run(USERS, { dataTests: 'no-such-folder' }).catch((e: unknown) => e);
    expect(isInputError(missing)).toBe(true);
    expect((missing as Error).message).toBe('data-tests folder no-such-folder does not exist');
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('runs the data test command against the scratch database: a failure fails the stage and shows its output', async () => {
    const files = {
      ...USERS,
      'migrations/0002_status.up.sql': "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';\n",
      'migrations/0002_status.down.sql': 'ALTER TABLE users DROP COLUMN status;\n',
    };
    const failing = await run(files, {
      dataTestCommand:
        'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atc "SELECT count(*) FROM users WHERE status = \'active\'" && psql -Atc "SELECT current_database()" && echo "url $DATABASE_URL" && echo "expected no active users" >&2 && exit 3',
    });
    const found = dataFindings(failing);
    expect(found.map((f) => [f.rule, f.severity])).toEqual([['test-command-failed', 'error']]);
    expect(found[0]!.message).toMatch(/^the data test command failed with exit code 3: psql/);
    const lines = found[0]!.detail!.split('\n');
    expect(lines[0]).toBe('100');
    expect(lines[1]).toMatch(/^mci_/);
    expect(lines).toContain('expected no active users');
    if (name === 'pg17-embedded') {
      // The command connects as the run's role; neither its password nor the server URL's appears in a finding.
      const urlLine = lines.find((l) => l.startsWith('url '))!;
      expect(urlLine).toMatch(/^url postgres(ql)?:\/\/mci_run_\w+:\*\*\*@/);
      expect(JSON.stringify(failing)).not.toMatch(/:embedded@/);
    }
    expect(failing.verdict).toBe('fail');
    expect(failing.stages.find((s) => s.name === 'data')!.status).toBe('fail');

    const passing = await run(files, { dataTestCommand: 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -c "SELECT status FROM users LIMIT 1" >/dev/null' });
    expect(dataFindings(passing)).toEqual([]);
    expect(passing.verdict).toBe('pass');

    const root = makeRepo(files);
    const noRunner = await runPipeline(configFor(root, url, { stages: 'data', dataTestCommand: 'true' }));
    expect(dataFindings(noRunner).map((f) => [f.rule, f.severity])).toEqual([['test-command-failed', 'error']]);
    expect(dataFindings(noRunner)[0]!.message).toMatch(/cannot run commands/);
  });

  it('does not run the data test command when a migration under test fails', async () => {
    const report = await run({ ...USERS, 'migrations/0002_bad.up.sql': 'ALTER TABLE users ADD COLUMN x int REFERENCES nowhere (id);\n' }, { dataTestCommand: 'exit 1' });
    expect(dataFindings(report).map((f) => [f.rule, f.severity])).toEqual([['test-command-skipped', 'notice']]);
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'skip']);
  });

  it('with critical tables, checks only the migrations that touch them', async () => {
    const root = makeRepo({
      'migrations/0001_t.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, nick text);\nCREATE TABLE logs (id bigserial PRIMARY KEY, msg text);\n',
      'migrations/0002_users.up.sql': 'ALTER TABLE users DROP COLUMN nick;\n',
      'migrations/0002_users.down.sql': 'ALTER TABLE users ADD COLUMN nick text;\n',
      'migrations/0003_logs.up.sql': 'ALTER TABLE logs DROP COLUMN msg;\n',
      'migrations/0003_logs.down.sql': 'ALTER TABLE logs ADD COLUMN msg text;\n',
      'critical.txt': '# the tables that matter\nPublic.Users\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,data', criticalTables: 'critical.txt' }), { runCommand: spawnCommand });
    expect(dataFindings(report).map((f) => [f.rule, f.severity, f.migration ?? null])).toEqual([
      ['not-critical', 'notice', null],
      ['data-destroyed-by-up', 'warning', '0002'],
    ]);
    // 0001 creates users, so it touches it.
    expect(dataFindings(report)[0]!.message).toBe('data checks skipped for 0003: they touch none of the critical tables');
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'warn', 'skip']);
  });

  it('skips the data checks of a migration the walk had to apply to emptied tables', async () => {
    const report = await run({
      'migrations/0001_items.up.sql': 'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL);\n',
      'migrations/0002_check.up.sql': '-- generated qty values go up to 100\nALTER TABLE items ADD CONSTRAINT qty_small CHECK (qty < 10);\n',
      'migrations/0002_check.down.sql': 'ALTER TABLE items DROP CONSTRAINT qty_small;\n',
    });
    expect(report.findings.map((f) => [f.stage, f.rule, f.severity])).toEqual([
      ['syntax', 'data-dependent', 'warning'],
      ['data', 'data-checks-skipped', 'notice'],
    ]);
    // Not a pass: nothing of 0002 was checked.
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'skip']);
    expect(report.verdict).toBe('pass');
  });

  it('does not cry wolf on a round trip through many column types', async () => {
    const report = await run({
      'migrations/0001_schema.up.sql': [
        "CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');",
        'CREATE DOMAIN short_code AS varchar(8) CHECK (VALUE <> \'\');',
        'CREATE TABLE accounts (tenant int, id int, name varchar(20) NOT NULL, PRIMARY KEY (tenant, id));',
        'CREATE TABLE events (',
        '  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),',
        '  tenant int NOT NULL, account int NOT NULL,',
        '  kind mood NOT NULL, tags text[], moods mood[], payload jsonb, raw json, amount numeric(12,4) CHECK (amount >= 0),',
        '  ratio real, code short_code, ip inet, body bytea, span interval, at timestamptz, day date, search tsvector, spot point,',
        '  FOREIGN KEY (tenant, account) REFERENCES accounts (tenant, id)',
        ');',
        'CREATE TABLE tags_no_key (label text, weight int);',
        '',
      ].join('\n'),
      'migrations/0002_widen.up.sql': [
        'ALTER TABLE events ALTER amount TYPE numeric(16,4), ALTER ratio TYPE double precision, ALTER raw TYPE jsonb USING raw::jsonb,',
        '  ALTER kind TYPE text, ALTER at TYPE timestamp, ALTER code TYPE text;',
        'ALTER TABLE accounts ALTER name TYPE text, ALTER id TYPE bigint;',
        'ALTER TABLE accounts RENAME TO customer_accounts;',
        'ALTER TABLE tags_no_key RENAME COLUMN label TO tag;',
        '',
      ].join('\n'),
      'migrations/0002_widen.down.sql': [
        'ALTER TABLE tags_no_key RENAME COLUMN tag TO label;',
        'ALTER TABLE customer_accounts RENAME TO accounts;',
        'ALTER TABLE accounts ALTER name TYPE varchar(20), ALTER id TYPE int;',
        'ALTER TABLE events ALTER amount TYPE numeric(12,4), ALTER ratio TYPE real, ALTER raw TYPE json USING raw::json,',
        '  ALTER kind TYPE mood USING kind::mood, ALTER at TYPE timestamptz, ALTER code TYPE short_code;',
        '',
      ].join('\n'),
    });
    // Every table was filled (no table-not-filled notice), and nothing is reported.
    expect(report.findings).toEqual([]);
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'pass']);
  });

  it('passes the bundled examples with their data tests', async () => {
    const report = await runPipeline(
      buildConfig(repoRoot, { dir: 'examples/migrations', dataTests: 'examples/data-tests', databaseUrl: url, stages: 'syntax,data' }),
      { runCommand: spawnCommand },
    );
    expect(dataFindings(report)).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.stages.data)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});
