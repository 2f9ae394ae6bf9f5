/**
 * Row generator: fills tables with plausible rows before migrations meet them.
 *
 * One set-based statement per table,
 *   INSERT INTO t (cols) SELECT <expr per column> FROM generate_series(start, end) AS gs(g) [JOIN parents]
 * with every value computed by the server, so 100 rows (syntax stage) and 500,000 rows
 * (performance stage) take the same code path. The catalog is read with a constant number of
 * queries, whatever the number of tables.
 */
import type pg from 'pg';
import { isBookkeepingTable } from './bookkeeping.js';
import { USER_TABLE_CONDITION } from './catalog.js';
import { quoteIdent, quoteLiteral, quoteQualified } from './quote.js';

export interface SeedOptions {
  /** Target row count per table: tables are topped up to this many rows; a table already holding >= rows is left alone. */
  rows: number;
  /** Only these tables (qualified "schema.table" or bare "table" meaning any schema); default every ordinary table. Foreign-key parents of listed tables that are empty are filled too (as needed for FK values). */
  tables?: string[];
  /** A name in `tables` that matches no table is skipped silently (it may be created later). */
  missingOk?: boolean;
  /** Run ANALYZE on each filled table afterwards (performance stage). Default false. */
  analyze?: boolean;
  /**
   * The caller has a transaction block open on this client: each INSERT then runs inside its own
   * SAVEPOINT so a table that cannot be filled does not abort the caller's transaction. Default false
   * (autocommit: every INSERT is its own statement).
   */
  inTransaction?: boolean;
}

export interface SeededTable {
  /** "schema.table", schema omitted when "public". */
  table: string;
  rowsAdded: number;
}

export interface SeedNotice {
  table: string;
  message: string;
}

export interface SeedOutcome {
  /** Tables that received rows, in the order they were filled (parents before children). */
  seeded: SeededTable[];
  notices: SeedNotice[];
}

// ---------------------------------------------------------------------------------------------
// Catalog

interface CatalogColumn {
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

interface CatalogTable {
  oid: number;
  schema: string;
  name: string;
  columns: CatalogColumn[];
}

interface CatalogType {
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
}

interface ForeignKey {
  name: string;
  table: number;
  cols: number[];
  parent: number;
  parentSchema: string;
  parentName: string;
  parentCols: string[];
  /** pg_type.typlen of the referenced columns (-1 / -2 for variable-length types). */
  parentLens: number[];
}

interface CheckConstraint {
  table: number;
  cols: number[];
  def: string;
}

interface Catalog {
  tables: Map<number, CatalogTable>;
  types: Map<number, CatalogType>;
  fks: Map<number, ForeignKey[]>;
  checks: Map<number, CheckConstraint[]>;
  /** Column sets of unique indexes (PK and UNIQUE constraints included), per table. */
  uniques: Map<number, number[][]>;
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
ORDER BY n.nspname, c.relname, a.attnum`;

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
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_fmt
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
SELECT i.indrelid::int8 AS table, (i.indkey::int2[])[0:i.indnkeyatts - 1] AS cols
FROM pg_index i
WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique`;

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

async function readCatalog(client: pg.ClientBase): Promise<Catalog> {
  const tables = new Map<number, CatalogTable>();
  const typeIds = new Set<number>();
  const tr = await client.query(TABLES_SQL);
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
  if (tables.size === 0) return { tables, types, fks, checks, uniques };

  const tyr = await client.query(TYPES_SQL, [[...typeIds].map(String)]);
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
    });
  }

  const oids = [...tables.keys()].map(String);
  const cr = await client.query(CONSTRAINTS_SQL, [oids]);
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

  const ur = await client.query(UNIQUES_SQL, [oids]);
  for (const r of ur.rows) {
    const cols = (r.cols as Array<number | string>).map(Number).filter((n) => n > 0);
    if (cols.length > 0) pushTo(uniques, Number(r.table), cols);
  }
  return { tables, types, fks, checks, uniques };
}

