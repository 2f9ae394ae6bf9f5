import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { ParsedSource, Statement } from '../sql/parse.js';
import { InputError } from '../errors.js';

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

/** The limits a client's statements are held to from the client side; 0 or absent means none. */
export interface ClientDeadlines {
  /** statement-timeout: the whole statement. */
  statementMs: number;
  /** lock-timeout: each wait for a lock. */
  lockMs?: number;
}

const deadlines = new WeakMap<pg.ClientBase, ClientDeadlines>();

/**
 * Limits every statement sent through this module on `client` is held to from the client side,
 * whatever the session's own `statement_timeout` and `lock_timeout` have become: a migration's
 * `SET statement_timeout = 0`, `SET lock_timeout = 0` or `RESET ALL` does not switch them off.
 */
export function setClientDeadlines(client: pg.ClientBase, limits: ClientDeadlines): void {
  if (limits.statementMs > 0 || (limits.lockMs ?? 0) > 0) deadlines.set(client, limits);
  else deadlines.delete(client);
}

/**
 * A check run on the same connection after every statement of a file applied through this module:
 * it sees the statement's effects inside its transaction. A message stops the run (see {@link StatementRefused}).
 */
export type StatementCheck = (client: pg.ClientBase) => Promise<string | undefined>;

const statementChecks = new WeakMap<pg.ClientBase, StatementCheck>();

export function setStatementCheck(client: pg.ClientBase, check: StatementCheck | undefined): void {
  if (check) statementChecks.set(client, check);
  else statementChecks.delete(client);
}

/**
 * A statement did what the run must not let through: its transaction was rolled back, and the
 * run stops (exit 2) instead of reporting an SQL failure.
 */
export class StatementRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatementRefused';
  }
}

/** The refusal as the run's error, at the file and line of the statement that did it. */
function refusedAt(e: StatementRefused, parsed: ParsedSource, stmt: Statement | undefined): InputError {
  return new InputError('input', `${e.message}; the run was stopped`, { file: parsed.source.file, ...(stmt ? { line: stmt.line, column: stmt.column } : {}) });
}

async function runCheck(client: pg.ClientBase): Promise<void> {
  const check = statementChecks.get(client);
  if (!check) return;
  const problem = await check(client);
  if (problem === undefined) return;
  // Undone where a transaction is open; the run's close drops the roles involved either way.
  await client.query('ROLLBACK').catch(() => {});
  throw new StatementRefused(problem);
}

/** The client's check after a statement run outside {@link applyStatements}: the run's error at its file and line. */
export async function checkStatement(client: pg.ClientBase, parsed: ParsedSource, stmt: Statement): Promise<void> {
  try {
    await runCheck(client);
  } catch (e) {
    throw e instanceof StatementRefused ? refusedAt(e, parsed, stmt) : e;
  }
}

// The server's own timeouts fire first when they are still in force; past this much more, the
// client cancels, and past as much again it ends the session.
const DEADLINE_GRACE_MS = 500;
const TERMINATE_AFTER_MS = 5000;

/** A connection of its own to the server and database `client` is on, to watch or stop its backend. */
async function sideConnection(client: pg.ClientBase): Promise<pg.Client> {
  const c = client as pg.ClientBase & { connectionParameters?: pg.ClientConfig; ssl?: pg.ClientConfig['ssl'] };
  const p = c.connectionParameters ?? {};
  const other = new pg.Client({ user: p.user, password: p.password, host: p.host, port: p.port, database: p.database, ssl: c.ssl, application_name: 'migration-ci' });
  other.on('error', () => {});
  await other.connect();
  return other;
}

function backendPid(client: pg.ClientBase): number | undefined {
  return (client as pg.ClientBase & { processID?: number }).processID;
}

/** Asks the server to cancel (or end) the client's running statement, over a connection of its own. */
async function stopBackend(client: pg.ClientBase, how: 'cancel' | 'terminate'): Promise<void> {
  let other: pg.Client | undefined;
  try {
    other = await sideConnection(client);
    await other.query(`SELECT pg_${how}_backend($1)`, [backendPid(client)]);
  } catch {
    // Nothing more to do: the statement's own error (or the session's end) says what happened.
  } finally {
    await other?.end().catch(() => {});
  }
}

/**
 * Watches the client's backend while a statement runs longer than the lock limit: a wait for one
 * lock past it is cancelled. Read from pg_locks (`waitstart`, Postgres 14+, read through jsonb so
 * older servers parse the query); before 14 a wait counts from when it was first seen.
 * Calls `onStop` with how long it had waited.
 */
