/**
 * Puts some tables of one scratch database back to the rows another one holds for them, in place:
 * the walk's way to give a migration that failed on the generated rows the rows the migrations
 * wrote themselves, without cloning a whole database. Both databases must hold the same schema
 * (the same migrations applied as written).
 *
 * The tables named, every table whose foreign keys reach them (their rows would point at rows
 * that are gone) and every inheritance child or partition are emptied and given the source's
 * rows, in one transaction with user triggers, rules and foreign-key checks off
 * (session_replication_role = replica), so nothing of the application runs and the catalog does
 * not change. Rows travel as the table's row type in text, which every type reads back exactly;
 * generated columns are left to the server.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';

export type TableReset = { ok: true; tables: string[] } | { ok: false; why: string };

interface ResetTable {
  /** Qualified and quoted. */
  name: string;
  /** Quoted names of the columns an INSERT may write. */
  columns: string[];
}

/**
 * The tables to reset: the named ones (bare names in any user schema, or "schema.table") and,
 * recursively, the tables referencing them by foreign key and their inheritance children; only
 * tables that hold rows themselves (a partitioned parent holds none).
 */
const CLOSURE_SQL = `
WITH RECURSIVE named AS (
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN unnest($1::text[]) AS s(name)
    ON s.name = n.nspname || '.' || c.relname OR (s.name = c.relname AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema')
  WHERE c.relkind IN ('r', 'p')
),
edge AS (
  SELECT con.confrelid AS parent, con.conrelid AS child FROM pg_constraint con WHERE con.contype = 'f'
  UNION ALL SELECT i.inhparent, i.inhrelid FROM pg_inherits i
),
closure(oid) AS (
  SELECT oid FROM named
  UNION SELECT e.child FROM closure cl JOIN edge e ON e.parent = cl.oid
)
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name,
       ARRAY(SELECT quote_ident(a.attname) FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND GENERATED
             ORDER BY a.attnum) AS columns
FROM closure cl JOIN pg_class c ON c.oid = cl.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
ORDER BY 1`;

async function tablesToReset(target: pg.ClientBase, names: readonly string[]): Promise<ResetTable[]> {
  const version = Number((await target.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]!.v);
  // Generated columns (Postgres 12 on) take no value from an INSERT.
  const sql = CLOSURE_SQL.replace('GENERATED', version >= 120000 ? "a.attgenerated = ''" : 'true');
  const r = await target.query<{ name: string; columns: string[] }>(sql, [[...names]]);
  return r.rows;
}

/**
 * Resets the tables `names` reach on `target` to their rows on `source`. On failure nothing on
 * `target` has changed (the transaction is rolled back) and `why` says what stood in the way.
 */
export async function resetTablesFrom(target: pg.ClientBase, source: pg.ClientBase, names: readonly string[]): Promise<TableReset> {
  let tables: ResetTable[];
  let rows: Array<string | null>;
  try {
    tables = await tablesToReset(target, names);
    if (tables.length === 0) return { ok: true, tables: [] };
    // One statement for every table's rows: the source holds only what the migrations wrote.
    const read = tables.map((t, i) => `SELECT ${i} AS i, (SELECT array_agg(x)::text FROM ONLY ${t.name} x) AS rows`).join(' UNION ALL ');
    const got = await source.query<{ i: number; rows: string | null }>(read);
    rows = tables.map((_, i) => got.rows.find((r) => r.i === i)?.rows ?? null);
  } catch (e) {
    return { ok: false, why: `the tables could not be read: ${errorMessage(e)}` };
  }
  await target.query('BEGIN');
  try {
    // For this transaction only; a role that may not set it gets the clone instead.
    await target.query('SET LOCAL session_replication_role = replica');
    for (const t of tables) await target.query(`DELETE FROM ONLY ${t.name}`);
    for (const [i, t] of tables.entries()) {
      if (rows[i] === null || t.columns.length === 0) continue;
      const cols = t.columns.join(', ');
      const values = t.columns.map((c) => `r.${c}`).join(', ');
      await target.query(`INSERT INTO ${t.name} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${values} FROM unnest($1::${t.name}[]) AS r`, [rows[i]]);
    }
    await target.query('COMMIT');
    return { ok: true, tables: tables.map((t) => t.name) };
  } catch (e) {
    await target.query('ROLLBACK').catch(() => {});
    return { ok: false, why: errorMessage(e) };
  }
}
