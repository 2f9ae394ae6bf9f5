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
import { isBookkeepingTable, type Bookkeeping } from './bookkeeping.js';
import { quoteQualified } from './quote.js';
import { countRows, displayName, readCatalog, type CatalogTable } from './seed/catalog.js';
import { buildInsert, canNullRetry, isShaped } from './seed/insert.js';
import { applyJoinHints, type JoinHint } from './seed/joins.js';
import { fillOrder, planTable, type TablePlan } from './seed/plan.js';
import type { TableShape } from './seed/shape.js';
import { findTable, type ProductionStats } from '../production-stats.js';
import { suppressUserCode } from './seed/replica.js';
import { guarded, runGuarded } from './seed/run.js';
import { makeRoomForFixtureKeys, resetSequences } from './seed/sequences.js';

export { parseBoundsCheck, parseInListCheck } from './seed/checks.js';
export type { JoinHint } from './seed/joins.js';
export { suppressUserCode, type UserCodeSuppression } from './seed/replica.js';
export { resetSequences, type SequenceReset } from './seed/sequences.js';

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
  /**
   * Column equalities the migration writes (src/sql/joins.ts): the generated rows follow them, so
   * its backfills and joins find partners also where no foreign key declares the relation.
   */
  joins?: JoinHint[];
  /**
   * Production's statistics (`production-stats`): each column takes production's NULL fraction,
   * distinct values, widths and, when the file has them, common values and range, as far as the
   * schema's constraints allow. A fill the shaped values make fail is done again without them.
   */
  stats?: ProductionStats;
  /** Told each selected table's rows ("schema.table", schema omitted when "public") once counted, and again as each table is filled: for a progress line. */
  onRows?: (table: string, rows: number) => void;
  /** The migration tool's own tables, never filled (every known tool's when not given). */
  bookkeeping?: Bookkeeping;
  /**
   * Let the tables' triggers, rules and foreign-key checks run as on any application insert,
   * instead of turning them off: for timing what they cost (the write cost), in a transaction
   * the caller rolls back. Default false.
   */
  asApplication?: boolean;
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

export interface TableFill {
  /** "schema.table", schema omitted when "public". */
  table: string;
  /** Rows asked for. */
  target: number;
  /** Rows the table holds after the fill. */
  rows: number;
  /** Why it holds fewer than asked, when it does. */
  reason?: string;
}

export interface SeedOutcome {
  /** Tables that received rows, in the order they were filled (parents before children). */
  seeded: SeededTable[];
  notices: SeedNotice[];
  /** Every table the fill worked on (below the target before it), with the rows it holds now. */
  tables: TableFill[];
  /** Set when user triggers and rules fired on the generated rows: why they could not be turned off. */
  userCodeFires?: string;
  /** Tables filled in production's shape. */
  shaped?: string[];
}

function matches(t: CatalogTable, wanted: string): boolean {
  return wanted === `${t.schema}.${t.name}` || wanted === t.name;
}

