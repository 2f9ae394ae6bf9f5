import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { ParsedSource, Statement } from '../sql/parse.js';

/** A statement Postgres refused, with everything the server said about it. */
export interface StatementFailure {
  index: number;
  statement: Statement;
  message: string;
  /** SQLSTATE, e.g. `23502`. */
  code: string | undefined;
  detail: string | undefined;
  hint: string | undefined;
  where: string | undefined;
  /** 1-based character position in `statement.sql`, when the server gave one. */
  position: number | undefined;
  /** Part of the file had already been committed when it failed (a non-transactional step ran before). */
  partiallyApplied: boolean;
}

export interface ApplyResult {
  ok: boolean;
  failure: StatementFailure | undefined;
  /** Wall time of each statement that ran, in ms. */
  durations: number[];
}

/** Called around each statement on the same connection, inside the migration's transaction. */
export interface StatementObserver {
  before?(client: pg.ClientBase, stmt: Statement, index: number): Promise<void>;
  after?(client: pg.ClientBase, stmt: Statement, index: number, durationMs: number): Promise<void>;
}

export type TransactionMode =
  /** Group transactional statements in transactions; non-transactional ones run alone between them. */
  | 'per-migration'
  /** Each statement on its own (the file manages transactions, or asked for none). */
  | 'none'
  /** The caller has opened a transaction: just run the statements. */
  | 'caller';

function isBegin(s: Statement): boolean {
  const kind = (s.node.TransactionStmt as { kind?: string } | undefined)?.kind;
  return kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START';
}

function isCommit(s: Statement): boolean {
  return (s.node.TransactionStmt as { kind?: string } | undefined)?.kind === 'TRANS_STMT_COMMIT';
}

/**
 * What to send and how. A file wrapped in one BEGIN ... COMMIT (sqitch's habit) is the same as
 * a transactional migration, so it is run as one: the wrapper goes, the checks that need a
 * rollback-able transaction still work. Any other transaction control is run as written.
 */
export function executionPlan(parsed: ParsedSource): { mode: TransactionMode; statements: Statement[] } {
  const all = parsed.statements;
  if (parsed.source.noTransaction) return { mode: 'none', statements: all };
  const control = all.filter((s) => s.transactionControl);
  if (control.length === 0) return { mode: 'per-migration', statements: all };
  const wrapped = control.length === 2 && all.length >= 2 && isBegin(all[0]!) && isCommit(all[all.length - 1]!);
  const inner = all.slice(1, -1);
  if (wrapped && !inner.some((s) => s.nonTransactional)) return { mode: 'per-migration', statements: inner };
  return { mode: 'none', statements: all };
}

export function transactionModeFor(parsed: ParsedSource): TransactionMode {
  return executionPlan(parsed).mode;
}

function toFailure(e: unknown, index: number, statement: Statement, partiallyApplied: boolean): StatementFailure {
  const err = e as { message?: string; code?: string; detail?: string; hint?: string; where?: string; position?: string };
  return {
    index,
    statement,
    message: err.message ?? String(e),
    code: err.code,
    detail: err.detail,
    hint: err.hint,
    where: err.where,
    position: err.position ? Number(err.position) : undefined,
    partiallyApplied,
  };
}

const deadlines = new WeakMap<pg.ClientBase, number>();

/**
 * A limit every statement sent through this module on `client` is held to from the client side,
 * whatever the session's own `statement_timeout` has become: a migration's `SET statement_timeout
 * = 0` or `RESET ALL` does not switch it off. 0 means none.
 */
export function setStatementDeadline(client: pg.ClientBase, ms: number): void {
  if (ms > 0) deadlines.set(client, ms);
  else deadlines.delete(client);
}

// The server's own statement_timeout fires first when it is still in force; past this much more,
// the client cancels, and past as much again it ends the session.
const DEADLINE_GRACE_MS = 500;
const TERMINATE_AFTER_MS = 5000;

/** Asks the server to cancel (or end) the client's running statement, over a connection of its own. */
async function stopBackend(client: pg.ClientBase, how: 'cancel' | 'terminate'): Promise<void> {
  const c = client as pg.ClientBase & { processID?: number; connectionParameters?: pg.ClientConfig; ssl?: pg.ClientConfig['ssl'] };
  const p = c.connectionParameters ?? {};
  const other = new pg.Client({ user: p.user, password: p.password, host: p.host, port: p.port, database: p.database, ssl: c.ssl, application_name: 'migration-ci' });
  other.on('error', () => {});
  try {
    await other.connect();
    await other.query(`SELECT pg_${how}_backend($1)`, [c.processID]);
  } catch {
    // Nothing more to do: the statement's own error (or the session's end) says what happened.
  } finally {
    await other.end().catch(() => {});
  }
}

