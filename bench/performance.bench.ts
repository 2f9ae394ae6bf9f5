/**
 * The performance stage against what a person would do by hand, on the same server:
 *   1. seeding 500,000 rows with seedTables against one hand-written INSERT ... SELECT generate_series
 *      for the same table;
 *   2. the whole stage on a sample migration against filling the same tables by hand and applying
 *      the migration plainly, and its timed run (with the probes around each statement) against
 *      the plain apply on the same volume.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { buildConfig } from '../src/config.js';
import { ScratchServer } from '../src/db/scratch.js';
import { seedTables } from '../src/db/seed.js';
import { runPipeline } from '../src/pipeline.js';
import type { ProgressEvent } from '../src/report/terminal.js';
import { timed, type Bench, type BenchRow } from './harness.js';

const ROWS = 500_000;
const SEED_RUNS = 5;
const STAGE_RUNS = 3;

const SCHEMA = `
CREATE TYPE account_status AS ENUM ('active', 'suspended', 'closed');
CREATE TABLE accounts (
  id          bigserial PRIMARY KEY,
  email       text NOT NULL,
  full_name   varchar(80) NOT NULL,
  status      account_status NOT NULL DEFAULT 'active',
  score       integer NOT NULL CHECK (score >= 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE TABLE orders (
  id          bigserial PRIMARY KEY,
  account_id  bigint NOT NULL REFERENCES accounts (id),
  total_cents integer NOT NULL,
  note        text,
  placed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account_idx ON orders (account_id);
`;

/** The rows seedTables generates for accounts, written by hand. */
const HAND_ACCOUNTS = `
INSERT INTO accounts (email, full_name, score)
SELECT 'user' || g || '@example.com', 'full_name-' || g, g
FROM generate_series(1, ${ROWS}) AS g`;
const HAND_ORDERS = `
INSERT INTO orders (account_id, total_cents, note)
SELECT g, g, 'note-' || g
FROM generate_series(1, ${ROWS}) AS g`;

const SAMPLE_MIGRATION = `SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';
CREATE INDEX accounts_created_at_idx ON accounts (created_at);
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total_cents >= 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
UPDATE orders SET note = 'none' WHERE note IS NULL;
`;

/**
 * The fastest of interleaved runs: on a machine shared with other work, the least disturbed run
 * is the best estimate of what each side costs (medians of a few runs swing by 30% and more).
 */
function fastest(xs: number[]): number {
  return Math.min(...xs);
}

const bench: Bench = async ({ databaseUrl, log }) => {
  const server = await ScratchServer.open(databaseUrl, { connectTimeoutMs: 10_000 });
  const rows: BenchRow[] = [];
  try {
    // 1. Seeding one table, alternating candidate and baseline so neither always runs on a warmer server.
    {
      const db = await server.createDatabase();
      const client = await server.connect(db);
      try {
        await client.query(SCHEMA);
        const reset = async (c: pg.Client) => {
          await c.query('TRUNCATE accounts, orders RESTART IDENTITY CASCADE');
          await c.query('CHECKPOINT');
        };
        const ours: number[] = [];
        const hand: number[] = [];
        for (let i = 0; i < SEED_RUNS; i++) {
          await reset(client);
          ours.push(await timed(() => seedTables(client, { rows: ROWS, tables: ['accounts'] })));
          await reset(client);
          hand.push(await timed(() => client.query(HAND_ACCOUNTS)));
          log(`seed run ${i + 1}: seedTables ${Math.round(ours[i]!)} ms, hand-written ${Math.round(hand[i]!)} ms`);
        }
        const candidateMs = fastest(ours);
        const baselineMs = fastest(hand);
        rows.push({
          name: `seed ${ROWS.toLocaleString('en-US')} rows into accounts (6 columns, enum, CHECK, unique index)`,
          baseline: 'hand-written INSERT ... SELECT generate_series',
          baselineMs,
          candidateMs,
          goal: '<= 1.2x',
          met: candidateMs <= 1.2 * baselineMs,
          note: `fastest of ${SEED_RUNS} each, interleaved`,
        });
      } finally {
        await client.end();
        await server.dropDatabase(db.name);
      }
    }

    // 2. The whole stage on a sample migration, against filling by hand and applying it plainly.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-bench-'));
    try {
      fs.mkdirSync(path.join(root, 'migrations'));
      fs.writeFileSync(path.join(root, 'migrations/1_schema.up.sql'), SCHEMA);
      fs.writeFileSync(path.join(root, 'migrations/2_sample.up.sql'), SAMPLE_MIGRATION);
      const config = buildConfig(root, { dir: 'migrations', databaseUrl, stages: 'performance', perfRows: String(ROWS) });
      const stage: number[] = [];
      const timedRun: number[] = [];
      const plainAll: number[] = [];
      const plainApply: number[] = [];
      for (let i = 0; i < STAGE_RUNS; i++) {
        let note = '';
        const progress = (e: ProgressEvent) => {
          if (e.kind === 'migration' && e.stage === 'performance' && e.version === '2') note = e.note ?? '';
        };
        stage.push(await timed(() => runPipeline(config, { progress })));
        const m = /timed run (\d+) ms/.exec(note);
        if (!m) throw new Error(`the stage did not report its timed run: "${note}"`);
        timedRun.push(Number(m[1]));

        // Like the stage, from creating the scratch database to dropping it.
        const t0 = performance.now();
        const db = await server.createDatabase();
        const client = await server.connect(db);
        try {
          await client.query(SCHEMA);
          await client.query(HAND_ACCOUNTS);
          await client.query(HAND_ORDERS);
          await client.query('ANALYZE accounts, orders');
          // As a migration tool would: the whole file in one transaction.
          plainApply.push(
            await timed(async () => {
              await client.query('BEGIN');
              await client.query(SAMPLE_MIGRATION);
              await client.query('COMMIT');
            }),
          );
        } finally {
          await client.end();
          await server.dropDatabase(db.name);
        }
        plainAll.push(performance.now() - t0);
        log(`stage run ${i + 1}: stage ${Math.round(stage[i]!)} ms (timed run ${timedRun[i]} ms); by hand ${Math.round(plainAll[i]!)} ms (apply ${Math.round(plainApply[i]!)} ms)`);
      }
      rows.push({
        name: `performance stage on a 5-statement migration, ${ROWS.toLocaleString('en-US')} rows in 2 tables`,
        baseline: 'a scratch database, filling the same tables by hand, ANALYZE, applying the migration plainly',
        baselineMs: fastest(plainAll),
        candidateMs: fastest(stage),
        note: `fastest of ${STAGE_RUNS} each; the stage also parses, and runs the migration once at a quarter of the rows, rolled back`,
      });
      rows.push({
        name: 'timed run of that migration with per-statement probes (locks, relfilenodes)',
        baseline: 'applying the migration plainly on the same seeded volume',
        baselineMs: fastest(plainApply),
        candidateMs: fastest(timedRun),
        note: `fastest of ${STAGE_RUNS} each; the stage counts the rows before timing, which sets hint bits as production tables have them`,
      });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  } finally {
    await server.close();
  }
  return rows;
};

export default bench;
