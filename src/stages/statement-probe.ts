/**
 * The statement observer of the performance stage: around each statement of a migration, on
 * the migration's own connection and inside its transaction, it records the statement's time,
 * the locks it took and the tables and indexes it rewrote.
 */
import type pg from 'pg';
import type { StatementObserver, TransactionMode } from '../db/execute.js';
import { notNullBacked, probe, type HeldLock, type Probe } from '../db/measure.js';
import { lockStrength } from '../sql/locks.js';
import { kindOf } from '../sql/nodes.js';
import type { Statement } from '../sql/parse.js';

export interface ObservedStatement {
  index: number;
  stmt: Statement;
  durationMs: number;
  /** Ran inside a transaction block, so the locks it took were still held, and seen, after it. */
  inTransaction: boolean;
  /** The transaction it ran in; a statement outside any transaction block has one of its own. */
  segment: number;
  /**
   * Locks taken by this statement: the (relation, mode) pairs held after it and not before it,
   * strongest new mode per relation. A mode an earlier statement of the transaction took is not
   * this statement's, even when it is stronger than what this one asks for.
   */
  locks: HeldLock[];
  /** Every lock held right after the statement (inside a transaction), strongest mode per relation. */
  held: HeldLock[];
  /** Tables (oids) whose relfilenode changed. */
  rewrites: Array<{ oid: number; display: string }>;
  /** Existing indexes whose relfilenode changed. */
  rebuiltIndexes: Array<{ oid: number; display: string }>;
  /** `table\0column` -> would SET NOT NULL skip the scan, looked up right before the statement. */
  notNullBacked: Map<string, boolean | undefined>;
}

const OPENS = new Set(['TRANS_STMT_BEGIN', 'TRANS_STMT_START']);
const CLOSES = new Set(['TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK', 'TRANS_STMT_PREPARE']);

function strongestByRelation(locks: HeldLock[]): Map<number, HeldLock> {
  const out = new Map<number, HeldLock>();
  for (const l of locks) {
    const prev = out.get(l.oid);
    if (!prev || lockStrength(l.mode) > lockStrength(prev.mode)) out.set(l.oid, l);
  }
  return out;
}

export class StatementProbe implements StatementObserver {
  readonly observed: ObservedStatement[] = [];
  private previous: Probe | undefined;
  private backed = new Map<string, boolean | undefined>();
  private segment = 0;
  private open = false;
  private lastInTransaction = false;

  /**
   * @param watched tables (oids) whose storage is compared before and after each statement
   * @param mode how `applyStatements` groups the statements in transactions
   * @param notNullColumns per statement index, the `{ table, column }` a SET NOT NULL in it works on
   */
  constructor(
    private readonly watched: number[],
    private readonly mode: TransactionMode,
    private readonly notNullColumns: Map<number, Array<{ table: string; column: string }>>,
  ) {}

  /** Whether the statement runs inside a transaction block, and whether it starts a new transaction. */
  private place(stmt: Statement): { inTransaction: boolean; newSegment: boolean } {
    if (this.mode === 'per-migration') {
      const inTransaction = !stmt.nonTransactional;
      return { inTransaction, newSegment: !inTransaction || !this.lastInTransaction };
    }
    if (this.mode === 'caller') return { inTransaction: true, newSegment: this.observed.length === 0 };
    // The file manages its own transactions: follow its BEGIN and COMMIT.
    const k = kindOf(stmt.node);
    const txKind = k?.[0] === 'TransactionStmt' ? String(k[1].kind ?? '') : '';
    if (OPENS.has(txKind)) {
      this.open = true;
      return { inTransaction: false, newSegment: true };
    }
    if (CLOSES.has(txKind)) {
      // The COMMIT belongs to the transaction it ends; its locks are gone after it.
      this.open = false;
      return { inTransaction: false, newSegment: false };
    }
    return { inTransaction: this.open, newSegment: !this.open };
  }

  async before(client: pg.ClientBase, stmt: Statement, index: number): Promise<void> {
    this.backed = new Map();
    for (const { table, column } of this.notNullColumns.get(index) ?? []) {
      this.backed.set(`${table}\u0000${column}`, await notNullBacked(client, table, column));
    }
    this.previous = await probe(client, this.watched);
  }

  async after(client: pg.ClientBase, stmt: Statement, index: number, durationMs: number): Promise<void> {
    const before = this.previous ?? { storage: new Map(), locks: [] };
    const after = await probe(client, this.watched);
    const { inTransaction, newSegment } = this.place(stmt);
    if (newSegment) this.segment++;
    this.lastInTransaction = inTransaction;

    const locks: HeldLock[] = [];
    const held = inTransaction ? [...strongestByRelation(after.locks).values()] : [];
    if (inTransaction) {
      // pg_locks has a row per mode held: a ShareLock asked for under a held AccessExclusiveLock shows.
      const previous = new Set(before.locks.map((l) => `${l.oid}\u0000${l.mode}`));
      const taken = strongestByRelation(after.locks.filter((l) => !previous.has(`${l.oid}\u0000${l.mode}`)));
      const heldMode = new Map(held.map((l) => [l.oid, l.mode]));
      for (const l of taken.values()) {
        const table = l.kind === 'r' || l.kind === 'p' || l.kind === 'm' || l.kind === 'f';
        // An existing index locked against reads while its table is not (REINDEX) matters;
        // a new index is invisible to others, and one whose table is locked as hard adds nothing.
        const index = before.storage.get(l.oid);
        const existingIndex =
          (l.kind === 'i' || l.kind === 'I') &&
          index !== undefined &&
          l.mode === 'AccessExclusiveLock' &&
          heldMode.get(index.table) !== 'AccessExclusiveLock';
        if (table || existingIndex) locks.push(l);
      }
    }

    const rewrites: ObservedStatement['rewrites'] = [];
    const rebuiltIndexes: ObservedStatement['rebuiltIndexes'] = [];
    // TRUNCATE gives a table new, empty storage: that is not a rewrite of its rows.
    const truncate = kindOf(stmt.node)?.[0] === 'TruncateStmt';
    for (const [oid, now] of after.storage) {
      const was = before.storage.get(oid);
      if (!was || was.relfilenode === now.relfilenode || truncate) continue;
      if (now.kind === 'i' || now.kind === 'I') rebuiltIndexes.push({ oid, display: now.display });
      else rewrites.push({ oid, display: now.display });
    }

    this.observed.push({
      index,
      stmt,
      durationMs,
      inTransaction,
      segment: this.segment,
      locks,
      held,
      rewrites,
      rebuiltIndexes,
      notNullBacked: this.backed,
    });
  }
}
