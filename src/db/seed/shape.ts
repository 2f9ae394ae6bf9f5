/**
 * Production's shape of a column, at the seeded volume: the generated rows take production's
 * NULL fraction, number of distinct values, average width and, when the statistics file holds
 * them, its most common values at their frequencies and values within its histogram's range.
 *
 * Everything stays one SQL expression over the row number g. Each column walks the rows in its
 * own order (p, a permutation of 0..end-1), and cuts that order into runs: the NULLs first, then
 * each common value's share, then the rest, which cycles over the remaining distinct values.
 * The counts are exact at the seeded volume and the runs are scattered over the table, as
 * production's values are. Constraints are the caller's to keep: it asks for the shape only of
 * what a constraint leaves free (no NULLs under NOT NULL, no repeats in a unique key).
 */
import type { ColumnStats } from '../../production-stats.js';
import { quoteLiteral } from '../quote.js';
import { G } from './values.js';

/** What production knows about one table, for the fill. */
export interface TableShape {
  /** pg_class.reltuples of production (-1 when unknown). */
  rows: number;
  columns: Map<string, ColumnStats>;
}

/** What the column's constraints leave to the statistics. */
export interface ShapeFreedom {
  /** The column may be NULL (no NOT NULL, not a key). */
  nulls: boolean;
  /** Its values may repeat and be production's own (not in a unique key, no CHECK the plan follows, no shared key space). */
  values: boolean;
}

export interface ColumnShape {
  /** True for the rows that are NULL, when there are any. */
  nullWhen?: string;
  /** The row expression (1..restMax) that gives the column's other values. */
  restRow?: string;
  /** Largest value of restRow: how long the generated values get. */
  restMax?: number;
  /** The common values as a literal array of the column's type, and the CASE that picks them. */
  pick?: (rest: string) => string;
  /** Characters of the values that are not common ones. */
  width?: number;
  /** Expression of the rest value within the histogram's range, for numbers and times. */
  ranged?: (row: string) => string | undefined;
}

/** Primes for the per-column orders; one that divides the row count is skipped. */
const STRIDES = [1_000_003, 999_983, 1_000_033, 999_979, 1_000_037, 999_961, 1_000_039, 999_959, 1_000_081, 999_953];

/** Bytes a short value's header takes in pg_stats.avg_width (one until 126 bytes, four past it). */
const header = (width: number): number => (width > 127 ? 4 : 1);

const RANGED = new Map<string, 'int' | 'float' | 'date' | 'time'>([
  ['smallint', 'int'], ['integer', 'int'], ['bigint', 'int'],
  ['real', 'float'], ['double precision', 'float'], ['numeric', 'float'],
  ['date', 'date'],
  ['timestamp without time zone', 'time'], ['timestamp with time zone', 'time'],
]);

/**
 * The shape of column `c` of type `fmt` over `end` generated rows. `ordinal` makes each column's
 * order its own; `limit` is a varchar(n) or char(n) length.
 */
