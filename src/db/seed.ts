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
import { quoteQualified } from './quote.js';
import { countRows, displayName, readCatalog, type CatalogTable } from './seed/catalog.js';
import { buildInsert, canNullRetry } from './seed/insert.js';
import { fillOrder, planTable } from './seed/plan.js';
import { runGuarded } from './seed/run.js';

export { parseBoundsCheck, parseInListCheck } from './seed/checks.js';

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
