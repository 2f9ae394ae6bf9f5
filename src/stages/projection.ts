/**
 * Projecting a statement's measured time to production size.
 *
 * Production's size is its rows and its bytes. Work that reads or writes the whole table (a
 * rewrite, an index build) scales with the table's bytes: it is projected through the ratio of
 * production's size (the production-stats file) to the seeded table's, where both are known.
 * Other work per row scales with the rows (production-rows, or the file's row counts).
 *
 * A statement that only changes the catalog keeps its measured time however big production is.
 * One that works per row (a rewrite was observed, or it builds an index, updates, validates...)
 * is fitted as `fixed + perRow * rows` from its times at two table sizes, or projected in
 * proportion to the rows when it was timed at one size only. Code the parse tree cannot see
 * into (a function call) is fitted when its time clearly grew between the two sizes.
 */

import { findTable, type ProductionStats } from '../production-stats.js';
import type { WorkKind } from '../sql/locks.js';

export interface Timing {
  ms: number;
  /** Rows of the table the statement works on when it was timed. */
  rows: number;
}

/** Below this growth between the two sizes, the difference is noise, not work per row. */
const MIN_GROWTH_MS = 1;
const MIN_GROWTH_RATIO = 1.5;
/**
 * Code the parse tree does not show (a function call) must take at least this long before its
 * growth counts: a hiccup of the machine must not turn a trivial call into minutes at production size.
 */
const MIN_UNKNOWN_MS = 5;

/**
 * Time at `targetRows` rows from the timing at `full` rows and, when there is one, at `small`
 * rows. A `fixed` statement (catalog only, no rewrite seen) keeps its time.
 */
export function projectDuration(full: Timing, small: Timing | undefined, targetRows: number, work: WorkKind): number {
  if (full.rows <= 0 || work === 'fixed') return full.ms;
  if (small !== undefined && small.rows > 0 && small.rows < full.rows) {
    const growth = full.ms - small.ms;
    const grows = growth >= MIN_GROWTH_MS && full.ms >= MIN_GROWTH_RATIO * small.ms;
    if (grows && (work === 'per-row' || full.ms >= MIN_UNKNOWN_MS)) {
      const perRow = growth / (full.rows - small.rows);
      return Math.max(0, full.ms + perRow * (targetRows - full.rows));
    }
  }
  // One size only, or fixed costs hid the growth: work per row grows with the rows, unknown work is left as measured.
  return work === 'per-row' ? (full.ms * targetRows) / full.rows : full.ms;
}

/** Production row count for a table ("users", "billing.invoices"), matching names as people write them. */
export function productionRowsOf(productionRows: ReadonlyMap<string, number>, display: string): number | undefined {
  const direct = productionRows.get(display) ?? productionRows.get(`public.${display}`);
  if (direct !== undefined) return direct;
  const lower = display.toLowerCase();
  for (const [name, rows] of productionRows) {
    const key = name.toLowerCase();
    if (key === lower || key === `public.${lower}`) return rows;
  }
  return undefined;
}

/**
 * Production's bytes of a table (pg_total_relation_size, or its pages and indexes when the file
 * has no total), at `targetRows` rows: production-rows naming another count than the file scales
 * the file's bytes per row to it.
 */
export function productionBytesOf(stats: ProductionStats | undefined, display: string, targetRows: number): number | undefined {
  const t = stats ? findTable(stats, display) : undefined;
  if (!t) return undefined;
  const bytes = t.totalBytes > 0 ? t.totalBytes : t.pages * 8192 + t.indexes.reduce((n, i) => n + i.bytes, 0);
  if (bytes <= 0) return undefined;
  const fileRows = Math.round(t.rows);
  return fileRows > 0 && targetRows !== fileRows ? (bytes / fileRows) * targetRows : bytes;
}

/**
 * How many times production is bigger than the measured table for this statement's work: by
 * bytes for whole-table work when both sizes are known, by rows otherwise.
 */
export function productionScale(measuredRows: number, targetRows: number, size: { seededBytes?: number; productionBytes?: number; wholeTable: boolean }): { scale: number; byBytes: boolean } {
  if (size.wholeTable && size.seededBytes !== undefined && size.seededBytes > 0 && size.productionBytes !== undefined) {
    return { scale: size.productionBytes / size.seededBytes, byBytes: true };
  }
  return { scale: targetRows / measuredRows, byBytes: false };
}