export function columnShape(
  stats: ColumnStats,
  prodRows: number,
  fmt: string,
  end: number,
  ordinal: number,
  freedom: ShapeFreedom,
  limit?: number,
): ColumnShape | undefined {
  if (end <= 0 || stats.type !== fmt) return undefined;
  let stride = STRIDES[ordinal % STRIDES.length]!;
  for (let i = 1; end % stride === 0; i++) stride = STRIDES[(ordinal + i) % STRIDES.length]!;
  const p = `(((${G}::int8 - 1) * ${stride} + ${(ordinal * 7919) % end}) % ${end})`;

  const nullCount = freedom.nulls ? Math.min(end, Math.round(stats.nullFrac * end)) : 0;
  const nonNull = end - nullCount;
  const out: ColumnShape = {};
  if (nullCount > 0) out.nullWhen = `${p} < ${nullCount}`;

  const mcv = freedom.values ? (stats.mostCommonValues ?? []) : [];
  const counts = mcv.map((_, i) => Math.round((stats.mostCommonFreqs?.[i] ?? 0) * end));
  // Rounding must not give the common values more rows than there are.
  let room = nonNull;
  for (let i = 0; i < counts.length; i++) {
    counts[i] = Math.min(counts[i]!, room);
    room -= counts[i]!;
  }
  const kept = mcv.map((value, i) => ({ value, count: counts[i]! })).filter((m) => m.count > 0);
  const commonRows = kept.reduce((n, m) => n + m.count, 0);
  const restRows = nonNull - commonRows;

  // Average width of the other values, so the column's average is production's. pg_stats
  // truncates the average to whole bytes: the mean lies half a byte above it.
  if (stats.avgWidth > 0) {
    const mean = stats.avgWidth + 0.5;
    const commonBytes = kept.reduce((n, m) => n + m.count * (Buffer.byteLength(m.value) + header(Buffer.byteLength(m.value))), 0);
    const restBytes = restRows > 0 ? (mean * nonNull - commonBytes) / restRows : mean;
    const chars = Math.round(restBytes - header(restBytes));
    out.width = Math.max(1, Math.min(chars, limit ?? Infinity));
  }
  if (!freedom.values) return out;

  const distinct = distinctAt(stats, prodRows, end, nonNull);
  const restDistinct = Math.max(0, Math.min(restRows, distinct - kept.length));
  const start = nullCount + commonRows;
  const bounds = stats.histogramBounds ?? [];
  const kind = RANGED.get(fmt.replace(/\(.*\)$/, ''));
  const ranged = kind !== undefined && bounds.length >= 2;
  if (restRows > 0 && restDistinct > 0 && (restDistinct < restRows || kept.length > 0 || ranged)) {
    out.restRow = `(((${p} - ${start}) % ${restDistinct}) + 1)`;
    out.restMax = restDistinct;
  }
  if (kept.length > 0) {
    const values = `(ARRAY[${kept.map((m) => quoteLiteral(m.value)).join(', ')}]::${fmt}[])`;
    const thresholds: number[] = [];
    let at = nullCount;
    for (const m of kept) {
      at += m.count;
      thresholds.push(at);
    }
    // width_bucket over the running counts: 0 is the first common value's run, kept.length the rest.
    const bucket = `width_bucket(${p}, ARRAY[${[nullCount, ...thresholds].join(', ')}]::int8[])`;
    // Past the last common value the subscript is NULL and the rest takes over: one width_bucket per row.
    out.pick = (rest) =>
      restRows > 0 && restDistinct > 0 ? `coalesce(${values}[${bucket}], ${rest})` : `${values}[least(${bucket}, ${kept.length})]`;
  }
  if (kind && ranged && restDistinct > 0) {
    const lo = quoteLiteral(bounds[0]!);
    const hi = quoteLiteral(bounds[bounds.length - 1]!);
    const steps = Math.max(1, restDistinct - 1);
    out.ranged = (row) => {
      const k = `((${row}) - 1)`;
      switch (kind) {
        case 'int': {
          const [first, last] = [Number(bounds[0]), Number(bounds[bounds.length - 1])];
          // In int8 while the product stays exact; numeric past that.
          if (Number.isSafeInteger(first) && Number.isSafeInteger(last) && Math.abs((last - first) * steps) < 2 ** 53) {
            return `(${first} + (${k}::int8 * ${last - first}) / ${steps})::${fmt}`;
          }
          return `(${lo}::numeric + floor(${k}::numeric * (${hi}::numeric - ${lo}::numeric) / ${steps}))::${fmt}`;
        }
        case 'float':
          return `(${lo}::float8 + ${k}::float8 * ((${hi}::float8 - ${lo}::float8) / ${steps}))::${fmt}`;
        case 'date':
          return `(${lo}::date + (${k}::int8 * (${hi}::date - ${lo}::date) / ${steps})::int4)::${fmt}`;
        case 'time': {
          // Seconds since the epoch, folded to constants at plan time: to_timestamp per row, no interval arithmetic.
          const base = fmt.startsWith('timestamp with') ? 'timestamptz' : 'timestamp';
          const epoch = (v: string) => `extract(epoch from (${v}::${base} - 'epoch'::${base}))::float8`;
          const at = `to_timestamp(${epoch(lo)} + ${k}::float8 * ((${epoch(hi)} - ${epoch(lo)}) / ${steps}))`;
          return `(${base === 'timestamptz' ? at : `${at} AT TIME ZONE 'UTC'`})::${fmt}`;
        }
      }
    };
  }
  return out;
}

/**
 * Distinct non-NULL values at the seeded volume. A negative n_distinct is a fraction of the rows
 * and scales with them; a positive one is a count ANALYZE expects to stay as it is, kept when the
 * generated rows can hold it, and scaled to the same share of the rows when they cannot.
 */
export function distinctAt(stats: ColumnStats, prodRows: number, end: number, nonNull: number): number {
  const nd = stats.nDistinct;
  if (nonNull <= 0) return 0;
  if (nd === 0) return nonNull; // unknown: as unique as the generator makes it
  if (nd < 0) return Math.max(1, Math.min(nonNull, Math.round(-nd * end)));
  const prodNonNull = prodRows > 0 ? prodRows * (1 - stats.nullFrac) : 0;
  if (prodNonNull > 0 && nd >= 0.99 * prodNonNull) return nonNull;
  if (nd <= nonNull) return Math.max(1, Math.round(nd));
  return prodNonNull > 0 ? Math.max(1, Math.min(nonNull, Math.round((nonNull * nd) / prodNonNull))) : nonNull;
}
