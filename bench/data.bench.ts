/**
 * The data stage's cost: fingerprinting a table inside Postgres against copying it there and
 * against hashing it in Node; the walk with the data stage against the walk without it.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig } from '../src/config.js';
import { FingerprintStore } from '../src/db/fingerprint.js';
import { ScratchServer } from '../src/db/scratch.js';
import { runPipeline } from '../src/pipeline.js';
import { timeMedian, type Bench, type BenchRow } from './harness.js';

const ROWS = 100_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const bench: Bench = async ({ databaseUrl, log }) => {
  const rows: BenchRow[] = [];
  const server = await ScratchServer.open(databaseUrl, { connectTimeoutMs: 10_000 });
  try {
    const db = await server.createDatabase();
    const client = await server.connect(db);
    try {
      await client.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, full_name text, bio text,
                                             created_at timestamptz NOT NULL DEFAULT now(), score numeric(10,2))`);
      await client.query(
        `INSERT INTO users (email, full_name, bio, score)
         SELECT 'user' || g || '@example.com', 'Name ' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('x', g % 200) END, g / 7.0
         FROM generate_series(1, ${ROWS}) g`,
      );
      await client.query('ANALYZE users');
      const store = new FingerprintStore(client);
      log(`fingerprint of ${ROWS} rows`);
      const fingerprint = await timeMedian(async () => {
        const fp = await store.take();
        await store.discard(fp);
      });
      const copy = await timeMedian(async () => {
        await client.query('CREATE TEMP TABLE users_copy AS SELECT * FROM users');
        await client.query('DROP TABLE users_copy');
      });
      rows.push({
        name: `fingerprint ${ROWS.toLocaleString('en-US')} rows × 6 columns`,
        baseline: 'copy the table inside Postgres',
        baselineMs: copy,
        candidateMs: fingerprint,
        goal: '<= 5x',
        met: fingerprint <= copy * 5,
      });
      const inNode = await timeMedian(
        async () => {
          const r = await client.query({ text: 'SELECT * FROM users', rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
          for (const row of r.rows as Array<Array<string | null>>) for (const v of row) if (v !== null) crypto.createHash('md5').update(v).digest('hex');
        },
        3,
      );
      rows.push({
        name: `fingerprint ${ROWS.toLocaleString('en-US')} rows × 6 columns`,
        baseline: 'pull the rows into Node and hash them there',
        baselineMs: inNode,
        candidateMs: fingerprint,
        goal: '<= 1x',
        met: fingerprint <= inNode,
      });
    } finally {
      await client.end();
    }
  } finally {
    await server.close();
  }

  log('examples walk with and without the data stage');
  const walk = (stages: string) => () =>
    runPipeline(buildConfig(root, { dir: 'examples/migrations', dataTests: 'examples/data-tests', databaseUrl, stages }));
  const syntaxOnly = await timeMedian(walk('syntax'));
  const withData = await timeMedian(walk('syntax,data'));
  rows.push({
    name: 'examples/migrations (6 migrations), syntax and data stages',
    baseline: 'syntax stage alone',
    baselineMs: syntaxOnly,
    candidateMs: withData,
    goal: '<= 3x',
    met: withData <= syntaxOnly * 3,
    note: 'data adds a down and a second up per migration, fingerprints and fixtures',
  });
  return rows;
};

export default bench;
