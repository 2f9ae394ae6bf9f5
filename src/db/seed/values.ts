/** SQL expressions of every supported type for row number g: plausible, and unique where a key needs it. */
import { quoteLiteral } from '../quote.js';
import type { CatalogType } from './catalog.js';

export const G = 'gs.g';
/** The series' row number, for functions that shadow G with another row expression. */
const SERIES_ROW = G;

/** Length / precision arguments at the end of a formatted type: `character varying(5)` -> [5]. */
export function typmodArgs(fmt: string): number[] {
  const m = /\((\d+)(?:\s*,\s*(-?\d+))?\)$/.exec(fmt);
  if (!m) return [];
  return m[2] === undefined ? [Number(m[1])] : [Number(m[1]), Number(m[2])];
}

export interface ValueContext {
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
  /** Expression standing for the row number (default the series' g): production's shape maps rows onto fewer values. */
  row?: string;
  /** Characters (bytes for bytea) a text or bytea value should take: production's average width. */
  width?: number;
}

export interface Value {
  sql: string;
  /** Different for every g (so it can carry a unique key alone). */
  unique: boolean;
  /** Largest g the expression holds for (a smallint overflows past it). */
  limit?: number;
  /** The expression repeats with this period (distinct values it takes), when it cycles. */
  period?: number;
}

/**
 * Generated integer keys start past this, so a hand-written fixture's ids (1, 2, 3...) stay free.
 * Smallint keys get the smaller one: their whole domain is 32,767.
 */
export const KEY_OFFSET = 1_000_000;
export const SMALL_KEY_OFFSET = 1_000;
const INT_MAX: Record<string, number> = { int2: 32767, int4: 2147483647, int8: Number.MAX_SAFE_INTEGER };

export const int = (n: number): string => (n < 0 ? `(${n})` : String(n));

/** Text value for a string column, by column name, shortened to the length limit. */
function textValue(ctx: ValueContext, limit: number | undefined): Value {
  const G = ctx.row ?? SERIES_ROW;
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
  const width = ctx.width === undefined ? undefined : Math.min(ctx.width, limit ?? Infinity);
  if (width !== undefined && width < len && unique) {
    // Production's values are shorter than the named form: the bare number in hex, still one per row.
    const hex = ctx.end.toString(16).length;
    if (hex <= width) {
      sql = `to_hex(${G})`;
      len = hex;
    }
  }
  // Padded after the part that varies, so distinct values stay distinct; len is the longest that
  // part gets, so the value stays within the width. A constant suffix costs nothing per row.
  if (width !== undefined && width > len) sql = `${sql} || '${'x'.repeat(width - len)}'`;
  return { sql, unique };
}

export interface Bounds {
  lo?: number;
  hi?: number;
}

/**
 * Integer expression honouring CHECK bounds, or undefined when there are none. `offset` moves a
 * key's values past a fixture's range where the bounds leave room; `max` is the type's largest value.
 */
function boundedInt(b: Bounds | undefined, offset: number, max: number, G = SERIES_ROW): Value | undefined {
  if (!b) return undefined;
  const { lo, hi } = b;
  if (lo !== undefined && hi !== undefined) {
    if (hi < lo) return undefined;
    const span = hi - lo + 1;
    return span === 1 ? { sql: int(lo), unique: false, period: 1 } : { sql: `(${int(lo)} + ((${G} - 1) % ${span}))`, unique: false, period: span };
  }
  if (lo !== undefined) {
    const first = Math.max(lo, offset + 1);
    return { sql: first > 1 ? `(${G} + ${int(first - 1)})` : G, unique: true, limit: Math.max(0, max - first + 1) };
  }
  if (hi !== undefined) {
    if (hi >= 1) return { sql: `(((${G} - 1) % ${hi}) + 1)`, unique: false, period: hi };
    return { sql: `(${int(hi)} - ((${G} - 1) % 1000))`, unique: false, period: 1000 };
  }
  return undefined;
}

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'citext']);

/**
 * Expression of type `fmt` (a pg_type, formatted with its typmod) for row number g; undefined when
 * the type is not known.
 */
export function valueFor(types: Map<number, CatalogType>, typid: number, fmt: string, ctx: ValueContext, depth = 0): Value | undefined {
  const t = types.get(typid);
  if (!t || depth > 10) return undefined;
  const G = ctx.row ?? SERIES_ROW;
  const cast = (sql: string, unique: boolean, shape: Pick<Value, 'limit' | 'period'> = {}): Value => ({ sql: `(${sql})::${fmt}`, unique, ...shape });
  const shaped = (v: Value): Value => cast(v.sql, v.unique, { ...(v.limit !== undefined ? { limit: v.limit } : {}), ...(v.period !== undefined ? { period: v.period } : {}) });

  if (t.typtype === 'd') {
    const inner = valueFor(types, t.base, t.baseFmt ?? 'text', ctx, depth + 1);
    return inner && shaped(inner);
  }
  if (t.category === 'A' && t.elem !== 0) {
    const elemFmt = fmt.endsWith('[]') ? fmt.slice(0, -2) : undefined;
    const et = types.get(t.elem);
    if (!elemFmt || !et) return undefined;
    const inner = valueFor(types, t.elem, elemFmt, ctx, depth + 1);
    return inner && { ...inner, sql: `ARRAY[${inner.sql}]::${fmt}` };
  }
  if (t.typtype === 'e') {
    const labels = t.labels ?? [];
    if (labels.length === 0) return undefined;
    const arr = `ARRAY[${labels.map(quoteLiteral).join(', ')}]`;
    return cast(`(${arr})[((${G} - 1) % ${labels.length}) + 1]`, false, { period: labels.length });
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
      const b = boundedInt(ctx.bounds, u ? SMALL_KEY_OFFSET : 0, INT_MAX.int2!, G);
      if (b) return shaped(b);
      return u
        ? cast(`${G} + ${SMALL_KEY_OFFSET}`, true, { limit: INT_MAX.int2! - SMALL_KEY_OFFSET })
        : cast(`((${G} - 1) % 32000) + 1`, false, { period: 32000 });
    }
    case 'int4':
    case 'int8': {
      const b = boundedInt(ctx.bounds, u ? KEY_OFFSET : 0, INT_MAX[name]!, G);
      if (b) return shaped(b);
      // A key, or a column named like a reference to one: past the fixture range, as the keys it may join.
      return u || /(^|_)id$/i.test(ctx.column) ? cast(`${G} + ${KEY_OFFSET}`, true) : cast(G, true);
    }
    case 'float4':
    case 'float8': {
      const b = boundedInt(ctx.bounds, 0, Number.MAX_SAFE_INTEGER, G);
      return b ? shaped(b) : cast(`${G} * 1.5`, true);
    }
    case 'numeric': {
      const b = boundedInt(ctx.bounds, 0, Number.MAX_SAFE_INTEGER, G);
      if (b) return shaped(b);
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
      return cast(`${G} % 2 = 0`, false, { period: 2 });
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
      if (ctx.width !== undefined && ctx.width > 16) {
        return cast(`substring(decode(repeat(md5(${G}::text), ${Math.ceil(ctx.width / 16)}), 'hex') from 1 for ${Math.round(ctx.width)})`, true);
      }
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
