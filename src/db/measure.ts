/**
 * Catalog reads for measuring migrations: which tables exist, how many rows they hold, the
 * storage (relfilenode) of tables and their indexes, and the locks this backend holds. Each is
 * one query whatever the number of tables, and reads only catalogs, so running one between two
 * statements of a migration takes no lock on a user table.
 */
import type pg from 'pg';
import { displayTable } from './catalog.js';
import { isConnectionError } from './execute.js';
import { quoteIdent, quoteQualified } from './quote.js';

export interface ExistingTable {
  /** The name as the migration wrote it. */
  written: string;
  oid: number;
  schema: string;
  name: string;
  /** "users", "billing.invoices". */
  display: string;
}

/** A table or index and the file its rows live in. */
export interface RelationStorage {
  oid: number;
  relfilenode: number;
  /** pg_class.relkind: r table, p partitioned table, i index, ... */
  kind: string;
  display: string;
  /** For an index, its table; for a table, itself. */
  table: number;
}

export interface HeldLock {
  oid: number;
  relation: string;
  kind: string;
  mode: string;
}

export interface Probe {
  storage: Map<number, RelationStorage>;
  locks: HeldLock[];
}

export interface UserTable {
  display: string;
  /** A partitioned table (it holds no rows itself; its partitions do). */
  partitioned: boolean;
  /** pg_class.reltuples: the planner's row estimate; negative when never analyzed. */
  estimatedRows: number;
}

/** `users` -> `"users"`, `billing.invoices` -> `"billing"."invoices"`. */
function quoteWritten(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? quoteIdent(name) : quoteQualified(name.slice(0, dot), name.slice(dot + 1));
}

const RESOLVE_SQL = `
SELECT w.written, c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name
FROM unnest($1::text[], $2::text[]) AS w(written, quoted)
JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(w.quoted)
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')`;

/** The named tables that exist now (names resolve through the search path, as the migration's would). */
export async function resolveTables(client: pg.ClientBase, names: Iterable<string>): Promise<ExistingTable[]> {
  const written = [...names];
  if (written.length === 0) return [];
  const r = await client.query(RESOLVE_SQL, [written, written.map(quoteWritten)]);
  const seen = new Set<number>();
  const out: ExistingTable[] = [];
  for (const row of r.rows) {
    const oid = Number(row.oid);
    if (seen.has(oid)) continue;
    seen.add(oid);
    out.push({ written: row.written, oid, schema: row.schema, name: row.name, display: displayTable({ schema: row.schema, name: row.name }) });
  }
  return out;
}

const USER_TABLES_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS reltuples, c.relkind::text AS kind
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'`;

/** Every user table (partitions included) by oid. */
export async function userTables(client: pg.ClientBase): Promise<Map<number, UserTable>> {
  const r = await client.query(USER_TABLES_SQL);
  return new Map(
    r.rows.map((row) => [
      Number(row.oid),
      { display: displayTable({ schema: row.schema, name: row.name }), partitioned: row.kind === 'p', estimatedRows: Number(row.reltuples) },
    ]),
  );
}

const DESCENDANTS_SQL = `
WITH RECURSIVE tree(oid, root) AS (
  SELECT r, r FROM unnest($1::oid[]) AS r
  UNION
  SELECT i.inhrelid, t.root FROM pg_catalog.pg_inherits i JOIN tree t ON i.inhparent = t.oid
)
SELECT oid::int8 AS oid, root::int8 AS root FROM tree`;

/** The tables and every partition or inheritance child below them, each mapped to the given table it descends from. */
export async function withDescendants(client: pg.ClientBase, oids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (oids.length === 0) return out;
  const r = await client.query(DESCENDANTS_SQL, [oids.map(String)]);
  for (const row of r.rows) if (!out.has(Number(row.oid))) out.set(Number(row.oid), Number(row.root));
  return out;
}

