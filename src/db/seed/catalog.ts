/** The catalog as the row generator needs it: tables, columns, types and constraints, read in a constant number of queries. */
import type pg from 'pg';
import { USER_TABLE_CONDITION } from '../catalog.js';
import { quoteQualified } from '../quote.js';
import { queryNamed } from '../named-query.js';

export interface CatalogColumn {
  name: string;
  attnum: number;
  notNull: boolean;
  typid: number;
  /** format_type(atttypid, atttypmod): the column's type as SQL, e.g. `character varying(5)`. */
  fmt: string;
  /** '' | 'a' (GENERATED ALWAYS AS IDENTITY) | 'd' (BY DEFAULT). */
  identity: string;
  /** '' | 's' (stored generated column) | 'v' (virtual, Postgres 18). */
  generated: string;
  /** pg_get_expr of the column default, when there is one. */
  defaultExpr: string | null;
}

export interface CatalogTable {
  oid: number;
  schema: string;
  name: string;
  columns: CatalogColumn[];
}

export interface CatalogType {
  oid: number;
  name: string;
  schema: string;
  /** b base, c composite, d domain, e enum, p pseudo, r range, m multirange. */
  typtype: string;
  category: string;
  elem: number;
  base: number;
  notNull: boolean;
  labels: string[] | null;
  /** For domains: format_type(typbasetype, typtypmod). */
  baseFmt: string | null;
  /** pg_type.typlen: -1 / -2 for variable-length types. */
  len: number;
}

export interface ForeignKey {
  name: string;
  table: number;
  cols: number[];
  parent: number;
  parentSchema: string;
  parentName: string;
  parentCols: string[];
  /** pg_type.typlen of the referenced columns (-1 / -2 for variable-length types). */
  parentLens: number[];
  /** Not declared: the migration joins these columns (rows follow it; the server does not check it). */
  virtual?: boolean;
}

export interface CheckConstraint {
  table: number;
  cols: number[];
  def: string;
}

export interface Catalog {
  tables: Map<number, CatalogTable>;
  types: Map<number, CatalogType>;
  fks: Map<number, ForeignKey[]>;
  checks: Map<number, CheckConstraint[]>;
  /** Column sets of unique indexes (PK and UNIQUE constraints included), per table. */
  uniques: Map<number, number[][]>;
  /** "table:attnum" of columns in a unique index that treats NULLs as equal (NULLS NOT DISTINCT, Postgres 15+). */
  nullsNotDistinct?: Set<string>;
  /** Columns of these tables that a single-column foreign key of any table references: "oid:column". */
  referenced: Set<string>;
}

const TABLES_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name,
       a.attnum, a.attname, a.attnotnull, a.atttypid::int8 AS typid,
       format_type(a.atttypid, a.atttypmod) AS fmt,
       a.attidentity::text AS identity, a.attgenerated::text AS generated,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE ${USER_TABLE_CONDITION}
  /*narrow*/
