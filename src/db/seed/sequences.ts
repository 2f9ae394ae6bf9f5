/**
 * Sequences and the columns they feed. Generated rows take sequence values past KEY_OFFSET so a
 * fixture's hand-written ids stay free, and every sequence is set past the largest value its
 * column holds, whoever wrote it: generated rows, a fixture with explicit ids, or a migration that
 * copied ids into a new serial or identity column.
 */
import type pg from 'pg';
import { USER_TABLE_CONDITION } from '../catalog.js';
import { quoteIdent, quoteQualified } from '../quote.js';
import { queryNamed } from '../named-query.js';
import { KEY_OFFSET, SMALL_KEY_OFFSET } from './values.js';

interface ColumnSequence {
  /** Sequence, schema-qualified and quoted, as regclass text. */
  seq: string;
  seqOid: number;
  schema: string;
  table: string;
  tableOid: number;
  column: string;
  increment: number;
  max: number;
  /** Next value nextval() would return. */
  next: number;
}

/** Sequences owned by (serial, identity) or used in the default of an integer column of a user table. */
const SEQUENCES_SQL = `
WITH feeds AS (
  SELECT d.objid AS seq, d.refobjid AS rel, d.refobjsubid AS attnum
  FROM pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    /*narrow:d.refobjid*/
  UNION
  SELECT d.refobjid, ad.adrelid, ad.adnum
  FROM pg_attrdef ad
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
  WHERE true /*narrow:ad.adrelid*/
)
SELECT s.oid::regclass::text AS seq, s.oid::int8 AS seq_oid, n.nspname AS schema, c.relname AS table,
       c.oid::int8 AS table_oid, a.attname AS column, sq.seqincrement::int8 AS increment, sq.seqmax::text AS max,
       CASE WHEN pg_sequence_last_value(s.oid) IS NULL THEN sq.seqstart
            ELSE pg_sequence_last_value(s.oid) + sq.seqincrement END::text AS next
FROM feeds f
JOIN pg_class s ON s.oid = f.seq AND s.relkind = 'S'
JOIN pg_sequence sq ON sq.seqrelid = s.oid
JOIN pg_class c ON c.oid = f.rel
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = f.attnum AND NOT a.attisdropped
WHERE ${USER_TABLE_CONDITION}
  AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
ORDER BY 1, 3, 4, 6`;

