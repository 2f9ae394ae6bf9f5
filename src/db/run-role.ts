import crypto from 'node:crypto';
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteIdent, quoteLiteral } from './quote.js';

/**
 * The role the migrations log in as: the run-time backing of the guard. It owns the scratch
 * databases (so migrations create schemas, extensions marked trusted, functions, triggers and
 * policies as an owner does) and is nothing more: not a superuser, no CREATEDB, no replication,
 * no BYPASSRLS, and CREATEROLE only when the migrations visibly manage roles. What the guard
 * refuses from the parse tree then fails from dynamic SQL too, with the server's own
 * "permission denied" or "must be owner": other databases, ALTER SYSTEM, tablespaces, COPY
 * PROGRAM, server files, other sessions, untrusted remote wrappers.
 */
export const RUN_ROLE_PREFIX = 'mci_run_';

const RUN_ROLE_LOCK_KEY = 0x6d63_6972_75; // "mciru"

export interface RunRole {
  name: string;
  password: string;
  createRole: boolean;
}

/** Creates the run's role on the admin connection; the reason when the server or the connecting role cannot. */
export async function createRunRole(
  admin: pg.ClientBase,
  runId: string,
  opts: { versionNum: number; createRole: boolean; comment: string },
): Promise<RunRole | { unavailable: string }> {
  // session_replication_role, which the tool's own fills need, is grantable from 15 on only.
  if (opts.versionNum < 150000) return { unavailable: `Postgres ${Math.floor(opts.versionNum / 10000)} cannot grant session_replication_role to a role that is not a superuser (15 and newer can)` };
  const me = await admin.query<{ su: boolean }>('SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user');
  if (!me.rows[0]?.su) return { unavailable: 'the connecting role is not a superuser, so the server already holds it to its own privileges' };
  const name = `${RUN_ROLE_PREFIX}${runId}`;
  const password = crypto.randomBytes(24).toString('base64url');
  const role = quoteIdent(name);
  try {
    // One transaction, taken in turn by the runs on a server: concurrent grants on the one
    // parameter would fail with "tuple concurrently updated".
    await admin.query('BEGIN');
    await admin.query('SELECT pg_advisory_xact_lock($1)', [RUN_ROLE_LOCK_KEY]);
    await admin.query(
      `CREATE ROLE ${role} LOGIN PASSWORD ${quoteLiteral(password)} NOSUPERUSER NOCREATEDB ${opts.createRole ? 'CREATEROLE' : 'NOCREATEROLE'} NOREPLICATION NOBYPASSRLS INHERIT`,
    );
    await admin.query(`COMMENT ON ROLE ${role} IS ${quoteLiteral(opts.comment)}`);
    await admin.query(`GRANT SET ON PARAMETER session_replication_role TO ${role}`);
    // Roles a migration creates stay usable by it (ALTER ... OWNER TO, SET ROLE), as for a superuser.
    if (opts.createRole && opts.versionNum >= 160000) await admin.query(`ALTER ROLE ${role} SET createrole_self_grant = 'set, inherit'`);
    await admin.query('COMMIT');
  } catch (e) {
    await admin.query('ROLLBACK').catch(() => {});
    return { unavailable: `the run's role could not be created: ${errorMessage(e)}` };
  }
  return { name, password, createRole: opts.createRole };
}

/** Drops a run's role, or one its migrations created (after their databases): the grant on the parameter first, which would hold it. */
export async function dropRunRole(admin: pg.ClientBase, name: string): Promise<void> {
  const role = quoteIdent(name);
  // The grant on the parameter is one shared catalog row for every run: a parallel run's grant or
  // revoke can collide with ours ("tuple concurrently updated"), so the drop is tried a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${role}`).catch(() => {});
      try {
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
      } catch (e) {
        if ((e as { code?: string }).code !== '2BP01') throw e;
        // Still named in a grant or membership: the role is the run's own, so what it owns or was granted goes with it.
        await admin.query(`DROP OWNED BY ${role}`);
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
      }
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/** The URL with the run role's credentials in place of the connecting role's. */
export function urlAsRole(url: string, role: RunRole): string {
  const u = new URL(url);
  u.username = encodeURIComponent(role.name);
  u.password = encodeURIComponent(role.password);
  return u.toString();
}
