/**
 * Projecting a statement's measured time to production size.
 *
 * With two measurements of the same statement at two table sizes, the time is fitted as
 * `fixed + perRow * rows`: a statement whose time did not grow with the rows (a catalog-only
 * ALTER, a COMMENT) stays at its measured time however big production is. With one measurement,
 * a statement that does work per row (a rewrite was observed, or it builds an index, updates,
 * validates...) is projected in proportion to the rows, and any other keeps its time.
 */

export interface Timing {
  ms: number;
  /** Rows of the table the statement works on when it was timed. */
  rows: number;
}

/** Below this growth between the two sizes, the difference is noise, not work per row. */
const MIN_GROWTH_MS = 1;
const MIN_GROWTH_RATIO = 1.5;
/**
 * A statement that is not known to work per row must take at least this long before its growth
 * counts: a catalog-only change takes a fraction of a millisecond, and a hiccup of the machine
 * must not turn it into minutes at production size.
 */
const MIN_UNEXPECTED_MS = 5;

/**
 * Time at `targetRows` rows from the timing at `full` rows and, when there is one, at `small`
 * rows. `scalesWithRows`: the statement is known to do work per row (it rewrote a table, or it
 * builds an index, updates, validates...).
 */
export function projectDuration(full: Timing, small: Timing | undefined, targetRows: number, scalesWithRows: boolean): number {
  if (full.rows <= 0) return full.ms;
  if (small !== undefined && small.rows > 0 && small.rows < full.rows) {
    const growth = full.ms - small.ms;
    const grows = growth >= MIN_GROWTH_MS && full.ms >= MIN_GROWTH_RATIO * small.ms;
    if (grows && (scalesWithRows || full.ms >= MIN_UNEXPECTED_MS)) {
      const perRow = growth / (full.rows - small.rows);
      return Math.max(0, full.ms + perRow * (targetRows - full.rows));
    }
    if (!scalesWithRows) return full.ms;
  }
  // One size only, or a statement known to scan whose fixed cost hid the growth: in proportion to the rows.
  return scalesWithRows ? (full.ms * targetRows) / full.rows : full.ms;
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
