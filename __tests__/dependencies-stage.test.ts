import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { isInputError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import type { Finding, Report } from '../src/report/model.js';
import { configFor, leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const USERS = {
  'migrations/0001_users.up.sql': [
    'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, full_name text, status text NOT NULL DEFAULT \'active\');',
    'CREATE TABLE user_audit (id bigserial PRIMARY KEY, user_id bigint NOT NULL, status text, at timestamptz NOT NULL DEFAULT now());',
    '',
  ].join('\n'),
  'migrations/0001_users.down.sql': 'DROP TABLE user_audit;\nDROP TABLE users;\n',
};

const CONTACT = {
  'migrations/0002_contact.up.sql': [
    'CREATE FUNCTION user_contact(p_id bigint) RETURNS text LANGUAGE sql STABLE AS $$',
    '  SELECT full_name || \' <\' || email || \'>\' FROM users WHERE id = p_id',
    '$$;',
    '',
  ].join('\n'),
  'migrations/0002_contact.down.sql': 'DROP FUNCTION user_contact(bigint);\n',
};

const AUDIT_TRIGGER = {
  'migrations/0002_audit.up.sql': [
    'CREATE FUNCTION audit_user() RETURNS trigger LANGUAGE plpgsql AS $$',
    'DECLARE',
    '  previous text;',
    'BEGIN',
    '  SELECT a.status INTO previous FROM user_audit a WHERE a.user_id = NEW.id ORDER BY a.at DESC LIMIT 1;',
    '  IF previous IS DISTINCT FROM NEW.status THEN',
    '    INSERT INTO user_audit (user_id, status) VALUES (NEW.id, NEW.status);',
    '  END IF;',
    '  RETURN NEW;',
    'END $$;',
    'CREATE TRIGGER users_audit AFTER INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION audit_user();',
    '',
  ].join('\n'),
  'migrations/0002_audit.down.sql': 'DROP TRIGGER users_audit ON users;\nDROP FUNCTION audit_user();\n',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
  });
}

const pick = (f: Finding) => ({ rule: f.rule, severity: f.severity, migration: f.migration, file: f.file, line: f.line, message: f.message });
const mine = (r: Report) => r.findings.filter((f) => f.stage === 'dependencies');

