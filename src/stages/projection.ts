/**
 * Projecting a statement's measured time to production size.
 *
 * A statement that only changes the catalog keeps its measured time however big production is.
 * One that works per row (a rewrite was observed, or it builds an index, updates, validates...)
 * is fitted as `fixed + perRow * rows` from its times at two table sizes, or projected in
 * proportion to the rows when it was timed at one size only. Code the parse tree cannot see
 * into (a function call) is fitted when its time clearly grew between the two sizes.
 */

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
