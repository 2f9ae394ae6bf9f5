/**
 * Generated rows in production's shape: a "production" database with NULLs, duplicates, long
 * values and skew is exported with `migration-ci stats`; a copy of its schema is filled with the
 * file, and what ANALYZE then sees of the generated rows is compared with production's figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { urlForDatabase } from '../src/db/connect.js';
import { quoteIdent } from '../src/db/quote.js';
import { seedTables } from '../src/db/seed.js';
import { columnShape, distinctAt } from '../src/db/seed/shape.js';
import { runPipeline } from '../src/pipeline.js';
import { readProductionStats, type ProductionStats } from '../src/production-stats.js';
import { configFor, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const server = servers()[0]!;
const tag = `${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 7)}`;
const prodDb = `shape_prod_${tag}`;
const dbs: string[] = [prodDb];
const ROWS = 20_000;

const SCHEMA = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE orgs (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE people (
  id bigint PRIMARY KEY,
  org_id integer REFERENCES orgs (id),
  phone text,
  email text,
  handle text,
  nick text,
  bio varchar(300),
  status text NOT NULL DEFAULT 'active',
  mood mood,
  score integer,
  joined date,
  avatar bytea,
  seen timestamptz,
  code text UNIQUE
);`;

// 5% of phone NULL, 60% of nick NULL, 10% of org_id NULL; email repeats (500 values), handle
// repeats (2,000 values); bio about 200 characters; status and mood skewed; score and joined
// within a range; avatar 100 bytes; code unique where set.
const FILL = `
INSERT INTO orgs SELECT g, 'org ' || g FROM generate_series(1, 50) g;
INSERT INTO people SELECT g,
  CASE WHEN g % 10 = 0 THEN NULL ELSE g % 50 + 1 END,
  CASE WHEN g % 20 = 0 THEN NULL ELSE '+4930' || g END,
  'user' || (g % 500) || '@example.com',
  'h' || (g % 2000),
  CASE WHEN g % 5 < 3 THEN NULL ELSE 'nick' || g END,
  repeat(md5(g::text), 6) || left(md5((g + 1)::text), 8),
  CASE WHEN g % 10 < 8 THEN 'active' WHEN g % 10 = 8 THEN 'banned' ELSE 'gone' END,
  (ARRAY['sad', 'ok', 'ok', 'happy', 'happy', 'happy', 'happy', 'happy', 'happy', 'happy']::mood[])[g % 10 + 1],
  300 + (g * 7919) % 600,
  date '2020-01-01' + (g % 1500),
  decode(repeat(md5(g::text), 7), 'hex'),
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
  CASE WHEN g % 4 = 0 THEN NULL ELSE 'c' || g END
FROM generate_series(1, ${ROWS}) g;
ANALYZE;`;

async function withClient<T>(db: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: urlForDatabase(server.url, db) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function freshDb(schema: string): Promise<string> {
  const name = `shape_${dbs.length}_${tag}`;
  dbs.push(name);
  await withClient('postgres', (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  await withClient(name, (c) => c.query(schema));
  return name;
}

interface Measured {
  null_frac: number;
  n_distinct: number;
  avg_width: number;
  mcv: string[] | null;
  mcf: number[] | null;
}

async function pgStats(c: pg.ClientBase, table: string): Promise<Map<string, Measured>> {
  const r = await c.query(
    `SELECT attname, null_frac::float8, n_distinct::float8, avg_width, most_common_vals::text::text[] AS mcv, most_common_freqs::float8[] AS mcf
       FROM pg_stats WHERE schemaname = 'public' AND tablename = $1`,
    [table],
  );
  return new Map(r.rows.map((row) => [row.attname as string, row as Measured]));
}

/** Distinct values as a share of the rows, whichever way n_distinct is written. */
const distinctShare = (nd: number, rows: number): number => (nd < 0 ? -nd : nd / rows);

let dir: string;
let statsFile: string;
let stats: ProductionStats;

