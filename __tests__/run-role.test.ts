import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import type { Finding } from '../src/report/model.js';
import { startThrowawayCluster, type ThrowawayCluster } from './support/cluster.js';
import { configFor, makeRepo } from './support/fixtures.js';

// What the parse tree cannot see (SQL built at run time) is stopped by the role the migrations
// log in as. Destructive by intent: only on a cluster of the test's own.
let cluster: ThrowawayCluster;
let admin: pg.Client;
beforeAll(async () => {
  cluster = await startThrowawayCluster();
  admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query('CREATE DATABASE victim');
});
afterAll(async () => {
  await admin?.end().catch(() => {});
  await cluster?.stop();
});

const base = {
  'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY, v text);\n',
  'migrations/0001_t.down.sql': 'DROP TABLE t;\n',
};

async function run(files: Record<string, string>, raw: Record<string, string> = {}) {
  const lines: string[] = [];
  const report = await runPipeline(configFor(makeRepo({ ...base, ...files }), cluster.url, { stages: 'syntax', ...raw }), { log: (l) => lines.push(l) });
  return { report, errors: report.findings.filter((f) => f.severity === 'error'), log: lines.join('\n') };
}

const at = (f: Finding | undefined) => f && `${f.file}:${f.line} ${f.rule}: ${f.message}`;

async function leftovers(): Promise<string[]> {
  const r = await admin.query<{ n: string }>("SELECT rolname AS n FROM pg_roles WHERE rolname LIKE 'mci\\_%' OR rolname = 'app_reader' UNION ALL SELECT datname FROM pg_database WHERE datname LIKE 'mci\\_%'");
  return r.rows.map((x) => x.n);
}

