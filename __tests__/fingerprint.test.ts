import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droppedData, FingerprintStore, sequencesBehind, valueDigests, type Fingerprint } from '../src/db/fingerprint.js';
import { ScratchServer, type ScratchDatabase } from '../src/db/scratch.js';
import { leftoverScratchDatabases } from './support/fixtures.js';
import { servers } from './support/servers.js';

describe.each(servers())('fingerprints on $name', ({ url }) => {
  let server: ScratchServer;
  let db: ScratchDatabase;
  let work: pg.Client;
  let fpConn: pg.Client;
  let store: FingerprintStore;

  beforeAll(async () => {
    server = await ScratchServer.open(url, { connectTimeoutMs: 10_000 });
    db = await server.createDatabase();
    work = await server.connect(db);
    fpConn = await server.connect(db);
    store = new FingerprintStore(fpConn);
  });

  afterAll(async () => {
    await work?.end();
    await fpConn?.end();
    await server?.close();
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  /** Fresh schema `s` holding the given tables. */
  async function setup(sql: string): Promise<void> {
    await work.query('DROP SCHEMA IF EXISTS s CASCADE; CREATE SCHEMA s; SET search_path = s');
    await work.query(sql);
  }

  const table = (cmp: Awaited<ReturnType<FingerprintStore['compare']>>, name: string) => cmp.tables.find((t) => t.name === name)!;
  const column = (cmp: Awaited<ReturnType<FingerprintStore['compare']>>, name: string, col: string) =>
    table(cmp, name).columns.find((c) => c.column === col)!;

  async function roundTrip(setupSql: string, change: string): Promise<{ a: Fingerprint; c: Fingerprint; cmp: Awaited<ReturnType<FingerprintStore['compare']>> }> {
    await setup(setupSql);
    const a = await store.take();
    await work.query(change);
    const c = await store.take({ like: a });
    const cmp = await store.compare(a, c);
    return { a, c, cmp };
  }

  it('sees a column re-added empty: every value lost, keyed by primary key', async () => {
    const { a, cmp } = await roundTrip(
      `CREATE TABLE users (id int PRIMARY KEY, nickname text, email text);
       INSERT INTO users SELECT g, 'nick' || g, 'u' || g || '@x' FROM generate_series(1, 100) g;`,
      `ALTER TABLE users DROP COLUMN nickname; ALTER TABLE users ADD COLUMN nickname text NOT NULL DEFAULT '';`,
    );
    expect(a.tables.find((t) => t.name === 'users')).toMatchObject({ schema: 's', key: ['id'], rows: 100 });
    const t = table(cmp, 'users');
    expect(t).toMatchObject({ keyed: true, rowsBefore: 100, rowsAfter: 100, rowsLost: 0, rowsAdded: 0, missingColumns: [] });
    expect(column(cmp, 'users', 'nickname')).toEqual({ column: 'nickname', values: 100, nulled: 0, changed: 100, filled: 0, sample: ['(1)', '(2)', '(3)'] });
    expect(column(cmp, 'users', 'email')).toMatchObject({ values: 100, nulled: 0, changed: 0, filled: 0, sample: [] });
  });

  it('tells NULL from the empty string both ways', async () => {
    const { cmp } = await roundTrip(
      `CREATE TABLE p (id int PRIMARY KEY, a text, b text);
       INSERT INTO p VALUES (1, NULL, ''), (2, '', 'x'), (3, 'y', NULL), (4, NULL, NULL);`,
      `UPDATE p SET a = coalesce(a, ''), b = nullif(b, '');`,
    );
    expect(column(cmp, 'p', 'a')).toMatchObject({ values: 2, nulled: 0, changed: 0, filled: 2, sample: ['(1)', '(4)'] });
    expect(column(cmp, 'p', 'b')).toMatchObject({ values: 2, nulled: 1, changed: 0, filled: 0, sample: ['(1)'] });
  });

  it('compares a column whose type changed and came back by value', async () => {
    const { cmp } = await roundTrip(
      `CREATE TABLE t (id int PRIMARY KEY, n int, j json, v varchar(20), ts timestamptz, f float4, num numeric(10,2), lossy float8);
       INSERT INTO t SELECT g, g, json_build_object('n', g), 'v' || g, now() - g * interval '1 hour', g / 3.0, g + 0.5, g / 3.0 FROM generate_series(1, 20) g;`,
      `ALTER TABLE t ALTER n TYPE bigint, ALTER j TYPE jsonb USING j::jsonb, ALTER v TYPE text, ALTER ts TYPE timestamp, ALTER f TYPE float8, ALTER num TYPE numeric, ALTER lossy TYPE numeric;
       ALTER TABLE t ALTER n TYPE int, ALTER j TYPE json USING j::json, ALTER v TYPE varchar(20), ALTER ts TYPE timestamptz, ALTER f TYPE float4, ALTER num TYPE numeric(10,2), ALTER lossy TYPE float8;`,
    );
    for (const c of table(cmp, 't').columns.filter((c) => c.column !== 'lossy')) expect(c, c.column).toMatchObject({ nulled: 0, changed: 0, filled: 0 });
    // float8 -> numeric keeps 15 significant digits: thirds do not survive the trip.
    expect(column(cmp, 't', 'lossy').changed).toBeGreaterThan(0);
  });

  it('reads a column whose type did not come back as the type it had, so equal values still compare equal', async () => {
    const { cmp } = await roundTrip(
      `CREATE TABLE t (id int PRIMARY KEY, amount numeric(10,2), kind text);
       INSERT INTO t VALUES (1, 5, 'a'), (2, 7.5, 'b');`,
      `ALTER TABLE t ALTER amount TYPE int USING round(amount)::int, ALTER kind TYPE varchar(1);`,
    );
    expect(column(cmp, 't', 'amount')).toMatchObject({ values: 2, changed: 1, sample: ['(2)'] });
    expect(column(cmp, 't', 'kind')).toMatchObject({ values: 2, changed: 0 });
  });

  it('counts rows lost and added by key, with sample keys', async () => {
    const { cmp } = await roundTrip(
      `CREATE TABLE o (tenant int, n int, note text, PRIMARY KEY (tenant, n));
       INSERT INTO o SELECT g % 3, g, 'x' FROM generate_series(1, 30) g;`,
      `DELETE FROM o WHERE n > 25; INSERT INTO o VALUES (9, 99, 'new');`,
    );
    expect(table(cmp, 'o')).toMatchObject({ keyed: true, rowsBefore: 30, rowsAfter: 26, rowsLost: 5, rowsAdded: 1, lostSample: ['(0,27)', '(0,30)', '(1,28)'] });
    expect(column(cmp, 'o', 'note')).toMatchObject({ values: 30, changed: 0 });
  });

  it('compares tables without a key as multisets of values', async () => {
    const { cmp } = await roundTrip(
      `CREATE TABLE log (at int, msg text, extra text);
       INSERT INTO log SELECT g, 'm' || g, 'e' FROM generate_series(1, 10) g;
       INSERT INTO log SELECT g, 'm' || g, 'e' FROM generate_series(1, 2) g;`,
      `UPDATE log SET msg = 'changed' WHERE at = 5; UPDATE log SET extra = NULL WHERE at <= 3;`,
    );
    const t = table(cmp, 'log');
    expect(t).toMatchObject({ keyed: false, rowsBefore: 12, rowsAfter: 12, rowsLost: 0, rowsAdded: 0 });
    expect(column(cmp, 'log', 'at')).toMatchObject({ values: 12, nulled: 0, changed: 0, filled: 0 });
    expect(column(cmp, 'log', 'msg')).toMatchObject({ values: 12, nulled: 0, changed: 1, filled: 0 });
    expect(column(cmp, 'log', 'extra')).toMatchObject({ values: 12, nulled: 5, changed: 0, filled: 0 });
  });

  it('names missing columns and tables, and finds values that moved to another name', async () => {
    await setup(
      `CREATE TABLE users (id int PRIMARY KEY, nick text, legacy text, empty_col text);
       INSERT INTO users SELECT g, 'n' || g, 'l' || g, NULL FROM generate_series(1, 10) g;
       CREATE TABLE gone (id int); INSERT INTO gone VALUES (1);`,
    );
    const a = await store.take();
    await work.query('ALTER TABLE users RENAME nick TO nickname; ALTER TABLE users DROP legacy, DROP empty_col; DROP TABLE gone;');
    const b = await store.take({ like: a });
    const cmp = await store.compare(a, b);
    expect(table(cmp, 'users').missingColumns.map((m) => [m.column, m.values])).toEqual([
      ['nick', 10],
      ['legacy', 10],
      ['empty_col', 0],
    ]);
    expect(cmp.missingTables.map((t) => [t.name, t.rows])).toEqual([['gone', 1]]);
    const digests = valueDigests(b);
    const digestOf = (col: string) => table(cmp, 'users').missingColumns.find((m) => m.column === col)!.digest!;
    expect(digests.has(digestOf('nick'))).toBe(true);
    expect(digests.has(digestOf('legacy'))).toBe(false);
    await store.discard(a, b);
    // Discarded storage is emptied and used again, not created anew; what was discarded cannot be compared.
    const stores = () => fpConn.query("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'mci\\_fingerprint\\_%' AND relnamespace = pg_my_temp_schema()");
    const before = (await stores()).rows[0].n;
    await expect(store.compare(a, b)).rejects.toThrow(/discarded/);
    const c = await store.take();
    const d = await store.take({ like: c });
    expect([c.id, d.id].sort()).toEqual([a.id, b.id].sort());
    expect((await stores()).rows[0].n).toBe(before);
    const again = await store.compare(c, d);
    expect(again.missingTables).toEqual([]);
    expect(table(again, 'users').missingColumns).toEqual([]);
  });

  it('summarizes without storing rows: the same counts and digests, and what was dropped', async () => {
    await setup(
      `CREATE TABLE users (id int PRIMARY KEY, nick text, legacy text, tags text[]);
       INSERT INTO users SELECT g, 'n' || g, CASE WHEN g % 2 = 0 THEN 'l' END, ARRAY['a', g::text] FROM generate_series(1, 50) g;
       CREATE TABLE gone (id int); INSERT INTO gone VALUES (1), (2);`,
    );
    const full = await store.take();
    const summary = await store.take({ summary: true });
    expect(summary.stored).toBe(false);
    const shape = (fp: Fingerprint) => fp.tables.map((t) => [t.name, t.rows, t.columns.map((c) => [c.name, c.values, c.digest])]);
    expect(shape(summary)).toEqual(shape(full));
    expect(full.tables.find((t) => t.name === 'users')!.columns.map((c) => c.values)).toEqual([50, 50, 25, 50]);
    await expect(store.compare(full, summary)).rejects.toThrow(/stored/);

    await work.query('ALTER TABLE users DROP legacy; DROP TABLE gone;');
    const after = await store.take({ summary: true });
    const dropped = droppedData(full, after);
    expect(dropped.tables.map((t) => [t.name, t.rows])).toEqual([['gone', 2]]);
    expect(dropped.columns.map((c) => [c.name, c.column, c.values])).toEqual([['users', 'legacy', 25]]);
    await store.discard(full, summary, after);
  });

  it('tells values apart that a case-insensitive collation calls equal', async () => {
    const { cmp } = await roundTrip(
      `CREATE COLLATION IF NOT EXISTS ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
       CREATE TABLE t (id int PRIMARY KEY, name text COLLATE ci); INSERT INTO t VALUES (1, 'Ada'), (2, 'Grace');`,
      `UPDATE t SET name = upper(name) WHERE id = 1;`,
    );
    expect(column(cmp, 't', 'name')).toMatchObject({ values: 2, changed: 1, sample: ['(1)'] });
  });

  it('finds a sequence that would hand out values its column already holds', async () => {
    await setup(
      `CREATE TABLE a (id serial PRIMARY KEY, x int); INSERT INTO a (x) SELECT g FROM generate_series(1, 50) g;
       CREATE TABLE b (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY); INSERT INTO b SELECT FROM generate_series(1, 5);
       CREATE SEQUENCE c_seq; CREATE TABLE c (id bigint PRIMARY KEY DEFAULT nextval('s.c_seq'::regclass)); INSERT INTO c VALUES (1), (2);`,
    );
    const before = await store.take();
    expect(before.sequences.map((s) => [s.table, s.column, s.sequence, s.next, s.max])).toEqual([
      ['a', 'id', 's.a_id_seq', '51', '50'],
      ['b', 'id', 's.b_id_seq', '6', '5'],
      ['c', 'id', 's.c_seq', '1', '2'],
    ]);
    expect(sequencesBehind(before).map((s) => s.table)).toEqual(['c']);
    await work.query(`SELECT setval('s.a_id_seq', 1, false); ALTER TABLE b ALTER id RESTART WITH 3`);
    const after = await store.take();
    expect(sequencesBehind(after).map((s) => [s.table, s.next, s.max])).toEqual([
      ['a', '1', '50'],
      ['b', '3', '5'],
      ['c', '1', '2'],
    ]);
  });

  it('gives up on a table it cannot read and still compares the others', async () => {
    await setup(`CREATE TABLE ok (id int PRIMARY KEY); INSERT INTO ok VALUES (1);
                 CREATE TABLE bad (id int PRIMARY KEY, j json); INSERT INTO bad VALUES (1, '{"a": "\\u0000"}');`);
    const a = await store.take();
    const bad = a.tables.find((t) => t.name === 'bad')!;
    expect(bad.failed).toMatch(/unsupported Unicode escape sequence|\\u0000/);
    const cmp = await store.compare(a, await store.take({ like: a }));
    expect(cmp.tables.map((t) => t.name)).toEqual(['ok']);
  });
});