/** Exact row counts (a partitioned table counts its partitions' rows), in one statement. */
export async function countRows(client: pg.ClientBase, tables: ExistingTable[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (tables.length === 0) return out;
  const sql = tables.map((t) => `SELECT ${t.oid}::int8 AS oid, count(*)::int8 AS n FROM ${quoteQualified(t.schema, t.name)}`).join('\nUNION ALL\n');
  const r = await client.query(sql);
  for (const row of r.rows) out.set(Number(row.oid), Number(row.n));
  return out;
}

/** pg_total_relation_size (table, indexes, TOAST) of each table, in one statement. */
export async function relationSizes(client: pg.ClientBase, tables: ExistingTable[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (tables.length === 0) return out;
  const r = await client.query('SELECT t.oid::int8 AS oid, pg_total_relation_size(t.oid)::int8 AS bytes FROM unnest($1::oid[]) AS t(oid)', [tables.map((t) => t.oid)]);
  for (const row of r.rows) out.set(Number(row.oid), Number(row.bytes));
  return out;
}

/**
 * VACUUM of the given tables (outside any transaction): clears the dead rows a rolled-back run
 * left. Best effort: a table that cannot be vacuumed is measured with its dead rows.
 */
export async function vacuumTables(client: pg.ClientBase, tables: ExistingTable[]): Promise<void> {
  if (tables.length === 0) return;
  try {
    await client.query(`VACUUM ${tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`);
  } catch (e) {
    if (isConnectionError(e)) throw e;
  }
}

const PROBE_SQL = `
SELECT 's' AS what, c.oid::int8 AS oid, c.relfilenode::int8 AS node, c.relkind::text AS kind,
       n.nspname AS schema, c.relname AS name, NULL::text AS mode,
       coalesce(x.indrelid, c.oid)::int8 AS tbl
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid
WHERE c.oid = ANY($1::oid[])
   OR c.oid IN (SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = ANY($1::oid[]))
UNION ALL
SELECT 'l', c.oid::int8, NULL, c.relkind::text, n.nspname, c.relname, l.mode, NULL
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_catalog.pg_backend_pid()
  AND l.locktype = 'relation'
  AND l.granted
  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'`;

/** Storage of the watched tables and their indexes, and the locks this backend holds, in one query. */
export async function probe(client: pg.ClientBase, watched: number[]): Promise<Probe> {
  const r = await client.query(PROBE_SQL, [watched.map(String)]);
  const storage = new Map<number, RelationStorage>();
  const locks: HeldLock[] = [];
  for (const row of r.rows) {
    const display = displayTable({ schema: row.schema, name: row.name });
    if (row.what === 's') {
      storage.set(Number(row.oid), { oid: Number(row.oid), relfilenode: Number(row.node), kind: row.kind, display, table: Number(row.tbl) });
    } else {
      locks.push({ oid: Number(row.oid), relation: display, kind: row.kind, mode: row.mode });
    }
  }
  return { storage, locks };
}

const NOT_NULL_BACKED_SQL = `
SELECT a.attnotnull OR EXISTS (
         SELECT 1 FROM pg_catalog.pg_constraint con
         WHERE con.conrelid = a.attrelid AND con.contype = 'c' AND con.convalidated
           AND pg_catalog.pg_get_constraintdef(con.oid) = 'CHECK ((' || pg_catalog.quote_ident(a.attname) || ' IS NOT NULL))'
       ) AS backed
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`;

/**
 * Would `SET NOT NULL` on this column skip the full-table scan? True when the column is NOT NULL
 * already or a validated `CHECK (col IS NOT NULL)` proves it; undefined when the column is not found.
 */
export async function notNullBacked(client: pg.ClientBase, table: string, column: string): Promise<boolean | undefined> {
  const r = await client.query(NOT_NULL_BACKED_SQL, [quoteWritten(table), column]);
  return r.rows.length === 0 ? undefined : r.rows[0].backed === true;
}