function watchLockWaits(client: pg.ClientBase, lockMs: number, onStop: (waitedMs: number, blockers: number[]) => void): () => void {
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let side: Promise<pg.Client> | undefined;
  let firstSeen: number | undefined;
  const limit = lockMs + DEADLINE_GRACE_MS;
  const poll = Math.min(1000, Math.max(100, Math.floor(lockMs / 4)));
  const check = async () => {
    if (ended) return;
    let next = poll;
    try {
      side ??= sideConnection(client);
      const c = await side;
      const r = await c.query<{ waiting: boolean; waited_ms: number | null; blockers: number[] }>(
        `SELECT a.wait_event_type = 'Lock' AS waiting,
                (SELECT extract(epoch FROM now() - min((to_jsonb(l) ->> 'waitstart')::timestamptz)) * 1000
                   FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted) AS waited_ms,
                pg_blocking_pids(a.pid) AS blockers
           FROM pg_stat_activity a WHERE a.pid = $1`,
        [backendPid(client)],
      );
      const row = r.rows[0];
      if (ended) return;
      if (row?.waiting) {
        firstSeen ??= Date.now();
        const waited = row.waited_ms !== null ? Number(row.waited_ms) : Date.now() - firstSeen;
        if (waited >= limit) {
          ended = true;
          onStop(Math.round(waited), row.blockers ?? []);
          await c.query('SELECT pg_cancel_backend($1)', [backendPid(client)]);
          return;
        }
        next = Math.min(poll, Math.max(50, limit - waited));
      } else {
        firstSeen = undefined;
      }
    } catch {
      // The watch is a backstop: a failed look is tried again at the next tick.
    }
    if (!ended) timer = setTimeout(() => void check(), next);
  };
  // A statement cannot have waited longer than it has run.
  timer = setTimeout(() => void check(), limit);
  return () => {
    ended = true;
    clearTimeout(timer);
    void side?.then((c) => c.end()).catch(() => {});
  };
}

/**
 * `client.query(sql)` held to the client's deadlines; a statement stopped by one fails with the
 * server's own code (57014, 55P03) as if the server's timeout had fired.
 */
async function queryWithDeadline(client: pg.ClientBase, sql: string): Promise<void> {
  const limits = deadlines.get(client);
  if (limits === undefined) {
    await client.query(sql);
    return;
  }
  let stopped: { by: 'statement' } | { by: 'lock'; waitedMs: number; blockers: number[] } | undefined;
  let terminate: NodeJS.Timeout | undefined;
  const cancel =
    limits.statementMs > 0
      ? setTimeout(() => {
          stopped ??= { by: 'statement' };
          void stopBackend(client, 'cancel');
          terminate = setTimeout(() => void stopBackend(client, 'terminate'), TERMINATE_AFTER_MS);
        }, limits.statementMs + DEADLINE_GRACE_MS)
      : undefined;
  const unwatch =
    limits.lockMs && limits.lockMs > 0
      ? watchLockWaits(client, limits.lockMs, (waitedMs, blockers) => {
          stopped ??= { by: 'lock', waitedMs, blockers };
        })
      : undefined;
  try {
    await client.query(sql);
  } catch (e) {
    if (stopped && (e as { code?: string }).code === '57014') {
      // The server's own words, so the report reads the same whichever side stopped it.
      if (stopped.by === 'lock') {
        const held = stopped.blockers.length > 0 ? ` held by backend ${stopped.blockers.join(', ')}` : '';
        throw Object.assign(new Error('canceling statement due to lock timeout'), {
          code: '55P03',
          detail: `stopped by migration-ci after waiting ${stopped.waitedMs} ms for a lock${held} (lock-timeout ${limits.lockMs} ms): the session's lock_timeout had been changed`,
        });
      }
      throw Object.assign(new Error('canceling statement due to statement timeout'), {
        code: '57014',
        detail: `stopped by migration-ci after ${limits.statementMs} ms (statement-timeout): the session's statement_timeout had been changed`,
      });
    }
    throw e;
  } finally {
    clearTimeout(cancel);
    clearTimeout(terminate);
    unwatch?.();
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
      // Not part of the statement's time.
      await runCheck(client);
      await opts.observer?.after?.(client, stmt, i, ms);
      if (mode === 'none' || (mode === 'per-migration' && stmt.nonTransactional)) committedSomething = true;
    } catch (e) {
      if (isConnectionError(e)) throw e;
      if (e instanceof StatementRefused) throw refusedAt(e, parsed, stmt);
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
  // A checked client's statements are checked one by one, before the next can use what one did.
  if (statementChecks.has(client) || executionPlan(parsed).mode !== 'per-migration' || parsed.statements.some((s) => s.nonTransactional)) return applyStatements(client, parsed);
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