/** Row counts of the given relations, in one statement. */
async function countRows(client: pg.ClientBase, rels: Array<{ oid: number; schema: string; name: string }>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  if (rels.length === 0) return counts;
  const sql = rels
    .map((t) => `SELECT ${t.oid}::int8 AS oid, count(*)::int8 AS n FROM ${quoteQualified(t.schema, t.name)}`)
    .join('\nUNION ALL\n');
  const r = await client.query(sql);
  for (const row of r.rows) counts.set(Number(row.oid), Number(row.n));
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Value expressions

/** "users" for public tables, "billing.invoices" otherwise. */
function displayName(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

const G = 'gs.g';

/** Length / precision arguments at the end of a formatted type: `character varying(5)` -> [5]. */
function typmodArgs(fmt: string): number[] {
  const m = /\((\d+)(?:\s*,\s*(-?\d+))?\)$/.exec(fmt);
  if (!m) return [];
  return m[2] === undefined ? [Number(m[1])] : [Number(m[1]), Number(m[2])];
}

interface ValueContext {
  /** Column name (for name-based text heuristics). */
  column: string;
  /** "schema.table.column": makes uuid values differ between tables. */
  seedKey: string;
  /** The value must differ for every g. */
  unique: boolean;
  /** Largest g of this statement. */
  end: number;
  /** Numeric bounds from single-column CHECK constraints. */
  bounds: Bounds | undefined;
}

interface Value {
  sql: string;
  /** Different for every g (so it can carry a unique key alone). */
  unique: boolean;
}

const int = (n: number): string => (n < 0 ? `(${n})` : String(n));

/** Text value for a string column, by column name, shortened to the length limit. */
function textValue(ctx: ValueContext, limit: number | undefined): Value {
  const n = ctx.column.toLowerCase();
  const digits = String(ctx.end).length;
  let sql: string;
  let len: number;
  let unique = true;
  if (/e_?mail/.test(n)) {
    sql = `'user' || ${G} || '@example.com'`;
    len = 16 + digits;
  } else if (/(^|_)(url|uri|link|href|website|homepage|avatar)s?($|_)|url$/.test(n)) {
    sql = `'https://example.com/' || ${G}`;
    len = 20 + digits;
  } else if (/phone|mobile|(^|_)fax($|_)/.test(n)) {
    sql = `'+1555' || lpad(${G}::text, 7, '0')`;
    len = Math.max(12, 5 + digits);
  } else if (/password|passwd|hash|digest|token|secret|salt/.test(n)) {
    sql = `md5(${G}::text)`;
    len = 32;
  } else if (/slug/.test(n)) {
    sql = `'item-' || ${G}`;
    len = 5 + digits;
  } else if (/user_?name|(^|_)login($|_)|handle|nickname/.test(n)) {
    sql = `'user' || ${G}`;
    len = 4 + digits;
  } else if (!ctx.unique && /currency/.test(n)) {
    sql = `'USD'`;
    len = 3;
    unique = false;
  } else if (!ctx.unique && /country/.test(n)) {
    sql = `'US'`;
    len = 2;
    unique = false;
  } else if (!ctx.unique && /(^|_)(lang|language|locale)($|_)/.test(n)) {
    sql = `'en'`;
    len = 2;
    unique = false;
  } else if (!ctx.unique && /(^|_)(timezone|time_zone|tz)($|_)/.test(n)) {
    sql = `'UTC'`;
    len = 3;
    unique = false;
  } else if (!ctx.unique && /colou?r/.test(n)) {
    sql = `'#' || lpad(to_hex(${G} % 16777216), 6, '0')`;
    len = 7;
    unique = false;
  } else if (!ctx.unique && n === 'status') {
    sql = `'active'`;
    len = 6;
    unique = false;
  } else {
    const prefix = `${ctx.column.slice(0, 12)}-`;
    sql = `${quoteLiteral(prefix)} || ${G}`;
    len = prefix.length + digits;
  }
  if (limit !== undefined && len > limit) {
    // Too long for the column: the bare number, in hex when it must stay unique (16^n values fit).
    if (ctx.unique) {
      sql = `to_hex(${G})`;
      len = ctx.end.toString(16).length;
    } else {
      sql = `${G}::text`;
      len = digits;
    }
    unique = true;
    if (len > limit) {
      sql = `left(${sql}, ${limit})`;
      unique = false;
    }
  }
  return { sql, unique };
}

interface Bounds {
  lo?: number;
  hi?: number;
}

/** Integer expression honouring CHECK bounds, or undefined when there are none. */
function boundedInt(b: Bounds | undefined): Value | undefined {
  if (!b) return undefined;
  const { lo, hi } = b;
  if (lo !== undefined && hi !== undefined) {
    if (hi < lo) return undefined;
    const span = hi - lo + 1;
    return { sql: `(${int(lo)} + ((${G} - 1) % ${span}))`, unique: false };
  }
  if (lo !== undefined) return { sql: lo > 1 ? `(${G} + ${int(lo - 1)})` : G, unique: true };
  if (hi !== undefined) {
    if (hi >= 1) return { sql: `(((${G} - 1) % ${hi}) + 1)`, unique: false };
    return { sql: `(${int(hi)} - ((${G} - 1) % 1000))`, unique: false };
  }
  return undefined;
}

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'citext']);

/**
 * Expression of type `fmt` (a pg_type, formatted with its typmod) for row number g; undefined when
 * the type is not known.
 */
