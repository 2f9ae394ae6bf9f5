/**
 * What the dependencies stage adds to a syntax,rollback,data run of the 26 realistic migrations
 * (functions, a trigger function, a view among them): both pipelines run alternately, median of
 * 5 each, so machine load weighs on both alike.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { realisticPairs, writeCorpus } from './corpus.js';
import type { Bench } from './harness.js';

const BASE = 'syntax,rollback,data';
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const bench: Bench = async ({ databaseUrl, log }) => {
  const root = writeCorpus(realisticPairs());
  const without = buildConfig(root, { databaseUrl, stages: BASE });
  const withDeps = buildConfig(root, { databaseUrl, stages: `${BASE},dependencies` });
  // Warm-up: parsers loaded, first connections made.
  await runPipeline(withDeps);
  const a: number[] = [];
  const b: number[] = [];
  let checked = 0;
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await runPipeline(without);
    a.push(performance.now() - t0);
    t0 = performance.now();
    const report = await runPipeline(withDeps);
    b.push(performance.now() - t0);
    checked = report.migrations.filter((m) => m.stages.dependencies === 'pass').length;
  }
  fs.rmSync(root, { recursive: true, force: true });
  const baselineMs = median(a);
  const candidateMs = median(b);
  log(`dependencies: ${BASE} ${baselineMs.toFixed(0)} ms, with dependencies ${candidateMs.toFixed(0)} ms (${checked} migrations pass)`);
  return [
    {
      name: `${BASE},dependencies on 26 realistic migrations (median of ${RUNS} each, interleaved)`,
      baseline: `${BASE} alone`,
      baselineMs,
      candidateMs,
      goal: '<= 1.2x',
      met: candidateMs <= 1.2 * baselineMs,
    },
  ];
};

export default bench;
