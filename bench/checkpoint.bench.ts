/**
 * What containing failures costs: the realistic folder (backfills that leave NULLs on the
 * generated rows, so each one is given the rows the migrations wrote, from the pre-seed checkpoint) against the same folder with those
 * backfills completed by a COALESCE, so that nothing fails and no checkpoint is ever built. Both
 * run the syntax, rollback and data stages; the ratio is the price per restore, spread over the walk.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { bigFolder } from '../__tests__/support/big-folder.js';
import type { Bench } from './harness.js';

const COUNT = 40;

function write(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-bench-checkpoint-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  return root;
}

const bench: Bench = async (env) => {
  const folder = bigFolder(COUNT);
  // The same work without a failure: the backfill falls back to the organization's id.
  const passing = Object.fromEntries(
    Object.entries(folder.files).map(([name, text]) => [name, text.replace(/ORDER BY s\.id LIMIT 1\)/g, 'ORDER BY s.id LIMIT 1), organization_id)')]),
  );
  const fixed = Object.fromEntries(Object.entries(passing).map(([name, text]) => [name, text.replace(/SET (\w+) = \(SELECT/g, 'SET $1 = coalesce((SELECT')]));
  const roots = { failing: write(folder.files), passing: write(fixed) };
  const run = async (root: string) => {
    const t0 = performance.now();
    const report = await runPipeline(buildConfig(root, { dir: 'migrations', databaseUrl: env.databaseUrl, stages: 'syntax,rollback,data' }));
    const ms = performance.now() - t0;
    // Both walks must reach the end, or the ratio compares different work.
    const stopped = report.findings.find((f) => f.rule === 'not-reached' || f.rule === 'apply-failed' || f.rule === 'parse-error');
    if (stopped) throw new Error(`checkpoint bench: the walk over ${root} did not reach the end: ${stopped.message}`);
    return { ms, restores: report.findings.filter((f) => f.rule === 'data-dependent').length };
  };
  try {
    // Interleaved, the fastest of two each: load on the machine hits both alike.
    const times = { failing: Infinity, passing: Infinity };
    let restores = 0;
    for (let i = 0; i < 2; i++) {
      const p = await run(roots.passing);
      times.passing = Math.min(times.passing, p.ms);
      const f = await run(roots.failing);
      times.failing = Math.min(times.failing, f.ms);
      restores = f.restores;
      env.log(`checkpoint: passing ${Math.round(p.ms)} ms, failing ${Math.round(f.ms)} ms (${f.restores} restores)`);
    }
    return [
      {
        name: `walk of ${COUNT} migrations with ${restores} value-dependent failures, each given the migrations' rows from the pre-seed checkpoint`,
        baseline: 'the same folder, nothing failing (no checkpoint built)',
        baselineMs: times.passing,
        candidateMs: times.failing,
        note: `${((times.passing / COUNT)).toFixed(0)} -> ${(times.failing / COUNT).toFixed(0)} ms per migration`,
      },
    ];
  } finally {
    for (const r of Object.values(roots)) fs.rmSync(r, { recursive: true, force: true });
  }
};

export default bench;