describe('SQL built at run time, stopped by the role the migrations run as', () => {
  it('DROP and ALTER DATABASE through EXECUTE in a DO block', async () => {
    // Postgres itself refuses DROP DATABASE inside a routine (it cannot run in a transaction block).
    const dropped = await run({
      'migrations/0002_drop.up.sql': "SELECT 1;\nDO $$ BEGIN EXECUTE 'DROP DATABASE ' || quote_ident('vic' || 'tim'); END $$;\n",
      'migrations/0002_drop.down.sql': 'SELECT 1;\n',
    });
    expect(dropped.log).toMatch(/migrations run as mci_run_\w+, a role of this run that may act only inside its scratch databases/);
    expect(at(dropped.errors[0])).toMatch(/^migrations\/0002_drop\.up\.sql:2 apply-failed: DROP DATABASE cannot/);
    // ALTER DATABASE may: the run's role is not the owner.
    const renamed = await run({
      'migrations/0002_rename.up.sql': "SELECT 1;\nDO $$ BEGIN EXECUTE 'ALTER DATABASE ' || quote_ident('vic' || 'tim') || ' RENAME TO taken'; END $$;\n",
      'migrations/0002_rename.down.sql': 'SELECT 1;\n',
    });
    expect(at(renamed.errors[0])).toMatch(/^migrations\/0002_rename\.up\.sql:2 apply-failed: must be owner of database victim/);
    expect(renamed.errors[0]!.hint).toMatch(/migrations run as mci_run_\w+, a role of this run .*allow-outside: superuser/s);
    expect((await admin.query("SELECT 1 FROM pg_database WHERE datname = 'victim'")).rowCount).toBe(1);
    expect(await leftovers()).toEqual([]);
  });

  it('the server configuration through EXECUTE', async () => {
    const reload = await run({
      'migrations/0002_system.up.sql': "DO $$ BEGIN EXECUTE 'SELECT pg_' || 'reload_conf()'; END $$;\n",
      'migrations/0002_system.down.sql': 'SELECT 1;\n',
    });
    expect(at(reload.errors[0])).toMatch(/^migrations\/0002_system\.up\.sql:1 apply-failed: permission denied for function pg_reload_conf/);
    const system = await run({
      'migrations/0002_system.up.sql': "DO $$ BEGIN EXECUTE 'ALTER ' || 'SYSTEM SET work_mem = ' || quote_literal('64MB'); END $$;\n",
      'migrations/0002_system.down.sql': 'SELECT 1;\n',
    });
    expect(at(system.errors[0])).toMatch(/^migrations\/0002_system\.up\.sql:1 apply-failed: ALTER SYSTEM cannot/);
    expect((await admin.query("SELECT 1 FROM pg_file_settings WHERE name = 'work_mem'")).rowCount).toBe(0);
  });

  it('COPY ... PROGRAM through EXECUTE', async () => {
    const marker = path.join(os.tmpdir(), `mci-pwned-${process.pid}-${Date.now()}`);
    const { errors } = await run({
      'migrations/0002_program.up.sql': `DO $$ BEGIN EXECUTE format('COPY t (v) FROM %s %L', 'PRO' || 'GRAM', 'touch ${marker}'); END $$;\n`,
      'migrations/0002_program.down.sql': 'SELECT 1;\n',
    });
    expect(at(errors[0])).toMatch(/^migrations\/0002_program\.up\.sql:1 apply-failed: (permission denied to COPY|must be superuser or have privileges of the pg_execute_server_program role to COPY) to or from an external program/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('pg_terminate_backend through a function a later migration calls', async () => {
    const other = new pg.Client({ connectionString: cluster.url, application_name: 'mci-bystander' });
    await other.connect();
    try {
      const { errors } = await run({
        'migrations/0002_fn.up.sql':
          "CREATE FUNCTION stop_session(p int) RETURNS boolean LANGUAGE plpgsql AS $$\nDECLARE r boolean;\nBEGIN\n  EXECUTE 'SELECT pg_' || 'terminate_backend($1)' INTO r USING p;\n  RETURN r;\nEND $$;\n",
        'migrations/0002_fn.down.sql': 'DROP FUNCTION stop_session(int);\n',
        'migrations/0003_call.up.sql': "SELECT stop_session(pid) FROM pg_stat_activity WHERE application_name = 'mci-bystander';\n",
        'migrations/0003_call.down.sql': 'SELECT 1;\n',
      });
      expect(at(errors[0])).toMatch(/^migrations\/0003_call\.up\.sql:1 apply-failed: (permission denied to terminate process|must be a superuser to terminate superuser process)/);
      expect((await other.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await other.end().catch(() => {});
    }
  });
});

describe('ordinary migrations under the run role', () => {
  it('extensions, roles, grants, functions, triggers and policies pass, and nothing is left', async () => {
    const { report, errors } = await run(
      {
        'migrations/0002_app.up.sql': [
          'CREATE EXTENSION IF NOT EXISTS pgcrypto;',
          'CREATE EXTENSION IF NOT EXISTS citext;',
          'CREATE ROLE app_reader NOLOGIN;',
          'CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email citext NOT NULL, owner_name text, updated_at timestamptz);',
          'GRANT USAGE ON SCHEMA public TO app_reader;',
          'GRANT SELECT ON accounts TO app_reader;',
          'CREATE SCHEMA reporting AUTHORIZATION app_reader;',
          "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;",
          'CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION touch();',
          'ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;',
          'CREATE POLICY own_rows ON accounts FOR SELECT TO app_reader USING (owner_name = current_user);',
          "SELECT encode(digest('x', 'sha256'), 'hex');",
          '',
        ].join('\n'),
        'migrations/0002_app.down.sql': [
          'DROP POLICY own_rows ON accounts;',
          'DROP TABLE accounts;',
          'DROP FUNCTION touch();',
          'REVOKE USAGE ON SCHEMA public FROM app_reader;',
          'DROP SCHEMA reporting;',
          'DROP ROLE app_reader;',
          'DROP EXTENSION citext;',
          'DROP EXTENSION pgcrypto;',
          '',
        ].join('\n'),
      },
      { stages: 'syntax,rollback,data' },
    );
    expect(errors.map(at)).toEqual([]);
    expect(report.verdict).toBe('pass');
    expect(await leftovers()).toEqual([]);
  });

  it('run as the connecting role with allow-outside: superuser, or when an extension needs a superuser', async () => {
    const needsSuperuser = {
      'migrations/0002_su.up.sql': "DO $$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN RAISE EXCEPTION 'not a superuser'; END IF; END $$;\n",
      'migrations/0002_su.down.sql': 'SELECT 1;\n',
    };
    expect(at((await run(needsSuperuser)).errors[0])).toMatch(/0002_su\.up\.sql:1 apply-failed: not a superuser/);
    const allowed = await run(needsSuperuser, { allowOutside: 'superuser' });
    expect(allowed.errors).toEqual([]);
    expect(allowed.log).toMatch(/migrations run as the connecting role \(allow-outside: superuser lets them/);
    const untrusted = (await admin.query<{ name: string }>("SELECT name FROM pg_available_extension_versions WHERE superuser AND NOT trusted AND name IN ('pg_buffercache', 'pg_stat_statements', 'file_fdw', 'dblink') ORDER BY name LIMIT 1")).rows[0]?.name;
    expect(untrusted).toBeDefined();
    if (untrusted) {
      const ext = await run({ ...needsSuperuser, 'migrations/0002_su.up.sql': `CREATE EXTENSION ${untrusted};\n${needsSuperuser['migrations/0002_su.up.sql']}`, 'migrations/0002_su.down.sql': `DROP EXTENSION ${untrusted};\n` });
      expect(ext.errors).toEqual([]);
      expect(ext.log).toContain(`migrations run as the connecting role (the migrations create ${untrusted}, which only a superuser may create)`);
    }
    expect(await leftovers()).toEqual([]);
  });
});
