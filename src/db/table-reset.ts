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
import { quoteLiteral } from './quote.js';
import { NAMED_TABLE_CONDITION, namesAsMatched } from './seed/catalog.js';

export type TableReset = { ok: true; tables: string[] } | { ok: false; why: string };

/**
 * The tables to reset: the named ones, matched as the row generator matches them, and,
 * recursively, the tables referencing them by foreign key and their inheritance children and
 * partitions; only tables that hold rows themselves (a partitioned parent holds none). For each,
 * the columns an INSERT may write (not the generated ones).
 */
const CLOSURE_SQL = `
WITH RECURSIVE named AS (
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${NAMED_TABLE_CONDITION}
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
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
             ORDER BY a.attnum) AS columns
FROM closure cl JOIN pg_class c ON c.oid = cl.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
ORDER BY 1`;

/**
 * Resets the tables `names` reach on `target` to their rows on `source`: three round trips,
 * however many tables. On failure nothing on `target` has changed (the transaction is rolled
 * back) and `why` says what stood in the way.
 */
export async function resetTablesFrom(target: pg.ClientBase, source: pg.ClientBase, names: readonly string[]): Promise<TableReset> {
  let tables: Array<{ name: string; columns: string[] }>;
  let rows: Array<string | null>;
  try {
    tables = (await target.query<{ name: string; columns: string[] }>(CLOSURE_SQL, [namesAsMatched(names)])).rows;
    if (tables.length === 0) return { ok: true, tables: [] };
    // One statement for every table's rows: the source holds only what the migrations wrote.
    const read = tables.map((t, i) => `SELECT ${i} AS i, (SELECT array_agg(x)::text FROM ONLY ${t.name} x) AS rows`).join(' UNION ALL ');
    const got = await source.query<{ i: number; rows: string | null }>(read);
    rows = tables.map((_, i) => got.rows.find((r) => r.i === i)?.rows ?? null);
  } catch (e) {
    return { ok: false, why: `the tables could not be read: ${errorMessage(e)}` };
  }
  const statements = [
    'BEGIN',
    // For this transaction only; a role that may not set it gets the clone instead.
    'SET LOCAL session_replication_role = replica',
    ...tables.map((t) => `DELETE FROM ONLY ${t.name}`),
    ...tables.flatMap((t, i) => {
      const r = rows[i];
      if (r === null || r === undefined || t.columns.length === 0) return [];
      const values = t.columns.map((c) => `r.${c}`).join(', ');
      return [`INSERT INTO ${t.name} (${t.columns.join(', ')}) OVERRIDING SYSTEM VALUE SELECT ${values} FROM unnest(${quoteLiteral(r)}::${t.name}[]) AS r`];
    }),
    'COMMIT',
  ];
  try {
    // One message: a failing statement skips the rest, COMMIT included.
    await target.query(statements.join(';\n'));
    return { ok: true, tables: tables.map((t) => t.name) };
  } catch (e) {
    await target.query('ROLLBACK').catch(() => {});
    return { ok: false, why: errorMessage(e) };
  }
}
