/**
 * The fill in production's shape (`--production-stats`, values included) against the same fill
 * without statistics, on the same schema and row count. `npm run bench -- seed-shape`.
 */
import { ScratchServer } from '../src/db/scratch.js';
import { seedTables } from '../src/db/seed.js';
import { readStatistics } from '../src/db/statistics.js';
import { timed, type Bench, type BenchRow } from './harness.js';

const ROWS = 200_000;
const RUNS = 5;

const SCHEMA = `
CREATE TABLE orgs (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE people (
  id bigint PRIMARY KEY,
  org_id integer REFERENCES orgs (id),
  phone text,
  email text,
  handle text,
  nick text,
  bio varchar(300),
  status text NOT NULL,
  score integer,
  joined date,
  seen timestamptz,
  code text UNIQUE
);`;

// NULLs, repeats, long values, skew (a hundred common values in handle) and ranges, as production has.
const PRODUCTION = `
INSERT INTO orgs SELECT g, 'org ' || g FROM generate_series(1, 200) g;
INSERT INTO people SELECT g,
  CASE WHEN g % 10 = 0 THEN NULL ELSE g % 200 + 1 END,
  CASE WHEN g % 20 = 0 THEN NULL ELSE '+4930' || g END,
  'user' || (g % 5000) || '@example.com',
  'h' || (g % 150) * (g % 7),
  CASE WHEN g % 5 < 3 THEN NULL ELSE 'nick' || g END,
  repeat(md5(g::text), 6),
  CASE WHEN g % 10 < 8 THEN 'active' WHEN g % 10 = 8 THEN 'banned' ELSE 'gone' END,
  300 + (g * 7919) % 600,
  date '2020-01-01' + (g % 1500),
  timestamptz '2024-01-01' + g * interval '1 minute',
  CASE WHEN g % 4 = 0 THEN NULL ELSE 'c' || g END
FROM generate_series(1, ${ROWS}) g;
ANALYZE;`;

const bench: Bench = async ({ databaseUrl, log }) => {
  const server = await ScratchServer.open(databaseUrl, { connectTimeoutMs: 10_000 });
  const rows: BenchRow[] = [];
  try {
    const prod = await server.createDatabase();
    const db = await server.createDatabase();
    const prodClient = await server.connect(prod);
    const client = await server.connect(db);
    try {
      await prodClient.query(SCHEMA);
      await prodClient.query(PRODUCTION);
      const stats = await readStatistics(prodClient, { withValues: true });
      await client.query(SCHEMA);
      await seedTables(client, { rows: 200, tables: ['orgs'] });
      const reset = async () => {
        await client.query('TRUNCATE people');
        await client.query('CHECKPOINT');
      };
      const shaped: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await reset();
        let outcome: Awaited<ReturnType<typeof seedTables>> | undefined;
        shaped.push(await timed(async () => (outcome = await seedTables(client, { rows: ROWS, tables: ['people'], stats }))));
        if (!outcome?.shaped?.includes('people')) throw new Error('the fill with statistics did not take their shape');
        await reset();
        plain.push(await timed(() => seedTables(client, { rows: ROWS, tables: ['people'] })));
        log(`fill run ${i + 1}: with statistics ${Math.round(shaped[i]!)} ms, without ${Math.round(plain[i]!)} ms`);
      }
      const candidateMs = Math.min(...shaped);
      const baselineMs = Math.min(...plain);
      rows.push({
        name: `fill ${ROWS.toLocaleString('en-US')} rows of a 12-column table in production's shape (NULLs, repeats, widths, common values, ranges)`,
        baseline: 'the same fill without production-stats',
        baselineMs,
        candidateMs,
        goal: '<= 1.5x',
        met: candidateMs <= 1.5 * baselineMs,
        note: `fastest of ${RUNS} each, interleaved`,
      });
    } finally {
      await prodClient.end();
      await client.end();
      await server.dropDatabase(prod.name);
      await server.dropDatabase(db.name);
    }
  } finally {
    await server.close();
  }
  return rows;
};

export default bench;