beforeAll(async () => {
  await withClient('postgres', (c) => c.query(`CREATE DATABASE ${quoteIdent(prodDb)}`));
  await withClient(prodDb, async (c) => {
    await c.query(SCHEMA);
    await c.query(FILL);
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shape-'));
  statsFile = path.join(dir, 'prod-stats.json');
  const io = { cwd: dir, env: {}, stdout: () => {}, stderr: () => {}, isTTY: false };
  expect(await runCli(['stats', '--database-url', urlForDatabase(server.url, prodDb), '--output', statsFile, '--with-values'], io)).toBe(0);
  stats = readProductionStats(statsFile, 'prod-stats.json');
}, 60_000);

afterAll(async () => {
  await withClient('postgres', async (c) => {
    for (const db of dbs) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
  });
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('generated rows in production shape', () => {
  it('take production NULL fraction, distinct values, widths, common values and ranges at the seeded volume', async () => {
    const db = await freshDb(SCHEMA);
    const prod = await withClient(prodDb, (c) => pgStats(c, 'people'));
    const seeded = await withClient(db, async (c) => {
      const out = await seedTables(c, { rows: ROWS, tables: ['people'], stats });
      expect(out.shaped).toEqual(['orgs', 'people']);
      await c.query('ANALYZE people');
      return pgStats(c, 'people');
    });
    for (const col of ['org_id', 'phone', 'nick', 'code']) {
      expect(seeded.get(col)!.null_frac, col).toBeCloseTo(prod.get(col)!.null_frac, 2);
    }
    expect(seeded.get('phone')!.null_frac).toBeGreaterThan(0.04);
    for (const col of ['email', 'handle', 'phone', 'code', 'score']) {
      const want = distinctShare(prod.get(col)!.n_distinct, ROWS);
      const got = distinctShare(seeded.get(col)!.n_distinct, ROWS);
      expect(got / want, `${col}: ${got} vs ${want}`).toBeGreaterThan(0.8);
      expect(got / want, `${col}: ${got} vs ${want}`).toBeLessThan(1.25);
    }
    for (const col of ['bio', 'phone', 'avatar', 'email']) {
      const want = prod.get(col)!.avg_width;
      expect(Math.abs(seeded.get(col)!.avg_width - want) / want, `${col} width`).toBeLessThan(0.15);
    }
    // Skew: the common values at their frequencies.
    for (const col of ['status', 'mood']) {
      const want = new Map(prod.get(col)!.mcv!.map((v, i) => [v, prod.get(col)!.mcf![i]!]));
      const got = new Map(seeded.get(col)!.mcv!.map((v, i) => [v, seeded.get(col)!.mcf![i]!]));
      for (const [v, f] of want) expect(got.get(v) ?? 0, `${col} = ${v}`).toBeCloseTo(f, 1);
    }
    await withClient(db, async (c) => {
      const range = (await c.query('SELECT min(score) AS lo, max(score) AS hi, min(joined)::text AS first, max(joined)::text AS last FROM people')).rows[0];
      const score = stats.tables.find((t) => t.name === 'people')!.columns.find((x) => x.name === 'score')!.histogramBounds!;
      expect(range.lo).toBeGreaterThanOrEqual(Number(score[0]));
      expect(range.hi).toBeLessThanOrEqual(Number(score[score.length - 1]));
      expect(range.first >= '2020-01-01' && range.last <= '2024-02-09').toBe(true);
      const seen = (await c.query(`SELECT min(seen) >= timestamptz '2024-01-01 00:00:00+00' AND max(seen) <= timestamptz '2024-01-14 21:20:00+00' AS within, count(DISTINCT seen)::int AS n FROM people`)).rows[0];
      expect(seen).toEqual({ within: true, n: ROWS });
      // Constraints hold: every org_id has its parent, codes are unique, bio fits varchar(300).
      const checks = (await c.query(`SELECT
          (SELECT count(*) FROM people p WHERE p.org_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = p.org_id))::int AS orphans,
          (SELECT count(code) - count(DISTINCT code) FROM people)::int AS repeated_codes,
          (SELECT max(length(bio)) FROM people)::int AS longest_bio,
          (SELECT count(*) FROM people)::int AS rows`)).rows[0];
      expect(checks).toEqual({ orphans: 0, repeated_codes: 0, longest_bio: expect.any(Number), rows: ROWS });
      expect(checks.longest_bio).toBeLessThanOrEqual(300);
    });
  }, 60_000);

  it('keeps the constraints of the schema it fills: no NULL under NOT NULL, no repeat in a unique key, within varchar(n)', async () => {
    // The same columns, stricter than production: constraints win over the statistics.
    const strict = SCHEMA.replace('handle text,', 'handle text UNIQUE,').replace('nick text,', 'nick text NOT NULL,');
    const db = await freshDb(strict);
    await withClient(db, async (c) => {
      await seedTables(c, { rows: 5_000, tables: ['people'], stats });
      const r = (await c.query(`SELECT count(*) FILTER (WHERE nick IS NULL)::int AS null_nicks,
          (count(handle) - count(DISTINCT handle))::int AS repeated_handles,
          count(*) FILTER (WHERE phone IS NULL)::int AS null_phones, count(*)::int AS rows FROM people`)).rows[0];
      expect(r).toEqual({ null_nicks: 0, repeated_handles: 0, null_phones: 250, rows: 5_000 });
    });
  }, 60_000);

  it('shows through the pipeline what only the shape reveals: a backfill copying NULLs under SET NOT NULL, a unique index over repeats', async () => {
    // Each change follows an UPDATE, so the statistics alone predict nothing: only rows like production's show it.
    const root = makeRepo({
      'migrations/0001_init.up.sql': SCHEMA,
      'migrations/0001_init.down.sql': 'DROP TABLE people; DROP TABLE orgs; DROP TYPE mood;',
      'migrations/0002_contact.up.sql': 'ALTER TABLE people ADD COLUMN contact text;\nUPDATE people SET contact = phone;\nALTER TABLE people ALTER COLUMN contact SET NOT NULL;\n',
      'migrations/0002_contact.down.sql': 'ALTER TABLE people DROP COLUMN contact;\n',
      'migrations/0003_handle_unique.up.sql': 'UPDATE people SET handle = lower(handle);\nCREATE UNIQUE INDEX people_handle_key ON people (handle);\n',
      'migrations/0003_handle_unique.down.sql': 'DROP INDEX people_handle_key;\n',
    });
    fs.copyFileSync(statsFile, path.join(root, 'prod-stats.json'));
    const options = { stages: 'syntax,performance', perfRows: '4000', seedRows: '100' };
    const shown = (r: Awaited<ReturnType<typeof runPipeline>>) =>
      r.findings.filter((f) => f.severity !== 'notice' && f.migration !== '0001').map((f) => `${f.stage} ${f.migration} ${f.severity} ${f.rule}`);
    const without = await runPipeline(configFor(root, server.url, options));
    const withStats = await runPipeline(configFor(root, server.url, { ...options, productionStats: 'prod-stats.json' }));
    const before = new Set(shown(without));
    expect(without.verdict).toBe('pass');
    // The walk's verdict; how the performance stage classifies a failure at volume is its own concern.
    const added = shown(withStats).filter((f) => !before.has(f) && f.startsWith('syntax '));
    expect(added).toEqual(['syntax 0002 warning data-dependent', 'syntax 0003 warning data-dependent']);
    expect(shown(without).some((f) => f.includes('data-dependent'))).toBe(false);
    const said = withStats.findings.filter((f) => f.rule === 'data-dependent').map((f) => f.message);
    expect(said[0]).toContain('the backfill at line 2 leaves NULL in contact');
    expect(said[1]).toContain('duplicate values in the new unique index');
  }, 120_000);
});

describe('the shape at the seeded volume', () => {
  const col = (nDistinct: number, nullFrac = 0) => ({ name: 'c', type: 'text', nullFrac, nDistinct, avgWidth: 10 });
  it('scales distinct values: a share of the rows as a share, a count kept while it fits, scaled when it does not', () => {
    expect(distinctAt(col(-0.5), 48_000_000, 1000, 1000)).toBe(500);
    expect(distinctAt(col(5), 48_000_000, 1000, 1000)).toBe(5);
    // One value in 48 repeats in production: 1,000,000 distinct do not fit in 1,000 rows, so about 21.
    expect(distinctAt(col(1_000_000), 48_000_000, 1000, 1000)).toBe(21);
    // As many as production's non-NULL rows: unique here too.
    expect(distinctAt(col(24_000_000, 0.5), 48_000_000, 1000, 500)).toBe(500);
  });
  it('never makes values wider than varchar(n), nor NULLs or repeats where the constraints forbid them', () => {
    const wide = { name: 'c', type: 'character varying(10)', nullFrac: 0.3, nDistinct: 3, avgWidth: 11 };
    expect(columnShape(wide, 1000, 'character varying(10)', 1000, 1, { nulls: true, values: true }, 10)!.width).toBe(10);
    const strict = columnShape(wide, 1000, 'character varying(10)', 1000, 1, { nulls: false, values: false }, 10)!;
    expect(strict.nullWhen).toBeUndefined();
    expect(strict.restRow).toBeUndefined();
    // Another type than production's: the statistics describe another column.
    expect(columnShape(wide, 1000, 'text', 1000, 1, { nulls: true, values: true })).toBeUndefined();
  });
});