/** `client.query(sql)` held to the client's deadline; a statement stopped by it fails with 57014 like a server timeout. */
async function queryWithDeadline(client: pg.ClientBase, sql: string): Promise<void> {
  const ms = deadlines.get(client);
  if (ms === undefined) {
    await client.query(sql);
    return;
  }
  let stopped = false;
  let terminate: NodeJS.Timeout | undefined;
  const cancel = setTimeout(() => {
    stopped = true;
    void stopBackend(client, 'cancel');
    terminate = setTimeout(() => void stopBackend(client, 'terminate'), TERMINATE_AFTER_MS);
  }, ms + DEADLINE_GRACE_MS);
  try {
    await client.query(sql);
  } catch (e) {
    if (stopped && (e as { code?: string }).code === '57014') {
      // The server's own words, so the report reads the same whichever side stopped it.
      throw Object.assign(new Error('canceling statement due to statement timeout'), {
        code: '57014',
        detail: `stopped by migration-ci after ${ms} ms (statement-timeout): the session's statement_timeout had been changed`,
      });
    }
    throw e;
  } finally {
    clearTimeout(cancel);
    clearTimeout(terminate);
  }
}

/** True for errors that mean the connection or server is gone, not that the SQL is wrong. */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  if (code === undefined) {
    const msg = (e as Error)?.message ?? '';
    return /Connection terminated|not queryable|ECONNRESET|ECONNREFUSED|Client was closed/i.test(msg);
  }
  return code.startsWith('08') || code.startsWith('57P') || code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE';
}

/**
 * Runs a parsed file statement by statement, so that each is timed, observed, and a failure
 * is tied to its statement. Connection losses are thrown, not reported as SQL failures.
 */
export async function applyStatements(
  client: pg.ClientBase,
  parsed: ParsedSource,
  opts: { mode?: TransactionMode; observer?: StatementObserver } = {},
): Promise<ApplyResult> {
  const plan = executionPlan(parsed);
  const mode = opts.mode ?? plan.mode;
  // The caller's own transaction replaces a file's BEGIN ... COMMIT wrapper too.
  const stmts = mode === 'none' ? parsed.statements : plan.statements;
  const durations: number[] = [];
  let inTx = false;
  let committedSomething = false;
  for (let i = 0; i < stmts.length; i++) {
    const stmt = stmts[i]!;
    try {
      if (mode === 'per-migration') {
        if (stmt.nonTransactional && inTx) {
          await client.query('COMMIT');
          inTx = false;
          committedSomething = true;
        } else if (!stmt.nonTransactional && !inTx) {
          await client.query('BEGIN');
          inTx = true;
        }
      }
      await opts.observer?.before?.(client, stmt, i);
      const t0 = performance.now();
      await queryWithDeadline(client, stmt.sql);
      const ms = performance.now() - t0;
      durations.push(ms);
      await opts.observer?.after?.(client, stmt, i, ms);
      if (mode === 'none' || (mode === 'per-migration' && stmt.nonTransactional)) committedSomething = true;
    } catch (e) {
      if (isConnectionError(e)) throw e;
      // A file that opened its own transaction leaves the session aborted: close it as well.
      if (inTx || mode === 'none') await client.query('ROLLBACK').catch(() => {});
      return { ok: false, failure: toFailure(e, i, stmt, committedSomething), durations };
    }
  }
  if (inTx) {
    try {
      await queryWithDeadline(client, 'COMMIT');
    } catch (e) {
      // Deferred constraints fail at commit: blame the last statement.
      if (isConnectionError(e)) throw e;
      const last = stmts.length - 1;
      return { ok: false, failure: toFailure(e, last, stmts[last]!, committedSomething), durations };
    }
  }
  return { ok: true, failure: undefined, durations };
}

/**
 * Applies a whole file in one round trip (a multi-statement query is one implicit transaction):
 * the fast path for baseline migrations, which are applied, not tested. Files holding statements
 * that cannot run in a transaction go statement by statement.
 */
export async function applyWhole(client: pg.ClientBase, parsed: ParsedSource): Promise<ApplyResult> {
  if (parsed.statements.length === 0) return { ok: true, failure: undefined, durations: [] };
  if (executionPlan(parsed).mode !== 'per-migration' || parsed.statements.some((s) => s.nonTransactional)) return applyStatements(client, parsed);
  const t0 = performance.now();
  try {
    await queryWithDeadline(client, parsed.source.text);
  } catch (e) {
    if (isConnectionError(e)) throw e;
    // The implicit transaction rolled the file back (close one the file opened itself);
    // run it again statement by statement to find and place the failing statement exactly.
    await client.query('ROLLBACK').catch(() => {});
    return applyStatements(client, parsed);
  }
  return { ok: true, failure: undefined, durations: [performance.now() - t0] };
}
