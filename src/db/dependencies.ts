/**
 * Catalog reads and checks for the dependencies stage: the routines, views and policies whose
 * validity Postgres does not track (a function body is a string), and planning a statement
 * without running it.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteQualified } from './quote.js';

export interface RoutineRow {
  oid: number;
  schema: string;
  name: string;
  /** `bigint, text`: the argument types as Postgres names the routine's identity. */
  identity: string;
  kind: 'function' | 'procedure';
  language: 'sql' | 'plpgsql';
  source: string;
  /** `CREATE OR REPLACE FUNCTION ...`, for the PL/pgSQL parser. */
  definition: string;
  /** A SQL-standard body (BEGIN ATOMIC, RETURN expr): parsed at creation, its dependencies are tracked. */
  atomic: boolean;
  /** Types of the input arguments, in order: `$1`, `$2`, ... */
  argTypes: string[];
  /** Names of the input arguments ('' for an unnamed one). */
  argNames: string[];
  returnsTrigger: boolean;
  /** Tables whose triggers call it (regclass text, quoted as needed). */
  triggerTables: string[];
}

/** A routine as the cheap listing has it: enough to tell whether a migration can reach it. */
export interface RoutineName {
  oid: number;
  schema: string;
  name: string;
  source: string;
}

const USER_ROUTINE_CONDITION = `p.prokind IN ('f', 'p')
  AND l.lanname IN ('sql', 'plpgsql')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid AND ext.deptype = 'e')`;

const ROUTINE_NAMES_SQL = `
SELECT p.oid::int AS oid, n.nspname AS schema, p.proname AS name, p.prosrc AS source
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE ${USER_ROUTINE_CONDITION}`;

const ROUTINES_SQL = `
SELECT p.oid::int AS oid, n.nspname AS schema, p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS identity,
       CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
       l.lanname AS language, p.prosrc AS source,
       CASE WHEN l.lanname = 'plpgsql' THEN pg_get_functiondef(p.oid) ELSE p.prosrc END AS definition,
       -- prosqlbody (BEGIN ATOMIC bodies) exists from Postgres 14 on; read through the row so 13 works too.
       (to_jsonb(p) ->> 'prosqlbody') IS NOT NULL AS atomic,
       ARRAY(SELECT format_type(t.oid, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(oid, i)
             JOIN pg_type t ON t.oid = a.oid ORDER BY a.i) AS "argTypes",
       COALESCE(p.proargnames, '{}') AS "allArgNames",
       COALESCE(p.proargmodes::text[], '{}') AS "argModes",
       p.prorettype = 'trigger'::regtype AS "returnsTrigger",
       ARRAY(SELECT DISTINCT tg.tgrelid::regclass::text FROM pg_trigger tg WHERE tg.tgfoid = p.oid AND NOT tg.tgisinternal) AS "triggerTables"
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.oid = ANY($1::oid[])
ORDER BY 2, 3, 4`;

interface RawRoutine extends Omit<RoutineRow, 'argNames'> {
  allArgNames: string[];
  argModes: string[];
}

/** The full rows of the routines a migration can reach. */
export async function routineDetails(client: pg.ClientBase, oids: readonly number[]): Promise<RoutineRow[]> {
  if (oids.length === 0) return [];
  const r = await client.query<RawRoutine>(ROUTINES_SQL, [oids]);
  return r.rows.map(({ allArgNames, argModes, ...row }) => {
    // proargnames covers every argument when there are OUT ones (proargmodes set), only the inputs otherwise.
    const names = argModes.length === 0 ? allArgNames : allArgNames.filter((_, i) => ['i', 'b', 'v'].includes(argModes[i] ?? 'i'));
    return { ...row, argNames: row.argTypes.map((_, i) => names[i] ?? '') };
  });
}

export interface RelationCheckRow {
  kind: 'view' | 'materialized view' | 'policy';
  schema: string;
  /** The view, or the policy's table. */
  relation: string;
  /** The policy's name. */
  name?: string;
  /** What the object's validity depends on: the view's query, the policy's expressions. */
  text: string;
  /** A statement that plans only while the object is valid. */
  probe: string;
}

const RELATIONS_SQL = `
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END AS kind, n.nspname AS schema, c.relname AS relation,
       NULL AS name, pg_get_viewdef(c.oid) AS text, NULL AS qual, NULL AS "withCheck"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid AND ext.deptype = 'e')
UNION ALL
SELECT 'policy', n.nspname, c.relname, p.polname, concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, 2, 3, 4`;

