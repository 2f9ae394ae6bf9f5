/**
 * The suite's three comparisons, each against a baseline run here, on the same server:
 *  1. the pipeline on 26 realistic migrations vs the usual hand-written job (psql per file + pg_dump diff);
 *  2. pull request mode, 300 baseline migrations + 1 new, vs one psql apply of all 301;
 *  3. schema snapshot time for 20 and 200 tables.
 * Growth with the length of the history (time per migration, peak memory, a 362-migration folder
 * against a pg_dump staircase) is bench/growth.bench.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { realisticPairs, syntheticPairs, writeCorpus, type Pair } from './corpus.js';
import { timed, type Bench, type BenchRow } from './harness.js';

const CHECK_STAGES = 'syntax,rollback,data';

function shell(script: string, env: Record<string, string>): void {
  const r = spawnSync('bash', ['-c', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`baseline script failed: ${r.stderr}`);
}

function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password) };
}

/** The job teams write by hand: every up with psql, a dump, every down in reverse, a dump, a diff. */
function handWrittenJob(root: string, url: string, db: string): void {
  shell(
    `set -e
dir=${JSON.stringify(path.join(root, 'migrations'))}
createdb ${db}
pg_dump --schema-only ${db} | grep -v '^\\\\\\(un\\)\\?restrict' > "$dir/../before.sql"
for f in $(ls "$dir"/*.up.sql | sort); do psql -X -q -v ON_ERROR_STOP=1 -d ${db} -f "$f" >/dev/null; done
pg_dump --schema-only ${db} > "$dir/../after-up.sql"
for f in $(ls "$dir"/*.down.sql | sort -r); do psql -X -q -v ON_ERROR_STOP=1 -d ${db} -f "$f" >/dev/null; done
pg_dump --schema-only ${db} | grep -v '^\\\\\\(un\\)\\?restrict' > "$dir/../after-down.sql"
diff "$dir/../before.sql" "$dir/../after-down.sql" >/dev/null
dropdb ${db}`,
    pgEnv(url),
  );
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@e' } });
}

async function prMode(url: string, log: (l: string) => void): Promise<BenchRow> {
  const pairs = syntheticPairs(300);
  const root = writeCorpus(pairs);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'base');
  const extra: Pair = { name: 'add_flag', up: 'ALTER TABLE t1 ADD COLUMN flag boolean NOT NULL DEFAULT false;\n', down: 'ALTER TABLE t1 DROP COLUMN flag;\n' };
  fs.writeFileSync(path.join(root, 'migrations', '0301_add_flag.up.sql'), extra.up);
  fs.writeFileSync(path.join(root, 'migrations', '0301_add_flag.down.sql'), extra.down);
  const db = `bench_apply_${process.pid}`;
  const baselineMs = await timed(() =>
    shell(`set -e; createdb ${db}; cat $(ls ${JSON.stringify(path.join(root, 'migrations'))}/*.up.sql | sort) | psql -X -q -v ON_ERROR_STOP=1 -d ${db} >/dev/null; dropdb ${db}`, pgEnv(url)),
  );
  const config = buildConfig(root, { databaseUrl: url, stages: CHECK_STAGES, baseRef: 'main' });
  const candidateMs = await timed(() => runPipeline(config));
  log(`pr mode: psql ${baselineMs.toFixed(0)} ms, pipeline ${candidateMs.toFixed(0)} ms`);
  fs.rmSync(root, { recursive: true, force: true });
  return { name: 'PR mode: 300 baseline migrations + 1 new', baseline: 'one psql apply of all 301', baselineMs, candidateMs, goal: '<= 1.3x', met: candidateMs <= 1.3 * baselineMs };
}

async function snapshotCost(url: string, log: (l: string) => void): Promise<BenchRow> {
  // Loaded lazily: the snapshot module belongs to the rollback stage.
  const { snapshotSchema } = (await import('../src/db/snapshot.js')) as { snapshotSchema: (c: pg.ClientBase, o: object) => Promise<unknown> };
  const times = new Map<number, number>();
  for (const tables of [20, 200]) {
    const db = `bench_snap_${process.pid}_${tables}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.query(`CREATE DATABASE ${db}`);
    const u = new URL(url);
    u.pathname = `/${db}`;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    for (let i = 0; i < tables; i++) {
      await c.query(
        `CREATE TABLE s${i} (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT '', n int CHECK (n > 0), ref bigint${i > 0 ? ` REFERENCES s${i - 1} (id)` : ''}); CREATE INDEX s${i}_name ON s${i} (name);`,
      );
    }
    await snapshotSchema(c, { ignore: [], strictColumnOrder: false });
    const runs = 5;
    const ms = (await timed(async () => {
      for (let i = 0; i < runs; i++) await snapshotSchema(c, { ignore: [], strictColumnOrder: false });
    })) / runs;
    times.set(tables, ms);
    log(`snapshot: ${tables} tables in ${ms.toFixed(1)} ms`);
    await c.end();
    await admin.query(`DROP DATABASE ${db}`);
    await admin.end();
  }
  return {
    name: 'schema snapshot of 200 tables',
    baseline: 'snapshot of 20 tables',
    baselineMs: times.get(20)!,
    candidateMs: times.get(200)!,
    goal: '<= 10x (linear in objects, constant in queries)',
    met: times.get(200)! <= 10 * times.get(20)!,
  };
}

const suite: Bench = async ({ databaseUrl, log }) => {
  const rows: BenchRow[] = [];
  const root = writeCorpus(realisticPairs());
  const db = `bench_shell_${process.pid}`;
  const baselineMs = await timed(() => handWrittenJob(root, databaseUrl, db));
  const config = buildConfig(root, { databaseUrl, stages: CHECK_STAGES });
  await runPipeline(config); // warm-up: parser load, first connections
  const candidateMs = await timed(() => runPipeline(config));
  log(`full pipeline: shell ${baselineMs.toFixed(0)} ms, pipeline ${candidateMs.toFixed(0)} ms`);
  rows.push({
    name: `${CHECK_STAGES} on 26 realistic migrations (per-migration up/down/up, snapshots, data round trip)`,
    baseline: 'psql per file + pg_dump diff',
    baselineMs,
    candidateMs,
    goal: '>= 3x faster (<= 0.33x)',
    met: candidateMs * 3 <= baselineMs,
  });
  fs.rmSync(root, { recursive: true, force: true });
  rows.push(await prMode(databaseUrl, log));
  rows.push(await snapshotCost(databaseUrl, log));
  return rows;
};

export default suite;
