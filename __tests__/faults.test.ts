import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { InputError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import { startThrowawayCluster } from './support/cluster.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  const code = await runCli(args, { cwd, env, stdout: (t) => (out += t), stderr: (t) => (out += t), isTTY: false });
  return { code, out };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True once a session in that database runs the migration's pg_sleep. */
async function sleepingIn(url: string, db: string): Promise<true | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep(1.5)%'", [db]);
    return r.rowCount ? true : undefined;
  } finally {
    await c.end();
  }
}

/** The scratch database of this process that holds a table of that name. */
async function scratchHolding(url: string, table: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const dbs = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [`mci\\_%\\_${process.pid.toString(36)}\\_%`]);
    for (const { datname } of dbs.rows) {
      const u = new URL(url);
      u.pathname = `/${datname}`;
      const d = new pg.Client({ connectionString: u.toString() });
      try {
        await d.connect();
        const r = await d.query('SELECT to_regclass($1) AS t', [table]);
        if (r.rows[0].t) return datname;
      } catch {
        // dropped meanwhile
      } finally {
        await d.end().catch(() => {});
      }
    }
    return undefined;
  } finally {
    await c.end();
  }
}

describe.each(servers())('faults on $name', ({ url }) => {
  it('stops a migration that loops forever at the statement timeout, at that statement', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE t (id int);',
      'migrations/2_loop.up.sql': 'ALTER TABLE t ADD COLUMN n int;\n\nDO $$ BEGIN LOOP PERFORM 1; END LOOP; END $$;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', statementTimeoutMs: '800' }));
    const errors = report.findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => [f.rule, f.file, f.line])).toEqual([['statement-timeout', 'migrations/2_loop.up.sql', 3]]);
    expect(errors[0]!.message).toBe('canceling statement due to statement timeout: the statement ran longer than the statement timeout');
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('stops a migration that waits on a lock at the lock timeout', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE held (id int);',
      'migrations/2_wait.up.sql': 'SELECT pg_sleep(1.5);\nALTER TABLE held ADD COLUMN n int;\n',
    });
    const run = runPipeline(configFor(root, url, { stages: 'syntax', lockTimeoutMs: '500' }));
    const db = await waitFor('the scratch table', () => scratchHolding(url, 'held'));
    // Lock once the migration is in its sleep: the rows were filled before it began, so only its ALTER waits.
    await waitFor('the migration to reach its sleep', () => sleepingIn(url, db));
    const u = new URL(url);
    u.pathname = `/${db}`;
    const holder = new pg.Client({ connectionString: u.toString() });
    // The run drops its database at the end, cutting this connection: expected.
    holder.on('error', () => {});
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE held IN ACCESS EXCLUSIVE MODE');
    try {
      const report = await run;
      const errors = report.findings.filter((f) => f.severity === 'error');
      expect(errors.map((f) => [f.rule, f.file, f.line])).toEqual([['lock-timeout', 'migrations/2_wait.up.sql', 2]]);
      expect(errors[0]!.message).toMatch(/^canceling statement due to lock timeout/);
    } finally {
      await holder.end().catch(() => {});
    }
  });

  it('says a role without CREATEDB cannot work, and how to fix it', async () => {
    const role = `mci_nocreatedb_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}'`);
    try {
      const u = new URL(url);
      u.username = role;
      u.password = `pw-${role}`;
      const root = makeRepo({ 'migrations/1_t.up.sql': 'CREATE TABLE t (id int);' });
      const r = await cli(['--stages', 'syntax'], root, { DATABASE_URL: u.toString() });
      expect(r.code).toBe(2);
      expect(r.out).toContain(`role ${role} may not create databases on ${u.hostname}:${u.port}: migration-ci works only in scratch databases it creates and drops.`);
      expect(r.out).toContain(`Grant it with: ALTER ROLE "${role}" CREATEDB;`);
      expect(r.out).not.toContain(`pw-${role}`);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});

describe('faults with a server of our own', () => {
  it('exits 2 naming the host, never the password, on a wrong password', async () => {
    const url = servers().find((s) => s.name === 'pg17-embedded')!.url;
    const u = new URL(url);
    u.password = 'Wr0ng-Secret-9';
    const root = makeRepo({ 'migrations/1_t.up.sql': 'CREATE TABLE t (id int);' });
    const r = await cli(['--stages', 'syntax', '--connect-timeout', '3000'], root, { DATABASE_URL: u.toString() });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(new RegExp(`cannot connect to Postgres at 127\\.0\\.0\\.1:${u.port} as postgres: password authentication failed \\(3 attempts`));
    expect(r.out).not.toContain('Wr0ng-Secret-9');
  });

  it('ends with exit 2, never a verdict, when the server restarts mid-run, and drops its databases', async () => {
    const cluster = await startThrowawayCluster('restart-pw');
    const url = cluster.url;
    try {
      const root = makeRepo({
        'migrations/1_t.up.sql': 'CREATE TABLE victim (id int);',
        'migrations/2_slow.up.sql': 'SELECT pg_sleep(20);',
      });
      const run = runPipeline(configFor(root, url, { stages: 'syntax' })).then(
        () => new Error('the run gave a verdict'),
        (e: unknown) => e,
      );
      await waitFor('the slow migration', () => scratchHolding(url, 'victim'));
      await cluster.restart();
      const err = await run;
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).kind).toBe('database');
      expect((err as Error).message).toMatch(/^lost the connection to Postgres during the run: /);
      expect((err as Error).message).not.toContain('restart-pw');
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const left = await c.query("SELECT datname FROM pg_database WHERE datname LIKE 'mci\\_%'");
      await c.end();
      expect(left.rows).toEqual([]);
    } finally {
      await cluster.stop();
    }
  }, 90_000);
});
