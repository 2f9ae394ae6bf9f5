import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCommand } from '../src/cli/command.js';
import { isInputError, type InputError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import type { Report } from '../src/report/model.js';
import { startThrowawayCluster, type ThrowawayCluster } from './support/cluster.js';
import { configFor, makeRepo, repoRoot } from './support/fixtures.js';

// Roles are the server's: what migrations and commands do to them is tried only on clusters of
// the test's own, on 15 (where CREATEROLE reaches every role that is not a superuser) and 17.
const base = {
  'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY, v text);\n',
  'migrations/0001_t.down.sql': 'DROP TABLE t;\n',
};

const pgModule = JSON.stringify(path.join(repoRoot, 'node_modules/pg'));

/** A migration tool in a few lines: its bookkeeping table, then one step; prints who it is and what it was given. */
const TOOL = `const pg = require(${pgModule});
(async () => {
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  const who = (await c.query('SELECT current_user AS u')).rows[0].u;
  await c.query('CREATE TABLE IF NOT EXISTS tool_versions (v int PRIMARY KEY)');
  const done = (await c.query('SELECT count(*)::int AS n FROM tool_versions')).rows[0].n;
  console.log('as ' + who + ' url ' + process.env.DATABASE_URL + ' password ' + process.env.PGPASSWORD);
  if (done >= 1) { console.log('permission denied for the second step'); process.exit(1); }
  await c.query('CREATE TABLE items (id int PRIMARY KEY)');
  await c.query('INSERT INTO tool_versions VALUES (1)');
  await c.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

describe.each([15, 17])('what migrations and commands may do to roles on a throwaway Postgres %i', (major) => {
  let cluster: ThrowawayCluster;
  let admin: pg.Client;
  beforeAll(async () => {
    cluster = await startThrowawayCluster('throwaway-pw', { major });
    admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query("CREATE ROLE keeper NOLOGIN VALID UNTIL '2100-01-01 00:00:00+00'");
  });
  afterAll(async () => {
    await admin?.end().catch(() => {});
    await cluster?.stop();
  });

  const roles = async () => (await admin.query<{ n: string }>("SELECT rolname AS n FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1")).rows.map((x) => x.n);
  const scratch = async () => (await admin.query<{ n: string }>("SELECT datname AS n FROM pg_database WHERE datname LIKE 'mci\\_%'")).rows.map((x) => x.n);

  async function run(files: Record<string, string>, raw: Record<string, string> = {}) {
    const lines: string[] = [];
    const secrets: string[] = [];
    let report: Report | undefined;
    let error: InputError | undefined;
    try {
      report = await runPipeline(configFor(makeRepo({ ...(raw.upCommand ? {} : base), ...files }), cluster.url, { stages: 'syntax', ...raw }), {
        log: (l) => lines.push(l),
        runCommand: spawnCommand,
        secret: (c) => secrets.push(decodeURIComponent(new URL(c).password)),
      });
    } catch (e) {
      if (!isInputError(e)) throw e;
      error = e;
    }
    return { report, error, log: lines.join('\n'), secrets, errors: report?.findings.filter((f) => f.severity === 'error') ?? [] };
  }

  it('up-command connects as the run role, which owns its bookkeeping table; its password is never printed', async () => {
    const before = await roles();
    const r = await run({ 'tool.cjs': TOOL, 'migrations/1_items.cjs': '// moved by tool.cjs\n', 'migrations/2_more.cjs': '// moved by tool.cjs\n' }, { upCommand: 'node tool.cjs' });
    expect(r.error).toBeUndefined();
    expect(r.log).toMatch(/up-command connects as mci_run_\w+, a role of this run/);
    if (major < 16) expect(r.log).toContain('it may not create roles (on Postgres 15 CREATEROLE could grant access to the server');
    // The first step passed under the run role; the second prints the run role's credentials and fails.
    const f = r.errors.find((x) => x.rule === 'command-failed')!;
    expect(f.migration).toBe('2');
    expect(f.detail).toMatch(/as mci_run_\w+ url \$DATABASE_URL password \*\*\*/);
    expect(f.hint).toMatch(/allow-outside: superuser runs the migrations as the connecting role/);
    expect(r.secrets).toHaveLength(1);
    expect(JSON.stringify(r.report)).not.toContain(r.secrets[0]);
    expect(await roles()).toEqual(before);
    expect(await scratch()).toEqual([]);
  });

  it('the data test command connects as the run role', async () => {
    const command = `node -e "const c = new (require(${pgModule.replace(/"/g, '\\"')}).Client)({ connectionString: process.env.DATABASE_URL }); c.connect().then(() => c.query('SELECT current_user AS u')).then((r) => { console.log('as ' + r.rows[0].u + ' ' + process.env.PGPASSWORD); process.exit(3); })"`;
    const r = await run({}, { stages: 'syntax,data', dataTestCommand: command });
    const f = r.report!.findings.find((x) => x.rule === 'test-command-failed')!;
    expect(f.detail).toMatch(/as mci_run_\w+ \*\*\*/);
    expect(JSON.stringify(r.report)).not.toContain(r.secrets[0]);
  });

  it('a role that only EXECUTE creates, under the connecting role, is compared by the rollback stage and dropped', async () => {
    const before = await roles();
    const up = "DO $$ BEGIN EXECUTE 'CREATE ROLE ' || 'dyn_reader NOLOGIN'; END $$;\n";
    const left = await run({ 'migrations/0002_dyn.up.sql': up, 'migrations/0002_dyn.down.sql': 'SELECT 1;\n' }, { stages: 'syntax,rollback', allowOutside: 'superuser' });
    expect(left.error).toBeUndefined();
    expect(left.report!.findings.filter((f) => f.stage === 'rollback').map((f) => [f.rule, f.message])).toContainEqual(['down-not-restoring', 'role dyn_reader is left behind by the down of 0002']);
    expect(await roles()).toEqual(before);
    const clean = await run({ 'migrations/0002_dyn.up.sql': up, 'migrations/0002_dyn.down.sql': "DO $$ BEGIN EXECUTE 'DROP ROLE dyn_reader'; END $$;\n" }, { stages: 'syntax,rollback', allowOutside: 'superuser' });
    expect(clean.errors).toEqual([]);
    expect(clean.report!.verdict).toBe('pass');
    expect(await roles()).toEqual(before);
    expect(await scratch()).toEqual([]);
  });

  it('role-managing migrations run as the run role and are measured by the performance stage', async () => {
    const before = await roles();
    const r = await run(
      {
        // A session time zone of its own changes nothing about the roles the server had.
        'migrations/0002_reader.up.sql': "SET TimeZone = 'Asia/Tokyo';\nCREATE ROLE app_reader NOLOGIN;\nCREATE USER app_login PASSWORD 'login-pw' IN ROLE app_reader;\nGRANT SELECT ON t TO app_reader;\n",
        'migrations/0002_reader.down.sql': 'REVOKE SELECT ON t FROM app_reader;\nDROP ROLE app_login;\nDROP ROLE app_reader;\n',
        // Objects owned by a role the migrations created, also after SET ROLE to it.
        'migrations/0003_owned.up.sql': 'CREATE SCHEMA reporting AUTHORIZATION app_reader;\nSET ROLE app_reader;\nCREATE TABLE reporting.daily (d date PRIMARY KEY);\nRESET ROLE;\n',
        'migrations/0003_owned.down.sql': 'DROP TABLE reporting.daily;\nDROP SCHEMA reporting;\n',
      },
      { stages: 'syntax,rollback,performance', perfRows: '200' },
    );
    expect(r.error).toBeUndefined();
    expect(r.log).toMatch(/migrations run as mci_run_/);
    expect(r.errors).toEqual([]);
    expect(r.report!.findings.filter((f) => f.stage === 'performance' && f.migration === '0002')).toEqual([]);
    expect(r.report!.migrations.find((m) => m.version === '0002')!.stages.performance).not.toBe('skip');
    expect(await roles()).toEqual(before);
  });

  it('a predefined role with access to the server, granted by EXECUTE, is never used', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mci-marker-')), 'ran');
    fs.chmodSync(path.dirname(marker), 0o777);
    const before = await roles();
    const r = await run({
      'migrations/0002_escalate.up.sql':
        'CREATE ROLE app_reader NOLOGIN;\n' +
        "DO $$ BEGIN EXECUTE 'GRANT pg_execute_server_program TO ' || quote_ident(current_user); END $$;\n" +
        `DO $$ BEGIN EXECUTE 'COPY t (v) FROM PROG' || 'RAM ' || quote_literal('touch ${marker}'); END $$;\n`,
      'migrations/0002_escalate.down.sql': 'DROP ROLE app_reader;\n',
    });
    expect(fs.existsSync(marker)).toBe(false);
    if (major < 16) {
      // CREATEROLE grants it on 15: the statement is rolled back and the run stops there.
      expect(r.error).toMatchObject({ file: 'migrations/0002_escalate.up.sql', line: 2 });
      expect(r.error!.message).toMatch(/^the migrations made the run's role mci_run_\w+ a member of pg_execute_server_program, a role the run did not create \(a predefined role with access to the server\): on Postgres 15 a role with CREATEROLE may do this/);
    } else {
      expect(r.error).toBeUndefined();
      expect(r.errors.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.message}`)).toEqual([
        expect.stringMatching(/^migrations\/0002_escalate\.up\.sql:2 apply-failed: permission denied to grant role "pg_execute_server_program"/),
      ]);
    }
    expect(await roles()).toEqual(before);
    expect(await scratch()).toEqual([]);
  });

  it('an assert file that grants a predefined role by EXECUTE stops the run', async () => {
    const r = await run(
      {
        'migrations/0002_reader.up.sql': 'CREATE ROLE app_reader NOLOGIN;\n',
        'migrations/0002_reader.down.sql': 'DROP ROLE app_reader;\n',
        'data-tests/0002.assert.sql': "SELECT 1 WHERE false;\nDO $$ BEGIN EXECUTE 'GRANT pg_read_server_files TO ' || quote_ident(current_user); END $$;\n",
      },
      { stages: 'syntax,data', dataTests: 'data-tests' },
    );
    if (major < 16) {
      expect(r.error).toMatchObject({ file: 'data-tests/0002.assert.sql', line: 2 });
      expect(r.error!.message).toMatch(/a member of pg_read_server_files/);
    } else {
      expect(r.error).toBeUndefined();
      expect(r.report!.findings.map((f) => f.message).join('\n')).toMatch(/permission denied to grant role "pg_read_server_files"/);
    }
    expect(await scratch()).toEqual([]);
  });

  it('a role the server had, changed by EXECUTE, is left as it was', async () => {
    const before = await roles();
    const r = await run({
      'migrations/0002_keeper.up.sql': "CREATE ROLE app_reader NOLOGIN;\nDO $$ BEGIN EXECUTE 'ALTER ROLE ' || 'keeper LOGIN'; END $$;\n",
      'migrations/0002_keeper.down.sql': 'DROP ROLE app_reader;\n',
    });
    const keeper = await admin.query<{ login: boolean }>("SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = 'keeper'");
    expect(keeper.rows[0]!.login).toBe(false);
    if (major < 16) {
      expect(r.error).toMatchObject({ file: 'migrations/0002_keeper.up.sql', line: 2 });
      expect(r.error!.message).toMatch(/^the migrations changed role keeper, which the server had before the run \(VALID UNTIL 2100-01-01 00:00:00\+00 -> LOGIN VALID UNTIL 2100-01-01 00:00:00\+00\)/);
    } else {
      expect(r.errors.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual(['migrations/0002_keeper.up.sql:2 apply-failed']);
    }
    expect(await roles()).toEqual(before);
    expect(await scratch()).toEqual([]);
  });
});
