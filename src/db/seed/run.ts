/** Running one fill statement: SQL errors come back as values, connection errors throw. */
import type pg from 'pg';

function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors that are about the connection or the caller's session rather than the table: no SQLSTATE
 * (socket errors, a closed client), connection exceptions, server shutdown, an already aborted
 * transaction.
 */
function isFatal(e: unknown): boolean {
  const code = sqlState(e);
  if (code === undefined) return true;
  return code.startsWith('08') || code.startsWith('57P') || code === '25P02';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
export type Guarded = { ok: true; rowCount: number } | { ok: false; message: string; code: string | undefined };

/** Runs one statement; SQL errors come back as values (inside a savepoint when in a transaction), connection errors throw. */
export async function runGuarded(client: pg.ClientBase, sql: string, inTransaction: boolean): Promise<Guarded> {
  if (inTransaction) await client.query('SAVEPOINT migration_ci_seed');
  try {
    const r = await client.query(sql);
    if (inTransaction) await client.query('RELEASE SAVEPOINT migration_ci_seed');
    return { ok: true, rowCount: r.rowCount ?? 0 };
  } catch (e) {
    if (isFatal(e)) throw e;
    if (inTransaction) {
      await client.query('ROLLBACK TO SAVEPOINT migration_ci_seed');
      await client.query('RELEASE SAVEPOINT migration_ci_seed');
    }
    return { ok: false, message: messageOf(e), code: sqlState(e) };
  }
}
/** Runs catalog work that may fail for want of a privilege; inside a savepoint when in a transaction. */
export async function guarded<T>(client: pg.ClientBase, inTransaction: boolean, work: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; message: string }> {
  if (inTransaction) await client.query('SAVEPOINT migration_ci_seed');
  try {
    const value = await work();
    if (inTransaction) await client.query('RELEASE SAVEPOINT migration_ci_seed');
    return { ok: true, value };
  } catch (e) {
    if (isFatal(e)) throw e;
    if (inTransaction) {
      await client.query('ROLLBACK TO SAVEPOINT migration_ci_seed');
      await client.query('RELEASE SAVEPOINT migration_ci_seed');
    }
    return { ok: false, message: messageOf(e) };
  }
}
