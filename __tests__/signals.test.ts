import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import { startThrowawayCluster, type ThrowawayCluster } from './support/cluster.js';
import { configFor, makeRepo, repoRoot } from './support/fixtures.js';

// Signals and leftovers on a cluster of the test's own: every mci_ database on it is ours to count.
let cluster: ThrowawayCluster;
// The CLI compiled as it ships (tsx's loader handles SIGINT itself, so it cannot stand in for the binary here).
const built = path.join(repoRoot, 'node_modules/.cache/mci-signal-tests');
beforeAll(async () => {
  fs.rmSync(built, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', built]);
  fs.writeFileSync(path.join(built, 'entry.mjs'), "import { main } from './cli/main.js';\nawait main();\n");
  cluster = await startThrowawayCluster();
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(built, { recursive: true, force: true });
});

async function scratchDatabases(): Promise<string[]> {
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  try {
    return (await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'mci\\_%' ORDER BY 1")).rows.map((x) => x.datname);
  } finally {
    await c.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startCli(root: string, args: string[] = []) {
  const child = spawn(process.execPath, [path.join(built, 'entry.mjs'), '--perf-rows', '300', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  return { child, exited, output: () => output };
}

const TABLES = {
  'migrations/0001_users.up.sql': 'CREATE TABLE users (id int PRIMARY KEY, email text);\n',
  'migrations/0001_users.down.sql': 'DROP TABLE users;\n',
};

const REPO = {
  'migrations/0001_users.up.sql': 'CREATE TABLE users (id int PRIMARY KEY, email text);\n',
  'migrations/0001_users.down.sql': 'DROP TABLE users;\n',
  'migrations/0002_bio.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\nCREATE INDEX users_email_idx ON users (email);\n',
  'migrations/0002_bio.down.sql': 'DROP INDEX users_email_idx;\nALTER TABLE users DROP COLUMN bio;\n',
  'migrations/0003_role.up.sql': 'CREATE ROLE signal_reader NOLOGIN;\nGRANT SELECT ON users TO signal_reader;\n',
  'migrations/0003_role.down.sql': 'REVOKE SELECT ON users FROM signal_reader;\nDROP ROLE signal_reader;\n',
};

describe('signals', () => {
  it('a signal at any point of a run ends it with 130/143, never an internal error, and leaves nothing', async () => {
    const root = makeRepo(REPO);
    // Spread over the run: start-up, connecting, creating databases, the walk, the performance stage.
    const delays = [150, 600, 900, 1200, 1500, 1800, 2200, 2600, 3200, 4000];
    for (const [i, delay] of delays.entries()) {
      const signal: NodeJS.Signals = i % 3 === 2 ? 'SIGINT' : 'SIGTERM';
      const run = startCli(root);
      await sleep(delay);
      run.child.kill(signal);
      const code = await run.exited;
      // Before Node has loaded the CLI the signal's default action ends it (a shell sees 128+n too);
      // a run that finished before the signal came exits with its verdict.
      const status = code ?? (run.child.signalCode === signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : code);
      expect([signal === 'SIGINT' ? 130 : 143, 0], `${signal} after ${delay} ms: ${run.output()}`).toContain(status);
      expect(run.output()).not.toMatch(/internal error|\n\s+at /);
      expect(await scratchDatabases(), `${signal} after ${delay} ms: ${run.output()}`).toEqual([]);
    }
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    const role = await c.query("SELECT 1 FROM pg_roles WHERE rolname = 'signal_reader'");
    await c.end();
    expect(role.rowCount).toBe(0);
  });

  it('after a SIGKILL, the next run drops the stale scratch databases and says so', async () => {
    const root = makeRepo({ ...TABLES, 'migrations/0004_slow.up.sql': 'SELECT pg_sleep(60);\n', 'migrations/0004_slow.down.sql': 'SELECT 1;\n' });
    const run = startCli(root, ['--stages', 'syntax']);
    await sleepingInScratch();
    run.child.kill('SIGKILL');
    await run.exited;
    const left = await scratchDatabases();
    expect(left.length).toBeGreaterThan(0);
    const lines: string[] = [];
    await runPipeline(configFor(root, cluster.url, { stages: 'syntax', statementTimeoutMs: '500' }), { log: (l) => lines.push(l) });
    for (const db of left) expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^dropped stale scratch database ${db} of an ended run \\(pid ${run.child.pid} `)));
    expect(await scratchDatabases()).toEqual([]);
    // The killed run's role too, with its grant on session_replication_role.
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^dropped stale role mci_run_\\S+ of an ended run \\(pid ${run.child.pid} `)));
    expect(lines.filter((l) => l.includes('could not be dropped'))).toEqual([]);
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    const roles = await c.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'mci\\_%'");
    await c.end();
    expect(roles.rows).toEqual([]);
  });

  it('a reader that goes away (| head) stops the run with 141 and leaves nothing', async () => {
    const root = makeRepo({ ...TABLES, 'migrations/0004_slow.up.sql': 'SELECT pg_sleep(2);\n', 'migrations/0004_slow.down.sql': 'SELECT 1;\n' });
    const run = startCli(root, ['--stages', 'syntax']);
    await sleepingInScratch('SELECT pg_sleep(2)');
    expect(await scratchDatabases()).not.toEqual([]);
    // What the run writes after its sleep meets a closed pipe.
    run.child.stdout.destroy();
    run.child.stderr.destroy();
    expect(await run.exited).toBe(141);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a second SIGINT exits at once with 130', async () => {
    const root = makeRepo({ ...TABLES, 'migrations/0004_slow.up.sql': 'SELECT pg_sleep(60);\n', 'migrations/0004_slow.down.sql': 'SELECT 1;\n' });
    const run = startCli(root, ['--stages', 'syntax']);
    await sleepingInScratch().catch((e: Error) => Promise.reject(new Error(`${e.message}: ${run.output()}`)));
    // A cleanup that cannot finish (as with a server that stopped answering): DROP DATABASE waits on this lock.
    const blocker = new pg.Client({ connectionString: cluster.url });
    await blocker.connect();
    await blocker.query('BEGIN; LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE');
    try {
      run.child.kill('SIGINT');
      for (let i = 0; i < 600 && !/SIGINT: dropping/.test(run.output()); i++) await sleep(20);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(130);
      expect(run.output()).toMatch(/SIGINT again: exiting without waiting/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    // Whatever the impatient exit left, the next run drops.
    await runPipeline(configFor(root, cluster.url, { stages: 'syntax', statementTimeoutMs: '500' }));
    expect(await scratchDatabases()).toEqual([]);
  });
});

/** Until a migration sleeps in a scratch database of the cluster. */
async function sleepingInScratch(statement = 'SELECT pg_sleep(60)'): Promise<void> {
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  try {
    for (let i = 0; i < 600; i++) {
      const r = await c.query("SELECT 1 FROM pg_stat_activity WHERE starts_with(query, $1) AND datname LIKE 'mci\\_%'", [statement]);
      if (r.rowCount) return;
      await sleep(50);
    }
    throw new Error(`the slow migration never ran (${JSON.stringify((await c.query('SELECT datname, state, query FROM pg_stat_activity')).rows)})`);
  } finally {
    await c.end();
  }
}
