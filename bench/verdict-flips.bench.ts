/**
 * Does a timing verdict flip with machine load? The same migration, its threshold set a little
 * above what it takes on a quiet machine, run N times while a busy loop holds another core. The
 * figure is how many of those runs fail: with one timed run deciding (the timed run's time alone)
 * and with the stage's rule (timed again near the threshold, the fastest run counts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import type { Report } from '../src/report/model.js';
import type { Bench, BenchRow } from './harness.js';

const RUNS = Number(process.env.FLIP_RUNS ?? 6);
const ROWS = 200_000;
/** Threshold over the quiet machine's time: close enough that load can push a single run over. */
const HEADROOM = 1.1;

const MIGRATIONS = {
  '1_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, name text);\n',
  '1_users.down.sql': 'DROP TABLE users;\n',
  '2_index.up.sql': "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email, name);\n",
  '2_index.down.sql': 'DROP INDEX users_email_idx;\n',
};

function repo(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-flips-'));
  for (const [name, text] of Object.entries(MIGRATIONS)) {
    fs.mkdirSync(path.join(root, 'migrations'), { recursive: true });
    fs.writeFileSync(path.join(root, 'migrations', name), text);
  }
  return root;
}

/** Total time of migration 2 as one timed run would say it, and as the stage decided. */
function verdicts(report: Report, thresholdMs: number): { single: boolean; stage: boolean; ms: number } {
  const statements = report.statements.filter((s) => s.migration === '2');
  const single = statements.reduce((t, s) => t + (s.runsMs?.[0] ?? s.durationMs), 0);
  return { single: single > thresholdMs, stage: report.findings.some((f) => f.rule === 'too-slow' && f.migration === '2'), ms: single };
}

/** A child process spinning on a core until killed. */
function busyLoop(): ChildProcess {
  return fork('-e', ['for (;;) {}'], { execArgv: [], stdio: 'ignore' } as never);
}

const bench: Bench = async ({ databaseUrl, log }) => {
  const root = repo();
  try {
    const run = (thresholdMs: number) =>
      runPipeline(buildConfig(root, { databaseUrl, stages: 'performance', perfRows: String(ROWS), perfThresholdMs: String(Math.round(thresholdMs)) }));
    const quiet = verdicts(await run(1_000_000), 1_000_000).ms;
    const thresholdMs = quiet * HEADROOM;
    log(`quiet: ${quiet.toFixed(0)} ms; threshold ${thresholdMs.toFixed(0)} ms; ${RUNS} runs with a busy loop on another core`);
    let singleFails = 0;
    let stageFails = 0;
    for (let i = 0; i < RUNS; i++) {
      const loop = busyLoop();
      try {
        const v = verdicts(await run(thresholdMs), thresholdMs);
        if (v.single) singleFails++;
        if (v.stage) stageFails++;
        log(`run ${i + 1}: timed run ${v.ms.toFixed(0)} ms, one run says ${v.single ? 'fail' : 'pass'}, the stage says ${v.stage ? 'fail' : 'pass'}`);
      } finally {
        loop.kill('SIGKILL');
      }
    }
    const row: BenchRow = {
      name: `verdict flips under load: CREATE INDEX on ${ROWS.toLocaleString('en-US')} rows, threshold ${HEADROOM}x its quiet time, ${RUNS} runs`,
      baseline: 'one timed run decides',
      baselineMs: singleFails,
      candidateMs: stageFails,
      goal: 'fewer flips (counts, not ms)',
      met: stageFails <= singleFails,
      note: `flipped ${singleFails}/${RUNS} with one run, ${stageFails}/${RUNS} with the stage's rule`,
    };
    return [row];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
};

export default bench;