function valueFor(types: Map<number, CatalogType>, typid: number, fmt: string, ctx: ValueContext, depth = 0): Value | undefined {
  const t = types.get(typid);
  if (!t || depth > 10) return undefined;
  const cast = (sql: string, unique: boolean): Value => ({ sql: `(${sql})::${fmt}`, unique });

  if (t.typtype === 'd') {
    const inner = valueFor(types, t.base, t.baseFmt ?? 'text', ctx, depth + 1);
    return inner && cast(inner.sql, inner.unique);
  }
  if (t.category === 'A' && t.elem !== 0) {
    const elemFmt = fmt.endsWith('[]') ? fmt.slice(0, -2) : undefined;
    const et = types.get(t.elem);
    if (!elemFmt || !et) return undefined;
    const inner = valueFor(types, t.elem, elemFmt, ctx, depth + 1);
    return inner && { sql: `ARRAY[${inner.sql}]::${fmt}`, unique: inner.unique };
  }
  if (t.typtype === 'e') {
    const labels = t.labels ?? [];
    if (labels.length === 0) return undefined;
    const arr = `ARRAY[${labels.map(quoteLiteral).join(', ')}]`;
    return cast(`(${arr})[((${G} - 1) % ${labels.length}) + 1]`, false);
  }
  const builtin = t.schema === 'pg_catalog';
  const name = t.name;
  if (TEXT_TYPES.has(name) && (builtin || name === 'citext')) {
    const limit = name === 'name' ? 63 : name === 'varchar' || name === 'bpchar' ? typmodArgs(fmt)[0] : undefined;
    const v = textValue(ctx, limit);
    return cast(v.sql, v.unique);
  }
  if (!builtin) return undefined;
  const u = ctx.unique;
  switch (name) {
    case 'int2': {
      const b = boundedInt(ctx.bounds);
      if (b) return cast(b.sql, b.unique);
      return u ? cast(G, true) : cast(`((${G} - 1) % 32000) + 1`, false);
    }
    case 'int4':
    case 'int8': {
      const b = boundedInt(ctx.bounds);
      return b ? cast(b.sql, b.unique) : cast(G, true);
    }
    case 'float4':
    case 'float8': {
      const b = boundedInt(ctx.bounds);
      return b ? cast(b.sql, b.unique) : cast(`${G} * 1.5`, true);
    }
    case 'numeric': {
      const b = boundedInt(ctx.bounds);
      if (b) return cast(b.sql, b.unique);
      const args = typmodArgs(fmt);
      const p = args[0];
      if (p === undefined) return cast(`${G} + 0.5`, true);
      const s = args[1] ?? 0;
      if (u) return cast(G, true);
      const intDigits = p - s;
      if (intDigits >= 1) {
        const k = Math.min(intDigits, 15);
        const m = 10 ** k - 1;
        const base = m >= ctx.end ? G : `(((${G} - 1) % ${m}) + 1)`;
        return cast(s > 0 ? `${base} + 0.5` : base, m >= ctx.end);
      }
      return cast(`(((${G} - 1) % 9) + 1) * 1e${intDigits - 1}`, false);
    }
    case 'money':
      return u ? cast(`${G}::numeric`, true) : cast(`((${G} % 100000) + 0.99)::numeric`, false);
    case 'bool':
      return cast(`${G} % 2 = 0`, false);
    case 'date':
      return u ? cast(`current_date - ${G}`, true) : cast(`current_date - ((${G} - 1) % 3650)`, false);
    case 'timestamp':
      return cast(`localtimestamp(0) - ${G} * interval '1 minute'`, true);
    case 'timestamptz':
      return cast(`date_trunc('second', now()) - ${G} * interval '1 minute'`, true);
    case 'time':
    case 'timetz':
      return u
        ? cast(`time '00:00' + (${G} % 86400) * interval '1 second'`, false)
        : cast(`time '08:00' + ((${G} - 1) % 600) * interval '1 minute'`, false);
    case 'interval':
      return u ? cast(`${G} * interval '1 minute'`, true) : cast(`(((${G} - 1) % 1440) + 1) * interval '1 minute'`, false);
    case 'uuid':
      return cast(`md5(${quoteLiteral(`${ctx.seedKey}:`)} || ${G})::uuid`, true);
    case 'json':
      return cast(`json_build_object('n', ${G})`, true);
    case 'jsonb':
      return cast(`jsonb_build_object('n', ${G})`, true);
    case 'bytea':
      return cast(`decode(md5(${G}::text), 'hex')`, true);
    case 'inet':
      return cast(`'10.0.0.0'::inet + ${G}`, true);
    case 'cidr':
      return cast(`('10.0.0.0'::inet + ${G})::cidr`, true);
    case 'macaddr':
      return cast(`lpad(to_hex(${G}), 12, '0')::macaddr`, true);
    case 'macaddr8':
      return cast(`lpad(to_hex(${G}), 16, '0')::macaddr8`, true);
    case 'bit':
      return cast(`${G}::int8`, false);
    case 'varbit': {
      const n = Math.min(typmodArgs(fmt)[0] ?? 32, 32);
      return cast(`${G}::int8::bit(${n})`, false);
    }
    case 'tsvector':
      return cast(`to_tsvector('simple', 'word' || ${G})`, true);
    case 'tsquery':
      return cast(`to_tsquery('simple', 'word' || ${G})`, true);
    case 'xml':
      return cast(`xmlelement(name n, ${G})`, true);
    case 'point':
      return cast(`point(${G}, ${G})`, true);
    case 'line':
      return cast(`line(point(0, ${G}), point(1, ${G} + 1))`, true);
    case 'lseg':
      return cast(`lseg(point(0, ${G}), point(1, ${G} + 1))`, true);
    case 'box':
      return cast(`box(point(${G}, ${G}), point(${G} + 1, ${G} + 1))`, true);
    case 'path':
      return cast(`path(polygon(box(point(${G}, ${G}), point(${G} + 1, ${G} + 1))))`, true);
    case 'polygon':
      return cast(`polygon(box(point(${G}, ${G}), point(${G} + 1, ${G} + 1)))`, true);
    case 'circle':
      return cast(`circle(point(${G}, ${G}), 1)`, true);
    case 'int4range':
      return cast(`int4range(${G}, ${G} + 1)`, true);
    case 'int8range':
      return cast(`int8range(${G}, ${G} + 1)`, true);
    case 'numrange':
      return cast(`numrange(${G}, ${G} + 1)`, true);
    case 'daterange':
      return cast(`daterange(current_date - ${G}, current_date - ${G} + 1)`, true);
    case 'tsrange':
      return cast(`tsrange(localtimestamp(0) - ${G} * interval '1 hour', localtimestamp(0) - ${G} * interval '1 hour' + interval '30 minutes')`, true);
    case 'tstzrange':
      return cast(`tstzrange(date_trunc('second', now()) - ${G} * interval '1 hour', date_trunc('second', now()) - ${G} * interval '1 hour' + interval '30 minutes')`, true);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// CHECK constraint heuristics (single-column checks only)

function columnRefPattern(col: string): string {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const quoted = `"${col.replace(/"/g, '""')}"`;
  return /^[a-z_][a-z0-9_$]*$/.test(col) ? `(?:${esc(col)}|${esc(quoted)})` : esc(quoted);
}

/**
 * `CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))` (how Postgres prints `status IN ('a','b')`)
 * -> the ARRAY[...] text and its length.
 */
export function parseInListCheck(def: string, col: string): { array: string; length: number } | undefined {
  const at = def.indexOf(' = ANY (');
  if (at < 0 || !def.startsWith('CHECK ')) return undefined;
  const head = def.slice('CHECK '.length, at);
  const headRe = new RegExp(`^\\(*${columnRefPattern(col)}\\)?(?:::[a-z ]+(?:\\(\\d+\\))?)?$`);
  if (!headRe.test(head)) return undefined;
  let i = at + ' = ANY ('.length;
  while (def[i] === '(') i++;
  if (!def.startsWith('ARRAY[', i)) return undefined;
  const start = i;
  i += 'ARRAY['.length;
  let depth = 1;
  let commas = 0;
  let inQuote = false;
  for (; i < def.length && depth > 0; i++) {
    const ch = def[i];
    if (inQuote) {
      if (ch === "'") {
        if (def[i + 1] === "'") i++;
        else inQuote = false;
      }
      continue;
    }
    if (ch === "'") inQuote = true;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    else if (ch === ',' && depth === 1) commas++;
  }
  if (depth !== 0) return undefined;
  const array = def.slice(start, i);
  const tail = def.slice(i);
  if (!/^(?:\)|::[a-z ]+(?:\(\d+\))?\[\])*$/.test(tail)) return undefined;
  return { array, length: commas + 1 };
}

/** `CHECK (((rating >= 1) AND (rating <= 5)))` -> { lo: 1, hi: 5 }; undefined for anything else. */
export function parseBoundsCheck(def: string, col: string): Bounds | undefined {
  if (!def.startsWith('CHECK ')) return undefined;
  const body = def.slice('CHECK '.length).replace(/[()]/g, '');
  const partRe = new RegExp(`^${columnRefPattern(col)}(?:::[a-z ]+)? (>=|>|<=|<) '?(-?\\d+(?:\\.\\d+)?)'?(?:::[a-z ]+)?$`);
  const out: Bounds = {};
  for (const part of body.split(' AND ')) {
    const m = partRe.exec(part.trim());
    if (!m) return undefined;
    const v = Number(m[2]);
    switch (m[1]) {
      case '>=':
        out.lo = Math.max(out.lo ?? -Infinity, Math.ceil(v));
        break;
      case '>':
        out.lo = Math.max(out.lo ?? -Infinity, Math.floor(v) + 1);
        break;
      case '<=':
        out.hi = Math.min(out.hi ?? Infinity, Math.floor(v));
        break;
      case '<':
        out.hi = Math.min(out.hi ?? Infinity, Math.ceil(v) - 1);
        break;
    }
  }
  if (out.lo !== undefined && !Number.isSafeInteger(out.lo)) return undefined;
  if (out.hi !== undefined && !Number.isSafeInteger(out.hi)) return undefined;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per-table plan

type ColumnPlan =
  | { kind: 'value'; col: CatalogColumn; sql: string; unique: boolean; nullable: boolean; key: boolean }
  | { kind: 'fk'; col: CatalogColumn; fk: number; index: number }
  | { kind: 'null'; col: CatalogColumn };

type FkMode = 'join' | 'unique' | 'radix';

interface FkJoin {
  fk: ForeignKey;
  mode: FkMode;
  /** For 'radix': the aliases of the foreign keys before this one in the same unique key. */
  radixBefore: number[];
}

interface TablePlan {
  table: CatalogTable;
  columns: ColumnPlan[];
  joins: FkJoin[];
  /** Set when the table cannot be filled at all; the reason is the notice. */
  impossible?: string;
}

function isSequenceDefault(col: CatalogColumn): boolean {
  return col.identity === 'd' || (col.defaultExpr !== null && /^nextval\(/i.test(col.defaultExpr));
}

function columnNotNull(types: Map<number, CatalogType>, col: CatalogColumn): boolean {
  if (col.notNull) return true;
  let t = types.get(col.typid);
  for (let i = 0; t && t.typtype === 'd' && i < 10; i++) {
    if (t.notNull) return true;
    t = types.get(t.base);
  }
  return false;
}

interface PlanInput {
  catalog: Catalog;
  table: CatalogTable;
  /** Rows each relation holds right now (tables filled earlier in this run included). */
  rowsOf: (oid: number) => number;
  end: number;
}

function planTable({ catalog, table, rowsOf, end }: PlanInput): TablePlan {
  const { types } = catalog;
  const byNum = new Map(table.columns.map((c) => [c.attnum, c]));
  const keySets = (catalog.uniques.get(table.oid) ?? []).filter((k) => k.every((n) => byNum.has(n)));
  const keyCols = new Set(keySets.flat());
  const seedKeyOf = (c: CatalogColumn): string => `${table.schema}.${table.name}.${c.name}`;

  // Omitted columns: generated, identity, and defaults (unless a non-sequence default on a key).
  const omitted = new Set<number>();
  for (const c of table.columns) {
    if (c.generated !== '' || c.identity === 'a') omitted.add(c.attnum);
    else if (isSequenceDefault(c)) omitted.add(c.attnum);
    else if (c.defaultExpr !== null && !keyCols.has(c.attnum)) omitted.add(c.attnum);
  }

  // Column values from CHECK constraints on one column.
  const inLists = new Map<number, { array: string; length: number }>();
  const bounds = new Map<number, Bounds>();
  for (const ch of catalog.checks.get(table.oid) ?? []) {
    if (ch.cols.length !== 1) continue;
    const col = byNum.get(ch.cols[0]!);
    if (!col) continue;
    const list = parseInListCheck(ch.def, col.name);
    if (list) {
      if (!inLists.has(col.attnum)) inLists.set(col.attnum, list);
      continue;
    }
    const b = parseBoundsCheck(ch.def, col.name);
    if (b) {
      const prev = bounds.get(col.attnum) ?? {};
      const lo = Math.max(prev.lo ?? -Infinity, b.lo ?? -Infinity);
      const hi = Math.min(prev.hi ?? Infinity, b.hi ?? Infinity);
      bounds.set(col.attnum, {
        ...(Number.isFinite(lo) ? { lo } : {}),
        ...(Number.isFinite(hi) ? { hi } : {}),
      });
    }
  }

  const plain = (c: CatalogColumn): ColumnPlan => {
    const nullable = !columnNotNull(types, c);
    const key = keyCols.has(c.attnum);
    const list = inLists.get(c.attnum);
    if (list) {
      return { kind: 'value', col: c, sql: `(${list.array})[((${G} - 1) % ${list.length}) + 1]::${c.fmt}`, unique: false, nullable, key };
    }
    const v = valueFor(types, c.typid, c.fmt, {
      column: c.name,
      seedKey: seedKeyOf(c),
      unique: key,
      end,
      bounds: bounds.get(c.attnum),
    });
    if (v) return { kind: 'value', col: c, sql: v.sql, unique: v.unique, nullable, key };
    if (nullable) return { kind: 'null', col: c };
    return { kind: 'value', col: c, sql: `(${G}::text)::${c.fmt}`, unique: true, nullable, key };
  };

  // Foreign keys: the ones with most columns first; a column already taken keeps its first source.
  const plans = new Map<number, ColumnPlan>();
  const joins: FkJoin[] = [];
  let impossible: string | undefined;
  const fks = [...(catalog.fks.get(table.oid) ?? [])].sort((a, b) => b.cols.length - a.cols.length);
  for (const fk of fks) {
    const cols = fk.cols.map((n) => byNum.get(n));
    if (cols.some((c) => !c || c.generated !== '' || c.identity === 'a')) continue;
    const free = (cols as CatalogColumn[]).filter((c) => !plans.has(c.attnum));
    if (free.length === 0) continue;
    const required = free.some((c) => columnNotNull(types, c));
    const withDefault = free.every((c) => c.defaultExpr !== null || c.identity === 'd');
    const self = fk.parent === table.oid;
    const parentRows = rowsOf(fk.parent);
    if (self && !required) {
      for (const c of free) plans.set(c.attnum, { kind: 'null', col: c });
      continue;
    }
    if (parentRows === 0) {
      if (self) {
        // Each new row references itself when the referenced columns get generated values.
        const refs = fk.parentCols.map((name) => table.columns.find((c) => c.name === name));
        if (refs.every((r) => r && !omitted.has(r.attnum) && !fk.cols.includes(r.attnum))) {
          fk.cols.forEach((n, i) => {
            const c = byNum.get(n)!;
            if (plans.has(n)) return;
            const ref = plain(refs[i]!);
            if (ref.kind === 'value') plans.set(n, { ...ref, col: c, sql: `(${ref.sql})::${c.fmt}` });
          });
          continue;
        }
      }
      if (!required) {
        for (const c of free) plans.set(c.attnum, { kind: 'null', col: c });
        continue;
      }
      if (withDefault) continue; // leave it to the column default
      impossible ??= `foreign key ${fk.name} needs rows in ${fk.parentSchema}.${fk.parentName}, which is empty`;
      continue;
    }
    const index = joins.length;
    joins.push({ fk, mode: 'join', radixBefore: [] });
    fk.cols.forEach((n, i) => {
      if (!plans.has(n)) plans.set(n, { kind: 'fk', col: byNum.get(n)!, fk: index, index: i });
    });
  }

  const columns: ColumnPlan[] = [];
  for (const c of table.columns) {
    const p = plans.get(c.attnum);
    if (p) {
      columns.push(p);
      continue;
    }
    if (omitted.has(c.attnum)) continue;
    columns.push(plain(c));
  }

  // Unique keys that only foreign-key columns can make unique: map parents one to one.
  for (const key of keySets) {
    const carried = key.some((n) => {
      if (omitted.has(n)) {
        const c = byNum.get(n)!;
        return c.identity !== '' || isSequenceDefault(c);
      }
      const p = columns.find((x) => x.col.attnum === n);
      return p?.kind === 'value' && p.unique;
    });
    if (carried) continue;
    const via = [...new Set(columns.flatMap((p) => (p.kind === 'fk' && key.includes(p.col.attnum) ? [p.fk] : [])))];
    const first = via[0];
    if (first === undefined) continue;
    if (via.length === 1) {
      const j = joins[first]!;
      if (j.mode === 'join' && j.fk.parent !== table.oid && key.every((n) => j.fk.cols.includes(n))) j.mode = 'unique';
    } else {
      via.forEach((f, i) => {
        const j = joins[f]!;
        if (j.mode === 'join') {
          j.mode = 'radix';
          j.radixBefore = via.slice(0, i);
        }
      });
    }
  }

  return impossible !== undefined ? { table, columns, joins, impossible } : { table, columns, joins };
}

/**
 * The one INSERT ... SELECT ... generate_series statement for a plan.
 *
 * Foreign-key values come from the parent's rows numbered 1..n, row g taking parent row
 * ((g - 1) % n) + 1. When every referenced column has a fixed-length type (integers, uuid, dates...),
 * the parent's keys are collected once into arrays and subscripted per row: no join, O(1) per row.
 * Otherwise the numbered parent rows are joined on their row number.
 */
function buildInsert(plan: TablePlan, start: number, end: number, nullRetry: boolean): string {
  const target = quoteQualified(plan.table.schema, plan.table.name);
  const ctes: string[] = [];
  const joins: string[] = [];
  const limits: string[] = [];
  const colRef: Array<(i: number) => string> = [];
  const arrayMode = plan.joins.map((j) => j.fk.parentLens.every((l) => l > 0));
  /** Number of usable parent rows of join k (NULL when there are none). */
  const countOf = (k: number): string =>
    arrayMode[k] ? `(SELECT cardinality(a0) FROM fk${k})` : `NULLIF((SELECT count(*) FROM fk${k}), 0)`;
  plan.joins.forEach((j, k) => {
    const alias = `fk${k}`;
    const parent = quoteQualified(j.fk.parentSchema, j.fk.parentName);
    const conds = j.fk.parentCols.map((c) => `p.${quoteIdent(c)} IS NOT NULL`);
    if (j.mode === 'unique') {
      const match = j.fk.cols
        .map((n, i) => {
          const col = plan.table.columns.find((c) => c.attnum === n)!;
          return `t.${quoteIdent(col.name)} = p.${quoteIdent(j.fk.parentCols[i]!)}`;
        })
        .join(' AND ');
      conds.push(`NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${match})`);
    }
    const where = conds.join(' AND ');
    let index: string;
    if (j.mode === 'unique') {
      index = `${G} - ${start - 1}`;
    } else {
      const divisor =
        j.mode === 'radix' && j.radixBefore.length > 0
          ? ` / (${j.radixBefore.map((b) => `${countOf(b)}::int8`).join(' * ')})`
          : '';
      index = `((${G}::int8 - 1)${divisor}) % ${countOf(k)} + 1`;
    }
    if (arrayMode[k]) {
      const aggs = j.fk.parentCols.map((c, i) => `array_agg(p.${quoteIdent(c)}) AS a${i}`).join(', ');
      ctes.push(`${alias} AS MATERIALIZED (SELECT ${aggs} FROM ${parent} p WHERE ${where})`);
      colRef.push((i) => `(SELECT a${i} FROM ${alias})[(${index})::int4]`);
      if (j.mode === 'unique') limits.push(`${start - 1} + coalesce(${countOf(k)}, 0)`);
    } else {
      const cols = j.fk.parentCols.map((c, i) => `p.${quoteIdent(c)} AS c${i}`).join(', ');
      ctes.push(`${alias} AS MATERIALIZED (SELECT ${cols}, row_number() OVER () AS rn FROM ${parent} p WHERE ${where})`);
      colRef.push((i) => `${alias}.c${i}`);
      joins.push(`${j.mode === 'unique' ? 'JOIN' : 'LEFT JOIN'} ${alias} ON ${alias}.rn = ${index}`);
    }
  });
  const names: string[] = [];
  const exprs: string[] = [];
  for (const p of plan.columns) {
    names.push(quoteIdent(p.col.name));
    if (p.kind === 'fk') exprs.push(`(${colRef[p.fk]!(p.index)})::${p.col.fmt}`);
    else if (p.kind === 'null') exprs.push(`NULL::${p.col.fmt}`);
    else if (nullRetry && p.nullable && !p.key) exprs.push(`NULL::${p.col.fmt}`);
    else exprs.push(p.sql);
  }
  const big = end > 2147483647;
  const num = (n: number | string): string => (big ? `(${n})::int8` : `${n}`);
  const last = limits.length > 0 ? `least(${end}, ${limits.join(', ')})` : `${end}`;
  const series = `generate_series(${num(start)}, ${num(last)})`;
  const withClause = ctes.length > 0 ? `WITH ${ctes.join(',\n     ')}\n` : '';
  const columnList = names.length > 0 ? ` (${names.join(', ')})` : '';
  return `${withClause}INSERT INTO ${target}${columnList}\nSELECT ${exprs.join(',\n       ')}\nFROM ${series} AS gs(g)${joins.map((j) => `\n${j}`).join('')}`;
}

/** True when a retry with NULLs in the nullable, non-key, non-FK columns would change anything. */
function canNullRetry(plan: TablePlan): boolean {
  return plan.columns.some((p) => p.kind === 'value' && p.nullable && !p.key);
}

// ---------------------------------------------------------------------------------------------
// Errors

function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors that are about the connection or the caller's session rather than the table: no SQLSTATE
 * (socket errors, a closed client), connection exceptions, server shutdown, an already aborted
 * transaction.
 */
function isFatal(e: unknown): boolean {
  const code = sqlState(e);
  if (code === undefined) return true;
  return code.startsWith('08') || code.startsWith('57P') || code === '25P02';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Order

/** Parents before children; in a cycle, the table with fewest NOT NULL edges into it goes first. */
function fillOrder(catalog: Catalog, oids: number[]): number[] {
  const pending = new Set(oids);
  const deps = new Map<number, Array<{ parent: number; required: boolean }>>();
  for (const oid of oids) {
    const table = catalog.tables.get(oid)!;
    const list: Array<{ parent: number; required: boolean }> = [];
    for (const fk of catalog.fks.get(oid) ?? []) {
      if (fk.parent === oid || !pending.has(fk.parent)) continue;
      const required = fk.cols.some((n) => {
        const c = table.columns.find((x) => x.attnum === n);
        return c !== undefined && columnNotNull(catalog.types, c);
      });
      list.push({ parent: fk.parent, required });
    }
    deps.set(oid, list);
  }
  const order: number[] = [];
  while (pending.size > 0) {
    let next: number | undefined;
    let best = Infinity;
    for (const oid of pending) {
      const open = deps.get(oid)!.filter((d) => pending.has(d.parent));
      const score = open.length === 0 ? -1 : open.filter((d) => d.required).length * 1000 + open.length;
      if (score < best) {
        best = score;
        next = oid;
        if (score === -1) break;
      }
    }
    order.push(next!);
    pending.delete(next!);
  }
  return order;
}

// ---------------------------------------------------------------------------------------------
// Entry point

function matches(t: CatalogTable, wanted: string): boolean {
  return wanted === `${t.schema}.${t.name}` || wanted === t.name;
}

export async function seedTables(client: pg.ClientBase, opts: SeedOptions): Promise<SeedOutcome> {
  if (!Number.isFinite(opts.rows) || opts.rows < 0) throw new RangeError(`rows must be a non-negative number, got ${opts.rows}`);
  const target = Math.floor(opts.rows);
  const outcome: SeedOutcome = { seeded: [], notices: [] };
  const catalog = await readCatalog(client);
  // A migration tool would take generated rows in its bookkeeping table for migrations it has run.
  const all = [...catalog.tables.values()].filter((t) => !isBookkeepingTable(t.schema, t.name));

  // Which tables are asked for.
  let selected: CatalogTable[];
  if (opts.tables === undefined) {
    selected = all;
  } else {
    const set = new Set<CatalogTable>();
    for (const wanted of opts.tables) {
      let found = all.filter((t) => matches(t, wanted));
      if (found.length === 0) found = all.filter((t) => matches(t, wanted.toLowerCase()));
      if (found.length === 0 && !opts.missingOk) outcome.notices.push({ table: wanted, message: `table ${wanted} could not be filled: no such table` });
      for (const t of found) set.add(t);
    }
    selected = [...set];
  }
  if (selected.length === 0 || target === 0) return outcome;

  // Count the selected tables and every relation they reach through foreign keys, in one query.
  const reach = new Map<number, { oid: number; schema: string; name: string }>();
  const stack = selected.map((t) => ({ oid: t.oid, schema: t.schema, name: t.name }));
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (reach.has(r.oid)) continue;
    reach.set(r.oid, r);
    for (const fk of catalog.fks.get(r.oid) ?? []) {
      if (reach.has(fk.parent)) continue;
      if (catalog.tables.has(fk.parent)) stack.push({ oid: fk.parent, schema: fk.parentSchema, name: fk.parentName });
      else reach.set(fk.parent, { oid: fk.parent, schema: fk.parentSchema, name: fk.parentName });
    }
  }
  const counts = await countRows(client, [...reach.values()]);
  const rowsOf = (oid: number): number => counts.get(oid) ?? 0;

  // What gets filled: selected tables below the target, and their empty parents (transitively).
  const fill = new Set<number>();
  const visit = (oid: number): void => {
    if (fill.has(oid)) return;
    fill.add(oid);
    for (const fk of catalog.fks.get(oid) ?? []) {
      if (fk.parent !== oid && catalog.tables.has(fk.parent) && rowsOf(fk.parent) === 0) visit(fk.parent);
    }
  };
  for (const t of selected) if (rowsOf(t.oid) < target) visit(t.oid);

  const filled: CatalogTable[] = [];
  for (const oid of fillOrder(catalog, [...fill])) {
    const table = catalog.tables.get(oid)!;
    const name = displayName(table.schema, table.name);
    const failed = (why: string): void => {
      outcome.notices.push({ table: name, message: `table ${table.schema}.${table.name} could not be filled: ${why}` });
    };
    const before = rowsOf(oid);
    if (before >= target) continue;
    const start = before + 1;
    const plan = planTable({ catalog, table, rowsOf, end: target });
    if (plan.impossible !== undefined) {
      failed(plan.impossible);
      continue;
    }
    const attempts = [buildInsert(plan, start, target, false)];
    if (canNullRetry(plan)) attempts.push(buildInsert(plan, start, target, true));
    let added: number | undefined;
    let lastError = '';
    for (const sql of attempts) {
      const r = await runGuarded(client, sql, opts.inTransaction === true);
      if (r.ok) {
        added = r.rowCount;
        break;
      }
      lastError = r.message;
      if (r.code === '57014') break; // canceled or timed out: a retry would only wait again
    }
    if (added === undefined) {
      failed(lastError);
      continue;
    }
    counts.set(oid, before + added);
    if (added > 0) {
      outcome.seeded.push({ table: name, rowsAdded: added });
      filled.push(table);
    }
    if (added < target - before) {
      failed(`only ${added} of ${target - before} rows could be added (too few parent rows for a one-to-one foreign key)`);
    }
  }

  if (opts.analyze) {
    for (const t of filled) {
      const r = await runGuarded(client, `ANALYZE ${quoteQualified(t.schema, t.name)}`, opts.inTransaction === true);
      if (!r.ok) {
        outcome.notices.push({ table: displayName(t.schema, t.name), message: `table ${t.schema}.${t.name} could not be analyzed: ${r.message}` });
      }
    }
  }
  return outcome;
}

type Guarded = { ok: true; rowCount: number } | { ok: false; message: string; code: string | undefined };

/** Runs one statement; SQL errors come back as values (inside a savepoint when in a transaction), connection errors throw. */
async function runGuarded(client: pg.ClientBase, sql: string, inTransaction: boolean): Promise<Guarded> {
  if (inTransaction) await client.query('SAVEPOINT migration_ci_seed');
  try {
    const r = await client.query(sql);
    if (inTransaction) await client.query('RELEASE SAVEPOINT migration_ci_seed');
    return { ok: true, rowCount: r.rowCount ?? 0 };
  } catch (e) {
    if (isFatal(e)) throw e;
    if (inTransaction) {
      await client.query('ROLLBACK TO SAVEPOINT migration_ci_seed');
      await client.query('RELEASE SAVEPOINT migration_ci_seed');
    }
    return { ok: false, message: messageOf(e), code: sqlState(e) };
  }
}
