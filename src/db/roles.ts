import type pg from 'pg';
import { quoteIdent } from './quote.js';
import { RUN_ROLE_PREFIX } from './run-role.js';

/**
 * Roles are the server's, not a database's: a role a migration creates outlives every scratch
 * database. Each role as one comparable line: attributes, memberships and settings.
 */
export type RoleSnapshot = Map<string, string>;

export async function snapshotRoles(client: pg.ClientBase): Promise<RoleSnapshot> {
  const r = await client.query<{ name: string; state: string }>(`
    SELECT r.rolname AS name,
           concat_ws(' ',
             CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcanlogin THEN 'LOGIN' END,
             CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END, CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
             CASE WHEN r.rolreplication THEN 'REPLICATION' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
             CASE WHEN NOT r.rolinherit THEN 'NOINHERIT' END,
             CASE WHEN r.rolconnlimit <> -1 THEN 'CONNECTION LIMIT ' || r.rolconnlimit END,
             -- In UTC whatever the session's TimeZone: the migrations' connection may have changed it.
             CASE WHEN r.rolvaliduntil IS NOT NULL THEN 'VALID UNTIL ' ||
               CASE WHEN isfinite(r.rolvaliduntil) THEN to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' ELSE r.rolvaliduntil::text END END,
             (SELECT 'IN ROLE ' || string_agg(g.rolname, ', ' ORDER BY g.rolname)
                FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid),
             (SELECT 'SET ' || string_agg(array_to_string(s.setconfig, ', '), '; ' ORDER BY s.setdatabase)
                FROM pg_db_role_setting s WHERE s.setrole = r.oid)) AS state
      FROM pg_roles r
     WHERE r.rolname !~ '^pg_' AND r.rolname NOT LIKE $1`, [`${RUN_ROLE_PREFIX.replace(/_/g, '\\_')}%`]);
  return new Map(r.rows.map((x) => [x.name, x.state]));
}

export interface RoleChange {
  role: string;
  kind: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

export function compareRoles(before: RoleSnapshot, after: RoleSnapshot): RoleChange[] {
  const out: RoleChange[] = [];
  for (const [role, state] of after) {
    if (!before.has(role)) out.push({ role, kind: 'added', after: state });
    else if (before.get(role) !== state) out.push({ role, kind: 'changed', before: before.get(role)!, after: state });
  }
  for (const [role, state] of before) if (!after.has(role)) out.push({ role, kind: 'removed', before: state });
  return out.sort((a, b) => a.role.localeCompare(b.role));
}

/**
 * Before Postgres 16, CREATEROLE is nearly a superuser's power over roles: its holder may grant
 * any role that is not a superuser (pg_execute_server_program, pg_read_server_files, a role of
 * the server's own users) to itself or to a role it creates, alter or drop any such role, and
 * hand out CREATEDB. Run after each statement, on the migrations' own connection (so inside their
 * transaction): what of that the statement did, or undefined. Makes the run's role a member of
 * the roles the statement created.
 */
export async function roleEscalation(client: pg.ClientBase, runRole: string, before: RoleSnapshot): Promise<string | undefined> {
  const now = await snapshotRoles(client);
  for (const [role, state] of before) {
    if (!now.has(role)) return `dropped role ${role}, which the server had before the run`;
    if (now.get(role) !== state) return `changed role ${role}, which the server had before the run (${state || 'no attributes'} -> ${now.get(role) || 'no attributes'})`;
  }
  const created = [...now.keys()].filter((r) => !before.has(r));
  const r = await client.query<{ member: string; role: string | null; createdb: boolean }>(
    `SELECT m.rolname AS member, g.rolname AS role, m.rolcreatedb AS createdb
       FROM pg_roles m LEFT JOIN pg_auth_members a ON a.member = m.oid LEFT JOIN pg_roles g ON g.oid = a.roleid
      WHERE m.rolname = $1 OR m.rolname = ANY($2::text[])
      ORDER BY 1, 2`,
    [runRole, created],
  );
  const ours = new Set([runRole, ...created]);
  for (const x of r.rows) {
    const who = x.member === runRole ? `the run's role ${runRole}` : `role ${x.member}, created by the migrations,`;
    if (x.createdb) return `gave ${who} CREATEDB`;
    if (x.role !== null && !ours.has(x.role)) return `made ${who} a member of ${x.role}, a role the run did not create${/^pg_/.test(x.role) ? ' (a predefined role with access to the server)' : ''}`;
  }
  // Roles the migrations create stay usable by them (ALTER ... OWNER TO, CREATE SCHEMA
  // AUTHORIZATION), as for a superuser: what createrole_self_grant does from 16 on. Not after a
  // SET ROLE, where the grant could fail and take the migration's transaction with it.
  if (created.every((role) => r.rows.some((x) => x.member === runRole && x.role === role))) return undefined;
  const me = await client.query<{ ok: boolean }>('SELECT current_user = $1 OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS ok', [runRole]);
  if (!me.rows[0]?.ok) return undefined;
  for (const role of created) {
    if (!r.rows.some((x) => x.member === runRole && x.role === role)) await client.query(`GRANT ${quoteIdent(role)} TO ${quoteIdent(runRole)}`);
  }
  return undefined;
}