/** The same query, each branch of the union reading only the dependencies of the wanted tables. */
const narrowed = (rels: string) => SEQUENCES_SQL.replace(/\/\*narrow:([a-z.]+)\*\//g, (_, col: string) => `AND ${col} = ANY (${rels})`);
const SEQUENCES_OF_OIDS_SQL = narrowed('$1::oid[]');
const SEQUENCES_OF_NAMES_SQL = narrowed('ARRAY(SELECT c2.oid FROM pg_class c2 WHERE c2.relname = ANY ($1::name[]))');

/**
 * Tables by name, as the parse tree names them: a name without a schema means that name in any
 * schema. Sequence work narrowed to them costs what they cost, not what the whole schema does.
 */
export type SequenceScope = ReadonlyArray<{ schema: string | undefined; name: string }>;

async function columnSequences(client: pg.ClientBase, only?: { oids: number[] } | { names: SequenceScope }): Promise<ColumnSequence[]> {
  if (only === undefined) return rowsToSequences((await queryNamed(client, 'sequences', SEQUENCES_SQL)).rows);
  const byOid = 'oids' in only;
  const param = byOid ? only.oids.map(String) : [...new Set(only.names.map((t) => t.name))];
  const rows = rowsToSequences((await queryNamed(client, byOid ? 'sequences_of_oids' : 'sequences_of_names', byOid ? SEQUENCES_OF_OIDS_SQL : SEQUENCES_OF_NAMES_SQL, [param])).rows);
  if ('oids' in only) return rows;
  return rows.filter((s) => only.names.some((t) => t.name === s.table && (t.schema === undefined || t.schema === s.schema)));
}

function rowsToSequences(rows: Array<Record<string, unknown>>): ColumnSequence[] {
  return rows.map((row) => ({
    seq: row.seq as string,
    seqOid: Number(row.seq_oid),
    schema: row.schema as string,
    table: row.table as string,
    tableOid: Number(row.table_oid),
    column: row.column as string,
    increment: Number(row.increment),
    max: Number(row.max),
    next: Number(row.next),
  }));
}

/**
 * Before generated rows take values from the sequences of these tables' columns: each ascending
 * sequence still below the key offset jumps to it (the smaller offset when its type is smallint),
 * when its range leaves room for `rows` more values.
 */
export async function makeRoomForFixtureKeys(client: pg.ClientBase, tableOids: number[], rows: number): Promise<void> {
  if (tableOids.length === 0) return;
  const wanted = new Set(tableOids);
  const moves: Array<{ seqOid: number; to: number }> = [];
  const seen = new Set<number>();
  for (const s of await columnSequences(client, { oids: tableOids })) {
    if (!wanted.has(s.tableOid) || seen.has(s.seqOid) || s.increment <= 0) continue;
    seen.add(s.seqOid);
    const offset = s.max > KEY_OFFSET + rows ? KEY_OFFSET : SMALL_KEY_OFFSET;
    if (s.next <= offset && s.max >= offset + rows) moves.push({ seqOid: s.seqOid, to: offset });
  }
  if (moves.length === 0) return;
  await client.query(`SELECT setval(m.seq::regclass, m.to) FROM unnest($1::oid[], $2::int8[]) AS m(seq, "to")`, [
    moves.map((m) => String(m.seqOid)),
    moves.map((m) => String(m.to)),
  ]);
}

export interface SequenceReset {
  /** The sequence, as regclass text. */
  sequence: string;
  /** "schema.table.column" it feeds. */
  column: string;
  /** What nextval() would have returned. */
  was: number;
  /** What it returns now: one past the column's largest value. */
  now: number;
}

/**
 * Sets every ascending sequence that feeds an integer column of a user table (of the tables in
 * `only`, when given) past the largest value that column holds, so the next insert without an explicit key does not collide. Returns
 * the sequences it moved (a migration that copied ids into a new serial column left them behind).
 */
export async function resetSequences(client: pg.ClientBase, only?: SequenceScope): Promise<SequenceReset[]> {
  if (only !== undefined && only.length === 0) return [];
  const sequences = (await columnSequences(client, only && { names: only })).filter((s) => s.increment > 0);
  if (sequences.length === 0) return [];
  const maxSql = sequences
    .map((s, i) => `SELECT ${i} AS i, (SELECT max(${quoteIdent(s.column)})::text FROM ${quoteQualified(s.schema, s.table)}) AS m`)
    .join('\nUNION ALL\n');
  const highest = new Map<number, number>();
  for (const row of (await client.query(maxSql)).rows) if (row.m !== null) highest.set(Number(row.i), Number(row.m));
  // One sequence may feed several columns: it goes past the largest of them.
  const target = new Map<number, { s: ColumnSequence; to: number; column: string }>();
  sequences.forEach((s, i) => {
    const m = highest.get(i);
    if (m === undefined || m < s.next || m >= s.max) return;
    const prev = target.get(s.seqOid);
    if (!prev || m + 1 > prev.to) target.set(s.seqOid, { s, to: m + 1, column: `${s.schema}.${s.table}.${s.column}` });
  });
  if (target.size === 0) return [];
  const moves = [...target.values()];
  // setval(seq, m) makes the next nextval() return m + increment, past every value the column holds.
  await client.query(`SELECT setval(m.seq::regclass, m.v) FROM unnest($1::oid[], $2::int8[]) AS m(seq, v)`, [
    moves.map((m) => String(m.s.seqOid)),
    moves.map((m) => String(m.to - 1)),
  ]);
  return moves.map((m) => ({ sequence: m.s.seq, column: m.column, was: m.s.next, now: m.to - 1 + m.s.increment }));
}
