/**
 * One pipeline run in a process of its own, for bench/growth.bench.ts: peak memory is a process's
 * figure, so each size gets a fresh one. `tsx bench/growth-run.ts synthetic|realistic N DATABASE_URL`
 * prints one JSON line: { ms, maxRssBytes, verdict }.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildConfig } from '../src/config.js';
import { closeAllScratchServers } from '../src/db/scratch.js';
import { runPipeline } from '../src/pipeline.js';
import { bigFolder } from '../__tests__/support/big-folder.js';
import { syntheticPairs, writeCorpus } from './corpus.js';
import { timed } from './harness.js';

export const CHECK_STAGES = 'syntax,rollback,data';

/** Writes the corpus of that kind and size; returns its root (migrations in `<root>/migrations`). */
export function writeGrowthCorpus(kind: 'synthetic' | 'realistic', n: number): string {
  if (kind === 'synthetic') return writeCorpus(syntheticPairs(n));
  const root = writeCorpus([]);
  for (const [file, text] of Object.entries(bigFolder(n).files)) fs.writeFileSync(path.join(root, file), text);
  return root;
}

async function main(): Promise<void> {
  const [kind, count, databaseUrl] = process.argv.slice(2);
  if ((kind !== 'synthetic' && kind !== 'realistic') || !count || !databaseUrl) throw new Error('usage: growth-run.ts synthetic|realistic N DATABASE_URL');
  // Warm-up on a tiny corpus: parser load and the first connections are not per-migration cost.
  const warm = writeGrowthCorpus('synthetic', 3);
  await runPipeline(buildConfig(warm, { databaseUrl, stages: CHECK_STAGES }));
  fs.rmSync(warm, { recursive: true, force: true });
  const root = writeGrowthCorpus(kind, Number(count));
  let verdict = '';
  try {
    const ms = await timed(async () => {
      verdict = (await runPipeline(buildConfig(root, { databaseUrl, stages: CHECK_STAGES }))).verdict;
    });
    // maxRSS is in kilobytes.
    process.stdout.write(`${JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, verdict })}\n`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void closeAllScratchServers().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  }
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
