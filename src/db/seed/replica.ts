/**
 * The tool's own writes (filling, emptying, restoring) must not run the application's code: with
 * session_replication_role = replica, user triggers and rules (enabled "on origin", the default)
 * do not fire, and nothing in the schema changes. Setting it needs superuser, or on Postgres 15+
 * `GRANT SET ON PARAMETER session_replication_role`; without either the work goes on with the
 * user's triggers firing, and says so.
 */
import type pg from 'pg';

export interface UserCodeSuppression {
  /** True when user triggers and rules are off for this session until restore(). */
  suppressed: boolean;
  /** Why they could not be turned off, when they could not. */
  reason?: string;
  /** Puts the session's previous setting back. */
  restore(): Promise<void>;
}

/** Turns user triggers and rules off on this session; call restore() when the tool's writes are done. */
export async function suppressUserCode(client: pg.ClientBase, inTransaction = false): Promise<UserCodeSuppression> {
  const before = (await client.query<{ role: string }>(`SELECT current_setting('session_replication_role') AS role`)).rows[0]?.role ?? 'origin';
  if (before === 'replica') return { suppressed: true, restore: async () => {} };
  if (inTransaction) await client.query('SAVEPOINT migration_ci_replica');
  try {
    await client.query(`SET session_replication_role = replica`);
    if (inTransaction) await client.query('RELEASE SAVEPOINT migration_ci_replica');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== '42501') throw e; // only a missing privilege is expected here
    if (inTransaction) {
      await client.query('ROLLBACK TO SAVEPOINT migration_ci_replica');
      await client.query('RELEASE SAVEPOINT migration_ci_replica');
    }
    return {
      suppressed: false,
      reason: `the role may not set session_replication_role (superuser, or GRANT SET ON PARAMETER session_replication_role on Postgres 15+), so user triggers and rules fire on generated rows`,
      restore: async () => {},
    };
  }
  return {
    suppressed: true,
    restore: async () => {
      await client.query(`SELECT set_config('session_replication_role', $1, false)`, [before]);
    },
  };
}