export async function seedTables(client: pg.ClientBase, opts: SeedOptions): Promise<SeedOutcome> {
  if (!Number.isFinite(opts.rows) || opts.rows < 0) throw new RangeError(`rows must be a non-negative number, got ${opts.rows}`);
  const target = Math.floor(opts.rows);
  const outcome: SeedOutcome = { seeded: [], notices: [], tables: [] };
  // Asked for a few tables: only they, the tables their migration joins and what they reach are read.
  const declared = await readCatalog(client, opts.tables && [...opts.tables, ...(opts.joins ?? []).flatMap((j) => [j.left.table, j.right.table])]);
  // A migration tool would take generated rows in its bookkeeping table for migrations it has run.
  const all = [...declared.tables.values()].filter((t) => !isBookkeepingTable(t.schema, t.name, opts.bookkeeping));
  const tableOf = (name: string): CatalogTable | undefined =>
    all.find((t) => matches(t, name)) ?? all.find((t) => matches(t, name.toLowerCase()));
  const { catalog, shared } = applyJoinHints(declared, opts.joins ?? [], tableOf);

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
  for (const t of selected) opts.onRows?.(displayName(t.schema, t.name), rowsOf(t.oid));

  // What gets filled: selected tables below the target, and their empty parents (transitively).
  const fill = new Set<number>();
  const visit = (oid: number): void => {
    if (fill.has(oid)) return;
    fill.add(oid);
    for (const fk of catalog.fks.get(oid) ?? []) {
      if (!fk.virtual && fk.parent !== oid && catalog.tables.has(fk.parent) && rowsOf(fk.parent) === 0) visit(fk.parent);
    }
  };
  for (const t of selected) if (rowsOf(t.oid) < target) visit(t.oid);

  const inTransaction = opts.inTransaction === true;
  const order = fillOrder(catalog, [...fill]);
  if (order.length === 0) return outcome;
  const userCode = opts.asApplication
    ? { suppressed: false, restore: async () => {} }
    : await suppressUserCode(client, inTransaction);
  if (!userCode.suppressed && !opts.asApplication) outcome.userCodeFires = userCode.reason;
  const filled: CatalogTable[] = [];
  try {
    const room = await guarded(client, inTransaction, () => makeRoomForFixtureKeys(client, order, target));
    if (!room.ok) outcome.notices.push({ table: '', message: `sequences could not be moved past fixture keys: ${room.message}` });
    for (const oid of order) {
      const table = catalog.tables.get(oid)!;
      const name = displayName(table.schema, table.name);
      const failed = (why: string): void => {
        outcome.notices.push({ table: name, message: `table ${table.schema}.${table.name} could not be filled: ${why}` });
      };
      const before = rowsOf(oid);
      if (before >= target) continue;
      const record = (reason?: string): void => {
        outcome.tables.push({ table: name, target, rows: rowsOf(oid), ...(reason !== undefined ? { reason } : {}) });
        opts.onRows?.(name, rowsOf(oid));
      };
      const shape = shapeOf(opts.stats, table);
      const plan = planTable({ catalog, table, rowsOf, end: target, shared, ...(shape ? { shape } : {}) });
      if (plan.impossible !== undefined) {
        failed(plan.impossible);
        record(plan.impossible);
        continue;
      }
      const end = plan.cap ? Math.min(target, plan.cap.rows) : target;
      if (end <= before) {
        failed(plan.cap!.reason);
        record(plan.cap!.reason);
        continue;
      }
      // A self-reference makes a shallow tree: the first tenth are roots, the rest their children.
      const selfRef = (catalog.fks.get(oid) ?? []).some((fk) => fk.parent === oid);
      const ranges: Array<[number, number]> =
        selfRef && before === 0 && end - before >= 2
          ? [[before + 1, before + Math.ceil((end - before) / 10)], [before + Math.ceil((end - before) / 10) + 1, end]]
          : [[before + 1, end]];
      let lastError: string | undefined;
      let lastCode: string | undefined;
      for (const [start, stop] of ranges) {
        const rangePlan = start === before + 1 ? plan : planTable({ catalog, table, rowsOf, end: target, shared, ...(shape ? { shape } : {}) });
        const r = await fillRange(client, rangePlan, start, stop, inTransaction);
        if (r.ok && r.shaped && !outcome.shaped?.includes(name)) (outcome.shaped ??= []).push(name);
        if (!r.ok) {
          lastError = r.message;
          lastCode = r.code;
          break;
        }
        counts.set(oid, rowsOf(oid) + r.added);
      }
      // A unique expression or a check the plan cannot read (a singleton index on `(true)`): one row may still fit.
      if (lastError !== undefined && rowsOf(oid) === before && (lastCode === '23505' || lastCode === '23514') && end - before > 1) {
        const one = await fillRange(client, plan, before + 1, before + 1, inTransaction);
        if (one.ok) counts.set(oid, rowsOf(oid) + one.added);
      }
      const added = rowsOf(oid) - before;
      if (added > 0) {
        outcome.seeded.push({ table: name, rowsAdded: added });
        filled.push(table);
      }
      if (lastError !== undefined && added === 0) {
        failed(lastError);
        record(lastError);
      } else if (added < target - before) {
        const why =
          lastError ??
          (plan.cap && end < target ? plan.cap.reason : 'too few parent rows for a one-to-one foreign key');
        failed(`only ${added} of ${target - before} rows could be added (${why})`);
        record(why);
      } else {
        record();
      }
    }
    // Only the filled tables took rows, unless the application's triggers ran on them too.
    const written = userCode.suppressed ? order.map((oid) => ({ schema: catalog.tables.get(oid)!.schema, name: catalog.tables.get(oid)!.name })) : undefined;
    const reset = await guarded(client, inTransaction, () => resetSequences(client, written));
    if (!reset.ok) outcome.notices.push({ table: '', message: `sequences could not be set past the generated keys: ${reset.message}` });
  } finally {
    await userCode.restore();
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

/** Production's statistics of a table, when the file has its columns. */
function shapeOf(stats: ProductionStats | undefined, table: CatalogTable): TableShape | undefined {
  const t = stats ? findTable(stats, `${table.schema}.${table.name}`) : undefined;
  if (!t || t.columns.length === 0) return undefined;
  return { rows: t.rows, columns: new Map(t.columns.map((c) => [c.name, c])) };
}

/**
 * One INSERT for rows start..end of a plan: in production's shape when there is one, then
 * without it (a constraint the plan cannot read may reject production's values), then with
 * NULLs in nullable columns.
 */
async function fillRange(
  client: pg.ClientBase,
  plan: TablePlan,
  start: number,
  end: number,
  inTransaction: boolean,
): Promise<{ ok: true; added: number; shaped: boolean } | { ok: false; message: string; code: string | undefined }> {
  const attempts: Array<{ sql: string; shaped: boolean }> = [];
  if (isShaped(plan)) attempts.push({ sql: buildInsert(plan, start, end, false, true), shaped: true });
  attempts.push({ sql: buildInsert(plan, start, end, false), shaped: false });
  if (canNullRetry(plan)) attempts.push({ sql: buildInsert(plan, start, end, true), shaped: false });
  let message = '';
  let code: string | undefined;
  for (const { sql, shaped } of attempts) {
    const r = await runGuarded(client, sql, inTransaction);
    if (r.ok) return { ok: true, added: r.rowCount, shaped };
    message = r.message;
    code = r.code;
    if (r.code === '57014') break; // canceled or timed out: a retry would only wait again
  }
  return { ok: false, message, code };
}