describe.each(servers())('dependencies stage on $name', ({ url }) => {
  const run = (files: Record<string, string>, raw: Parameters<typeof configFor>[2] = {}) =>
    runPipeline(configFor(makeRepo({ ...USERS, ...files }), url, { stages: 'syntax,dependencies', ...raw }));

  it('passes the bundled examples with no finding, on by default', async () => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/migrations', databaseUrl: url, stages: 'syntax,rollback,data,dependencies' }));
    expect(mine(report)).toEqual([]);
    expect(report.stages.find((s) => s.name === 'dependencies')?.status).toBe('pass');
    expect(report.migrations.map((m) => m.stages.dependencies)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'pass']);
    expect(buildConfig(repoRoot, { databaseUrl: url }).stages).toContain('dependencies');
  });

  it('blames the drop of a column a SQL function reads on the statement that dropped it', async () => {
    const report = await run({
      ...CONTACT,
      'migrations/0003_drop_full_name.up.sql': 'ALTER TABLE users DROP COLUMN full_name;\n',
      'migrations/0003_drop_full_name.down.sql': 'ALTER TABLE users ADD COLUMN full_name text;\n',
    });
    expect(mine(report).map(pick)).toEqual([
      {
        rule: 'dependency-broken',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_drop_full_name.up.sql',
        line: 1,
        message: 'function user_contact(p_id bigint) reads users.full_name, dropped by 0003 at line 1: column "full_name" does not exist',
      },
    ]);
    expect(report.verdict).toBe('fail');
    expect(report.migrations.map((m) => m.stages.dependencies)).toEqual(['pass', 'pass', 'fail']);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('finds a renamed column a PL/pgSQL trigger function writes, with the statement of its body', async () => {
    const report = await run({
      ...AUDIT_TRIGGER,
      'migrations/0003_rename_status.up.sql': 'ALTER TABLE user_audit RENAME COLUMN status TO state;\n',
      'migrations/0003_rename_status.down.sql': 'ALTER TABLE user_audit RENAME COLUMN state TO status;\n',
    });
    const found = mine(report);
    expect(found.map(pick)).toEqual([
      {
        rule: 'dependency-broken',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_rename_status.up.sql',
        line: 1,
        message: 'trigger function audit_user() reads user_audit.status, renamed by 0003 at line 1: column a.status does not exist',
      },
    ]);
    expect(found[0]!.detail).toMatch(/^at line 5 of its body: SELECT a\.status/);
  });

  it('passes a renamed column whose function is replaced in the same migration', async () => {
    const report = await run({
      ...AUDIT_TRIGGER,
      'migrations/0003_rename_status.up.sql': [
        'ALTER TABLE user_audit RENAME COLUMN status TO state;',
        'CREATE OR REPLACE FUNCTION audit_user() RETURNS trigger LANGUAGE plpgsql AS $$',
        'BEGIN',
        '  INSERT INTO user_audit (user_id, state) VALUES (NEW.id, NEW.status);',
        '  RETURN NEW;',
        'END $$;',
        '',
      ].join('\n'),
      'migrations/0003_rename_status.down.sql': 'ALTER TABLE user_audit RENAME COLUMN state TO status;\n',
    });
    // The down renames the column back but leaves the new body: that one is the down's to answer for.
    expect(mine(report).map(pick)).toEqual([
      {
        rule: 'dependency-broken',
        severity: 'error',
        migration: '0003',
        file: 'migrations/0003_rename_status.down.sql',
        line: 1,
        message: 'trigger function audit_user() writes user_audit.state, renamed by the down of 0003 at line 1: column "state" of relation "user_audit" does not exist',
      },
    ]);
  });

  it('passes a rename whose function is replaced in the up and restored by the down', async () => {
    const report = await run({
      ...CONTACT,
      'migrations/0003_rename.up.sql': [
        'ALTER TABLE users RENAME COLUMN full_name TO display_name;',
        'CREATE OR REPLACE FUNCTION user_contact(p_id bigint) RETURNS text LANGUAGE sql STABLE AS $$',
        '  SELECT display_name || \' <\' || email || \'>\' FROM users WHERE id = p_id',
        '$$;',
        '',
      ].join('\n'),
      'migrations/0003_rename.down.sql': [
        'ALTER TABLE users RENAME COLUMN display_name TO full_name;',
        'CREATE OR REPLACE FUNCTION user_contact(p_id bigint) RETURNS text LANGUAGE sql STABLE AS $$',
        '  SELECT full_name || \' <\' || email || \'>\' FROM users WHERE id = p_id',
        '$$;',
        '',
      ].join('\n'),
    });
    expect(mine(report)).toEqual([]);
    expect(report.verdict).toBe('pass');
  });

  it('reports a routine that was broken before as a notice, not blamed on the migration', async () => {
    const root = makeRepo({
      ...USERS,
      'migrations/0002_stale.up.sql': [
        'CREATE FUNCTION stale_count() RETURNS bigint LANGUAGE plpgsql AS $$',
        'BEGIN RETURN (SELECT count(*) FROM users WHERE nickname IS NOT NULL); END $$;',
        '',
      ].join('\n'),
      'migrations/0002_stale.down.sql': 'DROP FUNCTION stale_count();\n',
    });
    git(root, 'init', '-q', '-b', 'main');
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'base');
    fs.writeFileSync(path.join(root, 'migrations/0003_users_idx.up.sql'), 'CREATE INDEX users_email_idx ON users (email);\n');
    fs.writeFileSync(path.join(root, 'migrations/0003_users_idx.down.sql'), 'DROP INDEX users_email_idx;\n');
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,dependencies', baseRef: 'main' }));
    expect(mine(report).map(pick)).toEqual([
      {
        rule: 'dependency-already-broken',
        severity: 'notice',
        migration: '0003',
        file: undefined,
        line: undefined,
        message: 'function stale_count() does not plan before 0003 either, so it is not caused by the migrations under test: column "nickname" does not exist',
      },
    ]);
    expect(report.verdict).toBe('pass');
  });

  it('breaks a query of the running release: a .sql file, at the query\'s line', async () => {
    const report = await run(
      {
        'migrations/0002_drop_full_name.up.sql': 'ALTER TABLE users DROP COLUMN full_name;\n',
        'migrations/0002_drop_full_name.down.sql': 'ALTER TABLE users ADD COLUMN full_name text;\n',
        'queries/app.sql': '-- the account page\nSELECT id, email FROM users WHERE id = $1;\n\nSELECT full_name\n  FROM users WHERE email = $1;\nBEGIN;\n',
      },
      { queries: 'queries/app.sql' },
    );
    expect(mine(report).map(pick)).toEqual([
      {
        rule: 'queries-skipped',
        severity: 'notice',
        migration: undefined,
        file: undefined,
        line: undefined,
        message: '1 entry of the queries were not planned: not a SELECT, INSERT, UPDATE, DELETE or MERGE, or not parseable',
      },
      {
        rule: 'query-broken',
        severity: 'error',
        migration: '0002',
        file: 'queries/app.sql',
        line: 4,
        message: '0002 breaks a query of the running release: column "full_name" does not exist (users.full_name, dropped by 0002 at line 1)',
      },
    ]);
  });

  it('reads a pg_stat_statements export as CSV and as JSON', async () => {
    const csv = 'query,calls\n"SELECT status FROM users WHERE id = $1",120\n"UPDATE users\nSET status = $1 WHERE id = $2",7\nSELECT email FROM users,3\n';
    const json = JSON.stringify([{ query: 'SELECT count(*) FROM users WHERE status = $1', calls: 4 }]);
    const report = await run(
      {
        'migrations/0002_drop_status.up.sql': 'ALTER TABLE users DROP COLUMN status;\n',
        'migrations/0002_drop_status.down.sql': "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';\n",
        'stats/statements.csv': csv,
        'stats/more.json': json,
      },
      { queries: 'stats' },
    );
    expect(mine(report).map((f) => [f.rule, f.file, f.line])).toEqual([
      ['query-broken', 'stats/more.json', undefined],
      ['query-broken', 'stats/statements.csv', 2],
      ['query-broken', 'stats/statements.csv', 3],
    ]);
  });

  it('refuses a queries file without a query column, dropping its scratch databases', async () => {
    const err = await run({ 'q.csv': 'sql,calls\nSELECT 1,2\n' }, { queries: 'q.csv' }).catch((e: unknown) => e);
    expect(isInputError(err)).toBe(true);
    expect((err as Error).message).toMatch(/q\.csv has no "query" column/);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});

describe.each(servers())('partial failure on $name', ({ url }) => {
  const run = (files: Record<string, string>) => runPipeline(configFor(makeRepo({ ...USERS, ...files }), url, { stages: 'syntax,dependencies' }));

  it('fails a CONCURRENTLY migration whose second statement failing leaves a state neither the retry nor the down recovers', async () => {
    const report = await run({
      'migrations/0002_email_idx.up.sql': 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nALTER TABLE users ADD COLUMN nickname text;\n',
      'migrations/0002_email_idx.down.sql': 'DROP INDEX CONCURRENTLY users_email_idx;\nALTER TABLE users DROP COLUMN nickname;\n',
    });
    const found = mine(report).filter((f) => f.rule === 'partial-failure-unrecoverable');
    expect(found.map((f) => [f.severity, f.migration, f.file, f.line])).toEqual([
      ['error', '0002', 'migrations/0002_email_idx.up.sql', 1],
      ['error', '0002', 'migrations/0002_email_idx.up.sql', 2],
    ]);
    expect(found[1]!.message).toBe(
      'if 0002 fails at migrations/0002_email_idx.up.sql:2 (ALTER TABLE users ADD COLUMN nickname text), what ran before it stays committed and neither way back works: running the up again fails: relation "users_email_idx" already exists; the down fails: column "nickname" of relation "users" does not exist',
    );
    expect(report.verdict).toBe('fail');
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('names the INVALID index a retry with IF NOT EXISTS keeps, with the fix', async () => {
    const report = await run({
      'migrations/0002_email_idx.up.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n',
    });
    expect(mine(report).map(pick)).toEqual([
      {
        rule: 'invalid-index-left',
        severity: 'error',
        migration: '0002',
        file: 'migrations/0002_email_idx.up.sql',
        line: 1,
        message:
          'if this CREATE INDEX CONCURRENTLY of 0002 fails half way, it leaves the INVALID index users_email_idx on users, and running the up again keeps it: queries never use it and every write still maintains it',
      },
    ]);
    expect(mine(report)[0]!.hint).toMatch(/^drop it first so that a retry builds it again: DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;/);
  });

  it('passes a concurrent build that drops a leftover first, and one whose down cleans up', async () => {
    const report = await run({
      'migrations/0002_email_idx.up.sql': 'DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n',
      'migrations/0002_email_idx.down.sql': 'DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\n',
      'migrations/0003_status_idx.up.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_status_idx ON users (status);\n',
      'migrations/0003_status_idx.down.sql': 'DROP INDEX CONCURRENTLY IF EXISTS users_status_idx;\n',
    });
    expect(mine(report)).toEqual([]);
  });
});

describe.each(servers())('dependencies stage, PL/pgSQL forms on $name', ({ url }) => {
  it('raises no false alarm on loop records, %TYPE variables, positional arguments and exception variables', async () => {
    const report = await runPipeline(
      configFor(
        makeRepo({
          ...USERS,
          'migrations/0002_forms.up.sql': [
            'CREATE FUNCTION copy_statuses(since bigint) RETURNS integer LANGUAGE plpgsql AS $$',
            'DECLARE',
            '  r record;',
            '  e users.email%TYPE;',
            '  n integer := 0;',
            'BEGIN',
            '  FOR r IN SELECT id, status FROM users WHERE id > $1 LOOP',
            '    INSERT INTO user_audit (user_id, status) VALUES (r.id, r.status);',
            '    n := n + 1;',
            '  END LOOP;',
            '  SELECT email INTO e FROM users WHERE id = copy_statuses.since;',
            '  FOR i IN 1..3 LOOP PERFORM pg_sleep(0); END LOOP;',
            '  RETURN n;',
            'EXCEPTION WHEN others THEN',
            "  RAISE NOTICE 'failed: % %', SQLSTATE, SQLERRM;",
            '  RETURN -1;',
            'END $$;',
            // The same forms, one statement wrong: proof that the bodies above were read, not skipped.
            'CREATE FUNCTION copy_notes(since bigint) RETURNS void LANGUAGE plpgsql AS $$',
            'DECLARE r record;',
            'BEGIN',
            '  FOR r IN SELECT id FROM users WHERE id > $1 LOOP NULL; END LOOP;',
            '  INSERT INTO user_audit (user_id, note) VALUES (since, 1);',
            'END $$;',
            '',
          ].join('\n'),
          'migrations/0002_forms.down.sql': 'DROP FUNCTION copy_notes(bigint);\nDROP FUNCTION copy_statuses(bigint);\n',
          'migrations/0003_idx.up.sql': 'CREATE INDEX user_audit_user_id_idx ON user_audit (user_id);\n',
          'migrations/0003_idx.down.sql': 'DROP INDEX user_audit_user_id_idx;\n',
        }),
        url,
        { stages: 'syntax,dependencies' },
      ),
    );
    expect(mine(report).map((f) => [f.rule, f.line, f.message, f.detail])).toEqual([
      [
        'new-routine-broken',
        18,
        'function copy_notes(since bigint), created by 0002, does not plan: column "note" of relation "user_audit" does not exist',
        'at line 5 of its body: INSERT INTO user_audit (user_id, note) VALUES (since, 1)',
      ],
    ]);
  });
});
