/**
 * `npm run bench`: runs every bench/*.bench.ts against one server in this process and prints
 * one markdown table of ratios (never absolute goals: machines differ, ratios on one server do not).
 * `npm run bench -- seed` runs only the benches whose file name contains "seed".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { closeAllScratchServers } from '../src/db/scratch.js';
import { renderBenchTable, type Bench, type BenchRow } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));

// A stopped bench drops its scratch databases, as the CLI does.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void closeAllScratchServers().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
}
const filter = process.argv[2];
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter)))
  .sort();
const client = new pg.Client({ connectionString: databaseUrl });
await client.connect();
const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v.split(' ')[0];
await client.end();

const rows: BenchRow[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { default: Bench };
  process.stderr.write(`bench ${file}\n`);
  rows.push(...(await mod.default({ databaseUrl, log: (l) => process.stderr.write(`  ${l}\n`) })));
}
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL ${version}`;
console.log(renderBenchTable(rows, `Benchmarks on ${machine}`));