/**
 * Everything the stage can check, in one round trip: routines by name and body, views and
 * policies with what they depend on.
 */
export async function listCheckables(client: pg.ClientBase): Promise<{ routines: RoutineName[]; relations: RelationCheckRow[] }> {
  const [routines, relations] = (await client.query(`${ROUTINE_NAMES_SQL};${RELATIONS_SQL}`)) as unknown as [
    pg.QueryResult<RoutineName>,
    pg.QueryResult<Omit<RelationCheckRow, 'probe'> & { name: string | null; qual: string | null; withCheck: string | null }>,
  ];
  return { routines: routines.rows, relations: relations.rows.map(relationCheck) };
}

function relationCheck({
  qual,
  withCheck,
  name,
  ...row
}: Omit<RelationCheckRow, 'probe'> & { name: string | null; qual: string | null; withCheck: string | null }): RelationCheckRow {
  const target = quoteQualified(row.schema, row.relation);
  // The expressions come from pg_get_expr: the server's own rendering of a parsed expression.
  const conditions = [qual, withCheck].filter((e): e is string => e !== null).map((e) => `(${e})`);
  const probe = row.kind === 'policy' ? `SELECT 1 FROM ONLY ${target} WHERE ${conditions.join(' AND ') || 'true'}` : `SELECT * FROM ${target}`;
  return { ...row, ...(name !== null ? { name } : {}), probe };
}

/**
 * A session for checks: function bodies are validated (check_function_bodies), nothing a
 * migration set on its own session applies here.
 */
export async function prepareCheckSession(client: pg.ClientBase): Promise<void> {
  await client.query('SET check_function_bodies = on');
}

/** Runs the SQL language's validator on a routine: parse analysis of every statement of its body. */
export async function validateSqlRoutine(client: pg.ClientBase, oid: number): Promise<string | undefined> {
  try {
    await client.query('SELECT fmgr_sql_validator($1::oid)', [oid]);
    return undefined;
  } catch (e) {
    return errorMessage(e);
  }
}

const PROBE_NAME = 'mci_dependency_probe';

/**
 * Parse analysis of one statement (PREPARE: tables, columns, functions and types are looked up,
 * nothing runs), with parameter types as Postgres names them, `unknown` to let it infer one.
 * The caller hands over exactly one SELECT, INSERT, UPDATE, DELETE or MERGE. The error, if any.
 */
export async function planStatement(client: pg.ClientBase, sql: string, paramTypes: readonly string[] = []): Promise<string | undefined> {
  const types = paramTypes.length > 0 ? `(${paramTypes.join(', ')})` : '';
  try {
    await client.query(`PREPARE ${PROBE_NAME}${types} AS ${sql}`);
  } catch (e) {
    return errorMessage(e);
  }
  await client.query(`DEALLOCATE ${PROBE_NAME}`);
  return undefined;
}

/** Each type name as the server writes it, `unknown` for one that does not name a type (now). */
export async function resolveTypeNames(client: pg.ClientBase, names: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of new Set(names)) {
    try {
      const r = await client.query<{ t: string | null }>('SELECT format_type(to_regtype($1), NULL) AS t', [name]);
      out.set(name, r.rows[0]?.t ?? 'unknown');
    } catch {
      out.set(name, 'unknown');
    }
  }
  return out;
}

/** Indexes of the database that are not valid (a failed CREATE INDEX CONCURRENTLY leaves one). */
export async function invalidIndexes(client: pg.ClientBase): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT x.indexrelid::regclass::text AS name FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT x.indisvalid AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  return r.rows.map((row) => row.name);
}

export async function indexOids(client: pg.ClientBase): Promise<Set<number>> {
  const r = await client.query<{ oid: number }>(
    `SELECT c.oid::int AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('i', 'I') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'`,
  );
  return new Set(r.rows.map((row) => row.oid));
}

/**
 * Puts the indexes in the state a CREATE INDEX CONCURRENTLY that failed half way leaves them:
 * present, not valid. Only in a scratch database, and only where the role may write the
 * catalog (a superuser); false when it may not.
 */
export async function markIndexesInvalid(client: pg.ClientBase, oids: readonly number[]): Promise<boolean> {
  try {
    await client.query('UPDATE pg_index SET indisvalid = false WHERE indexrelid = ANY($1::oid[])', [oids]);
    return true;
  } catch {
    return false;
  }
}
