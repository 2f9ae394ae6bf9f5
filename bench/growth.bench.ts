/**
 * Growth: what a long history costs.
 *  1. time per migration at 10, 100 and 1,000 synthetic migrations (goal: flat, within 1.5x of 10;
 *     a run of a few seconds is repeated, up to 5 times in 10 s, and its median taken);
 *  2. peak memory (maxRSS) of those runs, 1,000 against 100 (goal: within 1.5x);
 *  3. syntax,rollback,data on a realistic 362-migration folder (__tests__/support/big-folder.ts:
 *     tables with foreign keys and indexes, enums, backfills, table rebuilds and renames, seed rows)
 *     against a pg_dump staircase over the same files: per migration `psql` up, `pg_dump -s`, down,
 *     `pg_dump -s`, compare with the dump before the up, up again (goal: at least 3x faster).
 * Every pipeline run is a process of its own (bench/growth-run.ts), so its peak memory is its own.
 *
 * A full run takes minutes. Smaller: BENCH_GROWTH_SIZES=10,100 (sizes, the first one the base)
 * and BENCH_STAIRCASE_MIGRATIONS=100 (size of the realistic folder; 0 skips the staircase).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECK_STAGES, writeGrowthCorpus } from './growth-run.js';
import { timed, type Bench, type BenchRow } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function sizesFromEnv(): number[] {
  const raw = process.env.BENCH_GROWTH_SIZES ?? '10,100,1000';
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_GROWTH_SIZES must list migration counts, e.g. 10,100,1000; got ${raw}`);
  return sizes;
}

function staircaseSize(): number {
  const raw = process.env.BENCH_STAIRCASE_MIGRATIONS ?? '362';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_STAIRCASE_MIGRATIONS must be a migration count; got ${raw}`);
  return n;
}

interface ChildRun {
  ms: number;
  maxRssBytes: number;
  verdict: string;
}

/** One pipeline run in a fresh Node process. */
function runInChild(kind: 'synthetic' | 'realistic', n: number, url: string): ChildRun {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'growth-run.ts'), kind, String(n), url], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`growth run (${kind}, ${n}) failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as ChildRun;
}

function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password) };
}

/**
 * The independent check teams script with the server's own tools, on empty tables: per migration
 * up, dump, down, dump, compare the second dump with the one before the up, up again. It goes on
 * past a failing step (a broken down is what it is there to find). Returns the migrations whose
 * down did not give the schema back.
 */
function pgDumpStaircase(root: string, url: string): number {
  const db = `bench_staircase_${process.pid}`;
  const r = spawnSync(
    'bash',
    [
      '-c',
      `set -u
dir=${JSON.stringify(path.join(root, 'migrations'))}
work=$(mktemp -d)
createdb ${db} || exit 1
apply() { psql -X -q -v ON_ERROR_STOP=1 -d ${db} -f "$1" >/dev/null 2>&1; }
dump() { pg_dump --schema-only ${db} | grep -v '^\\\\\\(un\\)\\?restrict' > "$1"; }
dump "$work/before.sql"
differ=0
for up in $(ls "$dir"/*.up.sql | sort); do
  down="\${up%.up.sql}.down.sql"
  apply "$up" || { echo "up fails: $up" >&2; break; }
  dump "$work/after-up.sql"
  apply "$down"
  dump "$work/after-down.sql"
  cmp -s "$work/before.sql" "$work/after-down.sql" || differ=$((differ + 1))
  apply "$up"
  mv "$work/after-up.sql" "$work/before.sql"
done
dropdb ${db}
rm -rf "$work"
echo "$differ"`,
    ],
    { env: { ...process.env, ...pgEnv(url) }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`pg_dump staircase failed: ${r.stderr}`);
  return Number(r.stdout.trim().split('\n').at(-1));
}

const MB = 2 ** 20;
/** Runs shorter than the budget together are repeated, up to this many times. */
const SHORT_RUN_REPEATS = 5;
const SHORT_RUN_BUDGET_MS = 10_000;

const growth: Bench = async ({ databaseUrl, log }) => {
  const rows: BenchRow[] = [];
  const sizes = sizesFromEnv();
  const runs = new Map<number, ChildRun>();
  for (const n of sizes) {
    // A run of a second moves with the machine's load: short runs are repeated and the median taken.
    const first = runInChild('synthetic', n, databaseUrl);
    const all = [first];
    while (all.length < SHORT_RUN_REPEATS && all.reduce((t, r) => t + r.ms, 0) < SHORT_RUN_BUDGET_MS) all.push(runInChild('synthetic', n, databaseUrl));
    const run = all.sort((x, y) => x.ms - y.ms)[Math.floor(all.length / 2)]!;
    runs.set(n, run);
    const repeats = all.length > 1 ? ` (median of ${all.length}: ${all.map((r) => r.ms.toFixed(0)).join(', ')} ms)` : '';
    log(`growth: ${n} migrations in ${run.ms.toFixed(0)} ms (${(run.ms / n).toFixed(1)} ms each)${repeats}, peak RSS ${(run.maxRssBytes / MB).toFixed(0)} MB`);
  }
  const base = sizes[0]!;
  const perMigration = (n: number) => runs.get(n)!.ms / n;
  for (const n of sizes.slice(1)) {
    rows.push({
      name: `time per migration at ${n.toLocaleString('en-US')} migrations`,
      baseline: `time per migration at ${base}`,
      baselineMs: perMigration(base),
      candidateMs: perMigration(n),
      goal: '<= 1.5x (flat)',
      met: perMigration(n) <= 1.5 * perMigration(base),
    });
  }
  if (sizes.length >= 2) {
    // Memory against the second size: the smallest run is mostly the process itself.
    const small = sizes.length > 2 ? sizes[1]! : sizes[0]!;
    const large = sizes.at(-1)!;
    const [a, b] = [runs.get(small)!.maxRssBytes, runs.get(large)!.maxRssBytes];
    rows.push({
      name: `peak RSS at ${large.toLocaleString('en-US')} migrations`,
      baseline: `peak RSS at ${small}`,
      baselineMs: a / MB,
      candidateMs: b / MB,
      unit: 'MB',
      goal: '<= 1.5x',
      met: b <= 1.5 * a,
    });
  }

  const n = staircaseSize();
  if (n > 0) {
    const root = writeGrowthCorpus('realistic', n);
    let differ = 0;
    const baselineMs = await timed(() => {
      differ = pgDumpStaircase(root, databaseUrl);
    });
    fs.rmSync(root, { recursive: true, force: true });
    const run = runInChild('realistic', n, databaseUrl);
    log(`realistic ${n}: pg_dump staircase ${baselineMs.toFixed(0)} ms (${differ} downs differ), pipeline ${run.ms.toFixed(0)} ms (verdict ${run.verdict}), peak RSS ${(run.maxRssBytes / MB).toFixed(0)} MB`);
    rows.push({
      name: `${CHECK_STAGES} on a realistic ${n}-migration folder (FKs, indexes, enums, backfills, rebuilds and renames, seed rows; up/down/up, snapshots, data round trip on filled tables)`,
      baseline: 'pg_dump staircase: per migration psql up, pg_dump -s, down, pg_dump -s, compare, up (empty tables)',
      baselineMs,
      candidateMs: run.ms,
      goal: '>= 3x faster (<= 0.33x)',
      met: run.ms * 3 <= baselineMs,
    });
  }
  return rows;
};

export default growth;
