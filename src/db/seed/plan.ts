/** Per-table plan: where each column's value comes from, and the order tables are filled in. */
import type { Catalog, CatalogColumn, CatalogTable, CatalogType, ForeignKey } from './catalog.js';
import { parseBoundsCheck, parseInListCheck } from './checks.js';
import { quoteLiteral } from '../quote.js';
import type { SharedKeys } from './joins.js';
import { columnShape, type ShapeFreedom, type TableShape } from './shape.js';
import { G, KEY_OFFSET, typmodArgs, valueFor, type Bounds } from './values.js';

export type ColumnPlan =
  | { kind: 'value'; col: CatalogColumn; sql: string; unique: boolean; nullable: boolean; key: boolean; limit?: number; period?: number; shaped?: string }
  | { kind: 'fk'; col: CatalogColumn; fk: number; index: number; nullWhen?: string }
  | { kind: 'null'; col: CatalogColumn };

export type FkMode = 'join' | 'unique' | 'radix';

export interface FkJoin {
  fk: ForeignKey;
  mode: FkMode;
  /** For 'radix': the aliases of the foreign keys before this one in the same unique key. */
  radixBefore: number[];
}

export interface TablePlan {
  table: CatalogTable;
  columns: ColumnPlan[];
  joins: FkJoin[];
  /** Set when the table cannot be filled at all; the reason is the notice. */
  impossible?: string;
  /** The most rows the table's types and unique keys leave room for, when that is finite. */
  cap?: { rows: number; reason: string };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Rows the planned values can fill before a type overflows or a unique key over a small domain repeats. */
function capOf(columns: ColumnPlan[], keySets: number[][]): TablePlan['cap'] {
  let cap: TablePlan['cap'];
  const lower = (rows: number, reason: string): void => {
    if (cap === undefined || rows < cap.rows) cap = { rows, reason };
  };
  for (const p of columns) {
    if (p.kind === 'value' && p.limit !== undefined) lower(p.limit, `${p.col.name} (${p.col.fmt}) holds ${p.limit} generated values`);
  }
  for (const key of keySets) {
    const parts = key.map((n) => columns.find((p) => p.col.attnum === n));
    // Omitted (sequence, default) or NULL key columns, and keys through foreign keys, are not bounded here.
    if (parts.some((p) => p === undefined || p.kind !== 'value' || p.unique || p.period === undefined)) continue;
    let rows = 1;
    for (const p of parts) {
      const period = (p as { period: number }).period;
      rows = (rows / gcd(rows, period)) * period;
    }
    const names = parts.map((p) => p!.col.name).join(', ');
    lower(rows, `unique (${names}) has room for ${rows} distinct value${rows === 1 ? '' : 's'}`);
  }
  return cap;
}

export function isSequenceDefault(col: CatalogColumn): boolean {
  return col.identity === 'd' || (col.defaultExpr !== null && /^nextval\(/i.test(col.defaultExpr));
}

export function columnNotNull(types: Map<number, CatalogType>, col: CatalogColumn): boolean {
  if (col.notNull) return true;
  let t = types.get(col.typid);
  for (let i = 0; t && t.typtype === 'd' && i < 10; i++) {
    if (t.notNull) return true;
    t = types.get(t.base);
  }
  return false;
}

export interface PlanInput {
  catalog: Catalog;
  table: CatalogTable;
  /** Rows each relation holds right now (tables filled earlier in this run included). */
  rowsOf: (oid: number) => number;
  end: number;
  /** Columns that take one key space's values row by row (the migration joins them). */
  shared?: SharedKeys;
  /** Production's statistics of this table: the columns take its shape where constraints leave them free. */
  shape?: TableShape;
}

/** A key space's value for row g in a column of this type: the same for every column of the space. */
function sharedValue(catalog: Catalog, c: CatalogColumn, space: string): string | undefined {
  let t = catalog.types.get(c.typid);
  for (let i = 0; t && t.typtype === 'd' && i < 10; i++) t = catalog.types.get(t.base);
  if (!t || t.schema !== 'pg_catalog') return undefined;
  if (t.name === 'int4' || t.name === 'int8') return `(${G} + ${KEY_OFFSET})::${c.fmt}`;
  if (t.name === 'uuid') return `md5(${quoteLiteral(`${space}:`)} || ${G})::uuid::${c.fmt}`;
  if (t.name === 'text' || t.name === 'varchar' || t.name === 'citext') return `('k' || ${G})::${c.fmt}`;
  return undefined;
}

export function planTable({ catalog, table, rowsOf, end, shared, shape }: PlanInput): TablePlan {
  const { types } = catalog;
  const byNum = new Map(table.columns.map((c) => [c.attnum, c]));
  const keySets = (catalog.uniques.get(table.oid) ?? []).filter((k) => k.every((n) => byNum.has(n)));
  const keyCols = new Set(keySets.flat());
  const seedKeyOf = (c: CatalogColumn): string => `${table.schema}.${table.name}.${c.name}`;

  const statsOf = (c: CatalogColumn) => {
    const s = shape?.columns.get(c.name);
    return s !== undefined && s.type === c.fmt ? s : undefined;
  };
  // Omitted columns: generated, identity, and defaults (unless a non-sequence default on a key, or production's shape is known).
  const omitted = new Set<number>();
  /** Columns with a default that take production's shape instead, when there is one to take. */
  const defaultUnlessShaped = new Set<number>();
  for (const c of table.columns) {
    if (c.generated !== '' || c.identity === 'a') omitted.add(c.attnum);
    else if (isSequenceDefault(c)) omitted.add(c.attnum);
    else if (c.defaultExpr !== null && !keyCols.has(c.attnum)) (statsOf(c) === undefined ? omitted : defaultUnlessShaped).add(c.attnum);
  }
  /** Production's shape of a column, within what its constraints leave free. */
  const shapeOf = (c: CatalogColumn, freedom: ShapeFreedom) => {
    const s = statsOf(c);
    if (!s || !shape) return undefined;
    const limit = /^(character varying|character)\(/.test(c.fmt) ? typmodArgs(c.fmt)[0] : undefined;
    return columnShape(s, shape.rows, c.fmt, end, c.attnum, freedom, limit);
  };
  // A unique key holds any number of NULLs, unless its index says NULLS NOT DISTINCT.
  const mayBeNull = (c: CatalogColumn): boolean =>
    !columnNotNull(types, c) && !catalog.nullsNotDistinct?.has(`${table.oid}:${c.attnum}`);
  const withNulls = (sql: string, nullWhen: string | undefined, fmt: string): string =>
    nullWhen === undefined ? sql : `CASE WHEN ${nullWhen} THEN NULL::${fmt} ELSE ${sql} END`;

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
    const space = shared?.get(table.oid)?.get(c.attnum);
    const spaced = space !== undefined ? sharedValue(catalog, c, space) : undefined;
    if (spaced !== undefined) return { kind: 'value', col: c, sql: spaced, unique: true, nullable, key };
    const list = inLists.get(c.attnum);
    if (list) {
      const sql = `(${list.array})[((${G} - 1) % ${list.length}) + 1]::${c.fmt}`;
      // The CHECK's values win over production's; only its NULLs are taken.
      const s = shapeOf(c, { nulls: mayBeNull(c), values: false });
      return { kind: 'value', col: c, sql, unique: false, nullable, key, period: list.length, ...(s?.nullWhen ? { shaped: withNulls(sql, s.nullWhen, c.fmt) } : {}) };
    }
    const checked = bounds.get(c.attnum);
    const ctx = { column: c.name, seedKey: seedKeyOf(c), unique: key, end, bounds: checked };
    const v = valueFor(types, c.typid, c.fmt, ctx);
    if (v) {
      const s = shapeOf(c, { nulls: mayBeNull(c), values: !key && checked === undefined });
      let shaped: string | undefined;
      if (s) {
        const row = s.restRow;
        const rest = (row !== undefined ? s.ranged?.(row) : undefined) ?? valueFor(types, c.typid, c.fmt, { ...ctx, ...(row !== undefined ? { row, end: s.restMax ?? end } : {}), ...(s.width !== undefined ? { width: s.width } : {}) })?.sql;
        if (rest !== undefined) shaped = withNulls(s.pick ? s.pick(rest) : rest, s.nullWhen, c.fmt);
      }
      return {
        kind: 'value', col: c, sql: v.sql, unique: v.unique, nullable, key,
        ...(v.limit !== undefined ? { limit: v.limit } : {}),
        ...(v.period !== undefined ? { period: v.period } : {}),
        ...(shaped !== undefined && shaped !== v.sql ? { shaped } : {}),
      };
    }
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
    if (self && !required && parentRows === 0) {
      for (const c of free) plans.set(c.attnum, { kind: 'null', col: c });
      continue;
    }
    // An undeclared relation the migration joins on: with no parent rows yet, the column takes its own values.
    if (fk.virtual && parentRows === 0) continue;
    if (parentRows === 0) {
      if (self) {
        // Each new row references itself when the referenced columns get generated values.
        const refs = fk.parentCols.map((name) => table.columns.find((c) => c.name === name));
        if (refs.every((r) => r && !omitted.has(r.attnum) && !fk.cols.includes(r.attnum))) {
          fk.cols.forEach((n, i) => {
            const c = byNum.get(n)!;
            if (plans.has(n)) return;
            const ref = plain(refs[i]!);
            if (ref.kind !== 'value') return;
            const { shaped, ...same } = ref;
            plans.set(n, { ...same, col: c, sql: `(${ref.sql})::${c.fmt}`, ...(shaped !== undefined ? { shaped: `(${shaped})::${c.fmt}` } : {}) });
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
      if (plans.has(n)) return;
      const c = byNum.get(n)!;
      // A declared single-column reference may be NULL as often as in production; its values stay the
      // parent's. A join the migration writes keeps its key space whole.
      const s = fk.cols.length === 1 && !fk.virtual ? shapeOf(c, { nulls: mayBeNull(c), values: false }) : undefined;
      plans.set(n, { kind: 'fk', col: c, fk: index, index: i, ...(s?.nullWhen ? { nullWhen: s.nullWhen } : {}) });
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
    const planned = plain(c);
    if (defaultUnlessShaped.has(c.attnum) && !(planned.kind === 'value' && planned.shaped !== undefined)) continue;
    columns.push(planned);
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

  const cap = capOf(columns, keySets);
  return { table, columns, joins, ...(impossible !== undefined ? { impossible } : {}), ...(cap ? { cap } : {}) };
}

/**
 * The one INSERT ... SELECT ... generate_series statement for a plan.
 *
 * Foreign-key values come from the parent's rows numbered 1..n, row g taking parent row
 * ((g - 1) % n) + 1. When every referenced column has a fixed-length type (integers, uuid, dates...),
 * the parent's keys are collected once into arrays and subscripted per row: no join, O(1) per row.
 * Otherwise the numbered parent rows are joined on their row number.

/** Parents before children; in a cycle, the table with fewest NOT NULL edges into it goes first. */
export function fillOrder(catalog: Catalog, oids: number[]): number[] {
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