ORDER BY n.nspname, c.relname, a.attnum`;

const NARROW_TABLES_SQL = TABLES_SQL.replace('/*narrow*/', 'AND c.oid = ANY ($1::oid[])');

/**
 * A user table `c` (in namespace `n`) named in $1 as the parse tree names tables: bare (any
 * schema) or "schema.table", each given as written and in lower case ({@link namesAsMatched}).
 */
export const NAMED_TABLE_CONDITION = `${USER_TABLE_CONDITION}
    AND (c.relname = ANY ($1::name[]) OR (n.nspname || '.' || c.relname) = ANY ($1::text[]))`;

/** Table names as written and in lower case, the parameter of {@link NAMED_TABLE_CONDITION}. */
export function namesAsMatched(names: readonly string[]): string[] {
  return [...new Set(names.flatMap((n) => [n, n.toLowerCase()]))];
}

/** The tables of these names (bare, or "schema.table"), and every table they reach through foreign keys. */
const REACH_SQL = `
WITH RECURSIVE reach(oid) AS (
  SELECT c.oid
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE ${NAMED_TABLE_CONDITION}
  UNION
  SELECT con.confrelid
  FROM reach r
  JOIN pg_constraint con ON con.conrelid = r.oid AND con.contype = 'f' AND con.conparentid = 0
)
SELECT oid::int8 AS oid FROM reach`;

/** Columns of the given tables that single-column foreign keys of any table reference. */
const REFERENCED_SQL = `
SELECT con.confrelid::int8 AS table, a.attname
FROM pg_constraint con
JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = con.confkey[1]
WHERE con.contype = 'f' AND con.conparentid = 0 AND cardinality(con.confkey) = 1
  AND con.confrelid = ANY ($1::oid[])`;

/** Every type the columns use, following domains to their base types and arrays to their elements. */
const TYPES_SQL = `
WITH RECURSIVE ty(oid) AS (
  SELECT DISTINCT unnest($1::oid[])
  UNION
  SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
  FROM ty JOIN pg_type t ON t.oid = ty.oid
  WHERE t.typtype = 'd' OR (t.typcategory = 'A' AND t.typelem <> 0)
)
SELECT t.oid::int8 AS oid, t.typname AS name, n.nspname AS schema, t.typtype::text AS typtype,
       t.typcategory::text AS category, t.typelem::int8 AS elem, t.typbasetype::int8 AS base,
       t.typnotnull AS not_null,
       CASE WHEN t.typtype = 'e' THEN
         ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_fmt,
       t.typlen::int4 AS len
FROM ty
JOIN pg_type t ON t.oid = ty.oid
JOIN pg_namespace n ON n.oid = t.typnamespace`;

const CONSTRAINTS_SQL = `
SELECT con.conrelid::int8 AS table, con.contype::text AS kind, con.conname AS name,
       con.conkey::int2[] AS cols, con.confrelid::int8 AS parent,
       pn.nspname AS parent_schema, pc.relname AS parent_name,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
             ORDER BY k.ord) AS parent_cols,
       ARRAY(SELECT t.typlen::int4
             FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
             JOIN pg_type t ON t.oid = a.atttypid
             ORDER BY k.ord) AS parent_lens,
       CASE WHEN con.contype = 'c' THEN pg_get_constraintdef(con.oid) END AS def
FROM pg_constraint con
LEFT JOIN pg_class pc ON pc.oid = con.confrelid
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE con.conrelid = ANY($1::oid[])
  AND con.contype IN ('f', 'c')
  AND con.conparentid = 0
ORDER BY con.conrelid, con.conname`;

const UNIQUES_SQL = `
SELECT i.indrelid::int8 AS table, (i.indkey::int2[])[0:i.indnkeyatts - 1] AS cols,
       coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct
FROM pg_index i
WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique`;

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * Reads the catalog: every user table, or with `names` ("table" or "schema.table", matched as the
 * row generator matches them: as written or in lower case) only those tables and the tables they
 * reach through foreign keys, so that filling a few tables costs what they cost, not what the
 * whole schema does.
 */
export async function readCatalog(client: pg.ClientBase, names?: readonly string[]): Promise<Catalog> {
  const tables = new Map<number, CatalogTable>();
  const typeIds = new Set<number>();
  let tr: pg.QueryResult;
  if (names === undefined) {
    tr = await queryNamed(client, 'seed_tables', TABLES_SQL);
  } else {
    const reach = (await queryNamed(client, 'seed_reach', REACH_SQL, [namesAsMatched(names)])).rows.map((r) => String(r.oid));
    if (reach.length === 0) return { tables, types: new Map(), fks: new Map(), checks: new Map(), uniques: new Map(), referenced: new Set() };
    tr = await queryNamed(client, 'seed_tables_of', NARROW_TABLES_SQL, [reach]);
  }
  for (const r of tr.rows) {
    const oid = Number(r.oid);
    let t = tables.get(oid);
    if (!t) {
      t = { oid, schema: r.schema, name: r.name, columns: [] };
      tables.set(oid, t);
    }
    if (r.attnum === null) continue; // a table without columns
    t.columns.push({
      name: r.attname,
      attnum: Number(r.attnum),
      notNull: r.attnotnull === true,
      typid: Number(r.typid),
      fmt: r.fmt,
      identity: r.identity ?? '',
      generated: r.generated ?? '',
      defaultExpr: r.default_expr ?? null,
    });
    typeIds.add(Number(r.typid));
  }

  const types = new Map<number, CatalogType>();
  const fks = new Map<number, ForeignKey[]>();
  const checks = new Map<number, CheckConstraint[]>();
  const uniques = new Map<number, number[][]>();
  const referenced = new Set<string>();
  if (tables.size === 0) return { tables, types, fks, checks, uniques, referenced };

  const tyr = await queryNamed(client, 'seed_types', TYPES_SQL, [[...typeIds].map(String)]);
  for (const r of tyr.rows) {
    types.set(Number(r.oid), {
      oid: Number(r.oid),
      name: r.name,
      schema: r.schema,
      typtype: r.typtype,
      category: r.category,
      elem: Number(r.elem),
      base: Number(r.base),
      notNull: r.not_null === true,
      labels: r.labels ?? null,
      baseFmt: r.base_fmt ?? null,
      len: Number(r.len),
    });
  }

  const oids = [...tables.keys()].map(String);
  const cr = await queryNamed(client, 'seed_constraints', CONSTRAINTS_SQL, [oids]);
  for (const r of cr.rows) {
    const table = Number(r.table);
    const cols = (r.cols as Array<number | string>).map(Number);
    if (r.kind === 'f') {
      pushTo(fks, table, {
        name: r.name,
        table,
        cols,
        parent: Number(r.parent),
        parentSchema: r.parent_schema,
        parentName: r.parent_name,
        parentCols: r.parent_cols,
        parentLens: (r.parent_lens as Array<number | string>).map(Number),
      });
    } else if (r.def) {
      pushTo(checks, table, { table, cols, def: r.def });
    }
  }

  const ur = await queryNamed(client, 'seed_uniques', UNIQUES_SQL, [oids]);
  const nullsNotDistinct = new Set<string>();
  for (const r of ur.rows) {
    const cols = (r.cols as Array<number | string>).map(Number).filter((n) => n > 0);
    if (cols.length > 0) pushTo(uniques, Number(r.table), cols);
    if (r.nulls_not_distinct === true) for (const n of cols) nullsNotDistinct.add(`${r.table}:${n}`);
  }
  if (names === undefined) {
    // Every table's foreign keys are at hand.
    for (const list of fks.values()) for (const fk of list) if (fk.parentCols.length === 1) referenced.add(`${fk.parent}:${fk.parentCols[0]}`);
  } else {
    // Tables outside the reach may reference these: asked of the server.
    for (const r of (await queryNamed(client, 'seed_referenced', REFERENCED_SQL, [oids])).rows) referenced.add(`${Number(r.table)}:${r.attname}`);
  }
  return { tables, types, fks, checks, uniques, nullsNotDistinct, referenced };
}

/** Row counts of the given relations, in one statement. */
export async function countRows(client: pg.ClientBase, rels: Array<{ oid: number; schema: string; name: string }>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  if (rels.length === 0) return counts;
  const sql = rels
    .map((t) => `SELECT ${t.oid}::int8 AS oid, count(*)::int8 AS n FROM ${quoteQualified(t.schema, t.name)}`)
    .join('\nUNION ALL\n');
  const r = await client.query(sql);
  for (const row of r.rows) counts.set(Number(row.oid), Number(row.n));
  return counts;
}

/** "users" for public tables, "billing.invoices" otherwise. */
export function displayName(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}
