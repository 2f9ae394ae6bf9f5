import type { Bookkeeping } from './bookkeeping.js';
import type pg from 'pg';
import { catalogRead, MAX_SCOPES, RESTORE_PLANNER_SQL, SCOPE_ROWS_SQL, SCOPE_UNITS, SCOPE_UNITS_SQL, scopeNamesSql, type CatalogRead, type ScopeBase } from './catalog-scope.js';
import { buildSnapshot, displayName, IgnoreRules, type SchemaAttribute, type SchemaObject, type SchemaSnapshot } from './schema-model.js';

export interface SnapshotOptions {
  /** Glob patterns of object names left out (see `IgnoreRules`). */
  ignore?: readonly string[];
  /** Compare column positions too; by default a column that moved is not a difference. */
  strictColumnOrder?: boolean;
  /** The migration tool's own tables, left out (every known tool's when not given). */
  bookkeeping?: Bookkeeping;
}

/*
 * One message to the server, many statements: one round trip, and one implicit transaction, so
 * the settings pinned by the first statement hold for the others and every statement sees the
 * same state. The pinned settings make every rendering (qualified names, literals in defaults)
 * independent of whatever a migration did to its session.
 */
const PIN_SETTINGS = `SELECT set_config('search_path', 'public', true), set_config('DateStyle', 'ISO, MDY', true),
  set_config('IntervalStyle', 'postgres', true), set_config('TimeZone', 'UTC', true), set_config('extra_float_digits', '1', true),
  set_config('quote_all_identifiers', 'off', true), set_config('bytea_output', 'hex', true)`;

const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`;

const notExtensionMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '${catalog}'::regclass AND xd.objid = ${oid} AND xd.deptype = 'e')`;

/** Sorted privileges when they differ from the defaults for the owner; NULL otherwise (never granted, or granted and revoked). */
const privileges = (acl: string, kind: string, owner: string) =>
  `CASE WHEN coalesce(${acl}, acldefault('${kind}', ${owner})) = acldefault('${kind}', ${owner}) THEN NULL
        ELSE (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(${acl}) x) END`;

const ownerUnlessCurrent = (owner: string) => `NULLIF(pg_get_userbyid(${owner}), current_user)`;

/** `"C"`, `"de-x-icu"`, `myschema.mine` (regcollation would do, but Postgres 12 has none). */
const collationName = (oid: string) =>
  `(SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
      FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = ${oid})`;

const SCHEMAS = `
SELECT n.nspname AS name, ${ownerUnlessCurrent('n.nspowner')} AS owner, ${privileges('n.nspacl', 'n', 'n.nspowner')} AS acl,
       obj_description(n.oid, 'pg_namespace') AS comment
FROM pg_namespace n
WHERE ${USER_NAMESPACE} AND ${notExtensionMember('pg_namespace', 'n.oid')}`;

const EXTENSIONS = `
SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`;

const RELATIONS = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
       c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls, c.relreplident AS replident,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partbound,
       (SELECT array_agg(i.inhparent::regclass::text ORDER BY 1) FROM pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS viewdef,
       (SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o) AS options,
       CASE WHEN c.relkind IN ('r', 'm') AND am.amname <> 'heap' THEN am.amname END AS access_method,
       (SELECT s.srvname FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid) AS server,
       (SELECT array_agg(o ORDER BY o) FROM pg_foreign_table ft, unnest(ft.ftoptions) o WHERE ft.ftrelid = c.oid) AS foreign_options,
       ${ownerUnlessCurrent('c.relowner')} AS owner, ${privileges('c.relacl', 'r', 'c.relowner')} AS acl,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_NAMESPACE} AND ${notExtensionMember('pg_class', 'c.oid')}`;

const COLUMNS = `
SELECT n.nspname AS schema, c.relname AS table, a.attname AS name,
       row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS position,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
       pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity AS identity, a.attgenerated AS generated,
       CASE WHEN a.attcollation <> t.typcollation THEN ${collationName('a.attcollation')} END AS collation,
       CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END AS statistics,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END AS storage,
       -- Only the options ALTER COLUMN SET accepts: servers may keep private, run-specific entries here.
       (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o WHERE o ~ '^n_distinct(_inherited)?=') AS options,
       (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x) AS acl,
       col_description(c.oid, a.attnum) AS comment
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f') AND ${USER_NAMESPACE}`;

const CONSTRAINTS = `
SELECT n.nspname AS schema, c.relname AS table, co.conname AS name, co.contype AS type,
       pg_get_constraintdef(co.oid, true) AS definition, obj_description(co.oid, 'pg_constraint') AS comment
FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE co.conrelid <> 0 AND ${USER_NAMESPACE}
  -- Postgres 18 records every NOT NULL here too, named after the table it was made in: the column
  -- says it already; only what the column cannot say (NOT VALID, NO INHERIT) is a constraint.
  AND (co.contype <> 'n' OR NOT co.convalidated OR co.connoinherit)`;

// Indexes behind a primary key, unique or exclusion constraint are the constraint's: not listed twice.
const INDEXES = `
SELECT n.nspname AS schema, c.relname AS table, i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition,
       x.indisvalid AS valid, x.indisclustered AS clustered, x.indisreplident AS replident,
       obj_description(i.oid, 'pg_class') AS comment
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = i.relnamespace
WHERE ${USER_NAMESPACE}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = x.indexrelid AND co.conrelid = x.indrelid AND co.contype IN ('p', 'u', 'x'))`;

// Owner lookups by index, one sequence at a time: a join would hash all of pg_attribute.
const SEQUENCES = `
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
       s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
       s.seqcache::text AS cache, s.seqcycle AS cycle,
       dep.deptype AS dependency,
       (SELECT tn.nspname FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE t.oid = dep.refobjid) AS table_schema,
       (SELECT t.relname FROM pg_class t WHERE t.oid = dep.refobjid) AS table,
       (SELECT ta.attname FROM pg_attribute ta WHERE ta.attrelid = dep.refobjid AND ta.attnum = dep.refobjsubid) AS column,
       ${ownerUnlessCurrent('c.relowner')} AS owner, ${privileges('c.relacl', 's', 'c.relowner')} AS acl,
       obj_description(c.oid, 'pg_class') AS comment
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
WHERE ${USER_NAMESPACE} AND ${notExtensionMember('pg_class', 'c.oid')}`;

const FUNCTIONS = `
SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args, p.prokind AS kind,
       CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
       CASE WHEN p.prokind = 'a' THEN (
         SELECT concat_ws(', ', 'returns ' || pg_get_function_result(p.oid), 'sfunc ' || ag.aggtransfn::regproc::text,
                          'stype ' || format_type(ag.aggtranstype, NULL), 'finalfunc ' || nullif(ag.aggfinalfn::oid, 0)::regproc::text,
                          'combinefunc ' || nullif(ag.aggcombinefn::oid, 0)::regproc::text, 'initcond ' || ag.agginitval,
                          'sortop ' || nullif(ag.aggsortop, 0)::regoperator::text, 'kind ' || nullif(ag.aggkind::text, 'n'))
         FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid) END AS aggregate,
       ${ownerUnlessCurrent('p.proowner')} AS owner, ${privileges('p.proacl', 'f', 'p.proowner')} AS acl,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE ${USER_NAMESPACE} AND ${notExtensionMember('pg_proc', 'p.oid')}
  -- Constructors Postgres makes for a range type belong to the type.
  AND NOT EXISTS (SELECT 1 FROM pg_depend dd WHERE dd.classid = 'pg_proc'::regclass AND dd.objid = p.oid AND dd.deptype = 'i')`;

const TRIGGERS = `
SELECT n.nspname AS schema, c.relname AS table, t.tgname AS name, pg_get_triggerdef(t.oid, true) AS definition,
       t.tgenabled AS enabled, obj_description(t.oid, 'pg_trigger') AS comment
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND ${USER_NAMESPACE}`;

// Enums, domains, composite types, ranges and base types; array and multirange types come with them.
const TYPES = `
SELECT n.nspname AS schema, t.typname AS name, t.typtype AS kind,
       CASE WHEN t.typtype = 'e' THEN (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base,
       t.typnotnull AS notnull, t.typdefault AS default,
       CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN ${collationName('t.typcollation')} END AS collation,
       CASE WHEN t.typtype = 'd' THEN (SELECT array_agg(quote_ident(co.conname) || ' ' || pg_get_constraintdef(co.oid, true) ORDER BY co.conname)
                                        FROM pg_constraint co WHERE co.contypid = t.oid) END AS checks,
       CASE WHEN t.typtype = 'c' THEN (SELECT array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
                                        FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END AS attributes,
       CASE WHEN t.typtype = 'r' THEN (
         SELECT concat_ws(', ', 'subtype ' || format_type(r.rngsubtype, NULL),
                          'collation ' || ${collationName('r.rngcollation')},
                          'operator class ' || (SELECT opc.opcname FROM pg_opclass opc WHERE opc.oid = r.rngsubopc),
                          'canonical ' || nullif(r.rngcanonical::oid, 0)::regproc::text,
                          'subtype_diff ' || nullif(r.rngsubdiff::oid, 0)::regproc::text)
         FROM pg_range r WHERE r.rngtypid = t.oid) END AS range,
       CASE WHEN t.typtype = 'b' THEN concat_ws(', ', 'input ' || t.typinput::text, 'output ' || t.typoutput::text,
                                                'length ' || t.typlen, 'alignment ' || t.typalign::text, 'storage ' || t.typstorage::text) END AS base_io,
       ${ownerUnlessCurrent('t.typowner')} AS owner, ${privileges('t.typacl', 'T', 't.typowner')} AS acl,
       obj_description(t.oid, 'pg_type') AS comment
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE t.typtype IN ('e', 'd', 'c', 'r', 'b') AND ${USER_NAMESPACE}
  AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_type el WHERE el.typarray = t.oid)
  AND ${notExtensionMember('pg_type', 't.oid')}`;

const POLICIES = `
SELECT n.nspname AS schema, c.relname AS table, p.polname AS name, p.polcmd AS command, p.polpermissive AS permissive,
       (SELECT array_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END ORDER BY 1) FROM unnest(p.polroles) r) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS check,
       obj_description(p.oid, 'pg_policy') AS comment
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_NAMESPACE}`;

const RULES = `
SELECT n.nspname AS schema, c.relname AS table, r.rulename AS name, pg_get_ruledef(r.oid, true) AS definition,
       r.ev_enabled AS enabled
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${USER_NAMESPACE}`;

const STATISTICS = `
SELECT n.nspname AS schema, c.relname AS table, s.stxname AS name, pg_get_statisticsobjdef(s.oid) AS definition
FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_NAMESPACE}`;

const EVENT_TRIGGERS = `
SELECT e.evtname AS name, e.evtevent AS event, e.evtfoid::regproc::text AS function, e.evtenabled AS enabled,
       (SELECT array_agg(tag ORDER BY tag) FROM unnest(e.evttags) tag) AS tags
FROM pg_event_trigger e WHERE ${notExtensionMember('pg_event_trigger', 'e.oid')}`;

const DEFAULT_PRIVILEGES = `
SELECT pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype AS kind,
       (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(d.defaclacl) x) AS acl
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace`;

const QUERIES = {
  schemas: SCHEMAS,
  extensions: EXTENSIONS,
  relations: RELATIONS,
  columns: COLUMNS,
  constraints: CONSTRAINTS,
  indexes: INDEXES,
  sequences: SEQUENCES,
  functions: FUNCTIONS,
  triggers: TRIGGERS,
  types: TYPES,
  policies: POLICIES,
  rules: RULES,
  statistics: STATISTICS,
  eventTriggers: EVENT_TRIGGERS,
  defaultPrivileges: DEFAULT_PRIVILEGES,
} as const;

type Row = Record<string, unknown>;
type Rows = { [K in keyof typeof QUERIES]: Row[] };
type QueryName = keyof typeof QUERIES;

const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

/**
 * The object a row belongs to for a scoped read (see `catalog-scope.ts`): the table of a column,
 * index, constraint, trigger, policy, rule or statistics object; a sequence, function or type
 * itself. Kinds left out are few per database and are always read whole.
 */
const UNIT: Partial<Record<QueryName, string>> = {
  relations: 'c.oid',
  columns: 'c.oid',
  constraints: 'c.oid',
  indexes: 'c.oid',
  sequences: 'c.oid',
  functions: 'p.oid',
  triggers: 'c.oid',
  types: 't.oid',
  policies: 'c.oid',
  rules: 'c.oid',
  statistics: 'c.oid',
};

/** A query with its row's unit as one more column and, for a scoped read, only the rows of the scope's units. */
function withUnit(k: QueryName, scoped: boolean): string {
  const sql = QUERIES[k];
  const unit = UNIT[k];
  const from = sql.indexOf('\nFROM ');
  if (from < 0 || sql.indexOf('\nFROM ', from + 1) >= 0) throw new Error(`snapshot query ${k} has no single FROM line`);
  const tagged = `${sql.slice(0, from)}, ${unit ?? '0::oid'} AS scope_unit${sql.slice(from)}`;
  return scoped && unit ? `${tagged}\n  AND ${unit} = ANY(${SCOPE_UNITS})` : tagged;
}

type Variant = 'plain' | 'tagged' | 'scoped';
const statementName = (k: string, variant: Variant = 'plain') =>
  `migration_ci_${variant === 'plain' ? 'snapshot' : variant}_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
const SCOPE_STATEMENT = 'migration_ci_scope_units';
const ROWS_STATEMENT = 'migration_ci_scope_rows';

const variantSql = (k: QueryName, variant: Variant) => (variant === 'plain' ? QUERIES[k] : withUnit(k, variant === 'scoped'));

/** Every statement a session may hold prepared, by name. */
const ALL_PREPARED: Array<[string, () => string]> = [
  ...(['plain', 'tagged', 'scoped'] as const).flatMap((v) => QUERY_NAMES.map((k): [string, () => string] => [statementName(k, v), () => variantSql(k, v)])),
  [SCOPE_STATEMENT, () => SCOPE_UNITS_SQL],
  [ROWS_STATEMENT, () => SCOPE_ROWS_SQL],
];

/**
 * The whole catalog read as one message. The queries are prepared once per connection, so that
 * a snapshot after the first costs no planning: planning these joins is half the work.
 */
export function snapshotSql(prepare: boolean): string {
  return messageSql(prepare ? new Set() : undefined, 'plain', undefined);
}

const statementsOf = (variant: Variant, scope: boolean) => [...QUERY_NAMES.map((k) => statementName(k, variant)), ...(scope ? [SCOPE_STATEMENT, ROWS_STATEMENT] : [])];

/** The message; `held`, when given, names the statements the session has prepared already (the others are prepared first). */
function messageSql(held: ReadonlySet<string> | undefined, variant: Variant, names: readonly (readonly string[])[] | undefined, base?: ScopeBase): string {
  const scope = names !== undefined;
  const sqlOf = new Map(ALL_PREPARED);
  const toPrepare = held ? statementsOf(variant, scope).filter((n) => !held.has(n)) : [];
  return [
    PIN_SETTINGS,
    ...(scope ? [scopeNamesSql(names, base)] : []),
    ...toPrepare.map((n) => `PREPARE ${n} AS ${sqlOf.get(n)!()}`),
    ...(scope ? [`EXECUTE ${SCOPE_STATEMENT}`, `EXECUTE ${ROWS_STATEMENT}`, RESTORE_PLANNER_SQL] : []),
    ...QUERY_NAMES.map((k) => `EXECUTE ${statementName(k, variant)}`),
  ].join(';\n');
}

/** Statements each connection's session holds prepared. */
const preparedOn = new WeakMap<pg.ClientBase, Set<string>>();

/** SQLSTATEs of a session that lost its prepared statements (DISCARD ALL, DEALLOCATE) or half kept them. */
const PREPARED_STATE_LOST = new Set(['26000', '42P05']);

interface RawRead {
  rows: Rows;
  /** The scope statements' rows, when names were given. */
  scopeRows: Row[];
  rowRows: Row[];
}

async function readCatalogs(client: pg.ClientBase, variant: Variant = 'plain', names?: readonly (readonly string[])[], base?: ScopeBase): Promise<RawRead> {
  const run = async () => {
    const held = preparedOn.get(client) ?? new Set<string>();
    const results = (await client.query(messageSql(held, variant, names, base))) as unknown as pg.QueryResult[];
    for (const n of statementsOf(variant, names !== undefined)) held.add(n);
    preparedOn.set(client, held);
    // The settings, the names, the PREPAREs, the scope, its rows, the planner back, then one result per query.
    const first = results.length - QUERY_NAMES.length;
    return {
      rows: Object.fromEntries(QUERY_NAMES.map((k, i) => [k, results[first + i]!.rows])) as Rows,
      scopeRows: names ? results[first - 3]!.rows : [],
      rowRows: names ? results[first - 2]!.rows : [],
    };
  };
  try {
    return await run();
  } catch (e) {
    if (!PREPARED_STATE_LOST.has((e as { code?: string }).code ?? '')) throw e;
  }
  // Start over: the session holds some, none or other statements of ours.
  for (const [n] of ALL_PREPARED) await client.query(`DEALLOCATE ${n}`).catch(() => {});
  preparedOn.delete(client);
  return run();
}

/**
 * The schema of the connected database as a deterministic set of objects: nothing that changes
 * from run to run (OIDs, toast tables, sequence values, statistics) and, unless asked, no column
 * positions. One round trip to the server, however many tables there are.
 */
export async function snapshotSchema(client: pg.ClientBase, opts: SnapshotOptions = {}): Promise<SchemaSnapshot> {
  const { rows } = await readCatalogs(client);
  const rules = new IgnoreRules(opts.ignore, opts.bookkeeping);
  return buildSnapshot(rules.apply(objectsFromRows(rows, opts.strictColumnOrder ?? false)));
}

/** Objects of a read with the unit each belongs to (see `catalog-scope.ts`), before ignore rules. */
export interface TaggedRead {
  objects: SchemaObject[];
  /** Object key -> unit (an OID as text; `0` for the kinds always read whole). */
  units: Map<string, string>;
  /** The catalog's state under each scope asked for: units, tracked rows, the snapshot they were read in. */
  catalog: CatalogRead;
}

/**
 * One round trip: for each list of names, the units they reach, the catalog rows to check a
 * later read against (and, given a base, the rows to check this one against it); and the objects
 * of the first scope's units (`whole`: every object), tagged with their unit, ignore rules not yet applied.
 */
export async function readScoped(
  client: pg.ClientBase,
  names: readonly (readonly string[])[],
  whole: boolean,
  strictColumnOrder: boolean,
  base?: ScopeBase,
): Promise<TaggedRead> {
  if (names.length === 0 || names.length > MAX_SCOPES) throw new RangeError(`one to ${MAX_SCOPES} scopes, not ${names.length}`);
  const { rows, scopeRows, rowRows } = await readCatalogs(client, whole ? 'tagged' : 'scoped', names, base);
  const units = new Map<string, string>();
  const objects = objectsFromRows(rows, strictColumnOrder, units);
  return { objects, units, catalog: catalogRead(scopeRows, rowRows, names.length) };
}

// ---------------------------------------------------------------------------------------------
// Rows -> objects

const str = (v: unknown): string | undefined => (v === null || v === undefined || v === '' ? undefined : String(v));
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

class Attributes {
  readonly items: SchemaAttribute[] = [];
  add(name: string, value: unknown): this {
    const s = str(value);
    if (s !== undefined) this.items.push({ name, value: s });
    return this;
  }
  flag(name: string, on: unknown): this {
    if (on === true) this.items.push({ name, value: '' });
    return this;
  }
  list(name: string, v: unknown, sep = ', '): this {
    const l = list(v);
    if (l.length > 0) this.items.push({ name, value: l.join(sep) });
    return this;
  }
  common(row: Row): this {
    return this.add('owner', row.owner).list('privileges', row.acl).add('comment', row.comment);
  }
}

// Sort order: schema, then the object a group is about (a table and its columns, indexes...), then kind.
const GROUP_RANK: Record<string, string> = { schema: '0', extension: '1', type: '2', sequence: '3', function: '4', relation: '5', 'event trigger': '6', 'default privileges': '7' };
const CHILD_RANK: Record<string, string> = { column: '1', constraint: '2', index: '3', trigger: '4', policy: '5', rule: '6', statistics: '7', sequence: '8' };
const SEP = '\u0001';

function orderOf(schema: string, groupKind: string, group: string, childKind?: string, child?: string): string {
  return [schema, GROUP_RANK[groupKind] ?? '9', group, childKind ? (CHILD_RANK[childKind] ?? '9') : '0', child ?? ''].join(SEP);
}

const RELKIND: Record<string, string> = { r: 'table', p: 'table', f: 'foreign table', v: 'view', m: 'materialized view' };
const relationKey = (schema: string, name: string) => `relation ${schema}.${name}`;

/** An object of a schema; `keyName` tells overloaded functions apart. */
function topLevel(kind: string, groupKind: string, schema: string, name: string, keyName: string, attrs: Attributes): SchemaObject {
  return {
    key: `${groupKind} ${schema}.${keyName}`,
    kind,
    name: displayName(schema, keyName),
    ident: name,
    locate: [[name]],
    names: [name, `${schema}.${name}`],
    schema,
    order: orderOf(schema, groupKind, keyName),
    attributes: attrs.items,
  };
}

/** An object named on its own, not qualified by a schema: a schema, an extension, an event trigger. */
function unqualified(kind: string, schema: string, name: string, attrs: Attributes): SchemaObject {
  return {
    key: `${kind} ${name}`,
    kind,
    name,
    ident: name,
    locate: [[name]],
    names: [name],
    schema,
    order: orderOf(schema, kind, kind === 'schema' ? '' : name),
    attributes: attrs.items,
  };
}

function child(kind: string, row: Row, name: string, attrs: Attributes, sortName = name): SchemaObject {
  const schema = String(row.schema);
  const table = String(row.table);
  return {
    key: `${kind} ${schema}.${table}.${name}`,
    kind,
    name: childDisplayName(kind, schema, table, name),
    ident: name,
    parent: relationKey(schema, table),
    locate: [[table, name], [name], ...(CHILD_NODE[kind] ? [[table, CHILD_NODE[kind]!]] : []), [table]],
    names: [`${table}.${name}`, `${schema}.${table}.${name}`, ...(kind === 'index' ? [name, `${schema}.${name}`] : [])],
    schema,
    order: orderOf(schema, 'relation', table, kind, sortName),
    attributes: attrs.items,
  };
}

/** The parse node that creates each kind of table member, to find an unnamed one's statement. */
const CHILD_NODE: Record<string, string> = {
  column: '@ColumnDef',
  constraint: '@Constraint',
  index: '@IndexStmt',
  trigger: '@CreateTrigStmt',
  policy: '@CreatePolicyStmt',
  rule: '@RuleStmt',
  statistics: '@CreateStatsStmt',
};

/** `users.status` for a column, `users_status_idx` for an index, `users_age_check on users` for the rest. */
function childDisplayName(kind: string, schema: string, table: string, name: string): string {
  if (kind === 'column') return `${displayName(schema, table)}.${name}`;
  if (kind === 'index' || kind === 'sequence') return displayName(schema, name);
  return `${name} on ${displayName(schema, table)}`;
}

const IDENTITY: Record<string, string> = { a: 'GENERATED ALWAYS', d: 'GENERATED BY DEFAULT' };
const STORAGE: Record<string, string> = { p: 'PLAIN', e: 'EXTERNAL', m: 'MAIN', x: 'EXTENDED' };
const CONSTRAINT_KIND: Record<string, string> = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check', x: 'exclusion', t: 'trigger', n: 'not null' };
const POLICY_COMMAND: Record<string, string> = { '*': 'ALL', r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE' };
const ENABLED: Record<string, string> = { O: '', D: 'disabled', R: 'enabled on replica only', A: 'enabled always' };
const FUNCTION_KIND: Record<string, string> = { f: 'function', p: 'procedure', a: 'aggregate', w: 'window function' };
const TYPE_KIND: Record<string, string> = { e: 'enum', d: 'domain', c: 'composite', r: 'range', b: 'base' };
const DEFACL_KIND: Record<string, string> = { r: 'tables', S: 'sequences', f: 'functions', T: 'types', n: 'schemas' };

function objectsFromRows(rows: Rows, strictColumnOrder: boolean, units?: Map<string, string>): SchemaObject[] {
  const out: SchemaObject[] = [];
  const push = (o: SchemaObject, r: Row) => {
    out.push(o);
    units?.set(o.key, String(r.scope_unit ?? 0));
  };

  for (const r of rows.schemas) {
    const name = String(r.name);
    push(unqualified('schema', name, name, new Attributes().common(r)), r);
  }

  for (const r of rows.extensions) {
    push(unqualified('extension', '', String(r.name), new Attributes().add('schema', r.schema).add('version', r.version)), r);
  }

  // Column order is one fact about a table, compared only when asked: a column that moved is not drift by default.
  const columnOrder = new Map<string, string[]>();
  if (strictColumnOrder) {
    const sorted = [...rows.columns].sort((x, y) => Number(x.position) - Number(y.position));
    for (const r of sorted) {
      const key = relationKey(String(r.schema), String(r.table));
      columnOrder.set(key, [...(columnOrder.get(key) ?? []), String(r.name)]);
    }
  }

  // Relations come before their children so that ignore rules can drop a table's columns with it.
  for (const r of rows.relations) {
    const schema = String(r.schema);
    const name = String(r.name);
    const relkind = String(r.kind);
    const a = new Attributes();
    if (r.persistence === 'u') a.add('persistence', 'UNLOGGED');
    a.add('partitioned by', r.partkey);
    if (r.partbound !== null && r.partbound !== undefined) a.add('partition', `${list(r.parents).join(', ')} ${String(r.partbound)}`);
    else a.list('inherits', r.parents);
    a.add('access method', r.access_method).add('server', r.server).list('server options', r.foreign_options);
    a.flag('row level security', r.rls).flag('force row level security', r.force_rls);
    if (relkind !== 'v' && relkind !== 'm' && r.replident !== 'd') a.add('replica identity', { n: 'NOTHING', f: 'FULL', i: 'INDEX' }[String(r.replident)]);
    a.list('options', r.options);
    a.add('definition', typeof r.viewdef === 'string' ? r.viewdef.trim() : undefined);
    a.list('column order', columnOrder.get(relationKey(schema, name)));
    a.common(r);
    push(topLevel(RELKIND[relkind] ?? 'relation', 'relation', schema, name, name, a), r);
  }

  for (const r of rows.columns) {
    const a = new Attributes();
    a.add('type', r.type).add('collation', r.collation);
    a.flag('NOT NULL', r.notnull);
    if (r.generated) a.add('generated', `ALWAYS AS (${String(r.default)}) ${r.generated === 'v' ? 'VIRTUAL' : 'STORED'}`);
    else a.add('default', r.default);
    a.add('identity', IDENTITY[String(r.identity)]);
    a.add('statistics', r.statistics).add('storage', STORAGE[String(r.storage)]).list('options', r.options).list('privileges', r.acl).add('comment', r.comment);
    push(child('column', r, String(r.name), a), r);
  }

  for (const r of rows.constraints) {
    const a = new Attributes().add('type', CONSTRAINT_KIND[String(r.type)]).add('definition', r.definition).add('comment', r.comment);
    push(child('constraint', r, String(r.name), a), r);
  }

  for (const r of rows.indexes) {
    const a = new Attributes().add('definition', r.definition);
    if (r.valid === false) a.flag('INVALID', true);
    a.flag('clustered', r.clustered).flag('replica identity', r.replident).add('comment', r.comment);
    push(child('index', r, String(r.name), a), r);
  }

  for (const r of rows.sequences) {
    const schema = String(r.schema);
    const name = String(r.name);
    const a = new Attributes().add('type', r.type).add('start', r.start).add('increment', r.increment).add('minimum', r.min).add('maximum', r.max).add('cache', r.cache);
    a.flag('CYCLE', r.cycle);
    if (r.table) {
      const column = `${displayName(String(r.table_schema), String(r.table))}.${String(r.column)}`;
      a.add(r.dependency === 'i' ? 'identity of' : 'owned by', column);
    }
    a.common(r);
    if (r.table) {
      // Belongs to its table: a table left behind is one finding, not one per sequence.
      const owner = { schema: r.table_schema, table: r.table };
      const o = child('sequence', owner, name, a);
      o.key = `sequence ${schema}.${name}`;
      o.name = displayName(schema, name);
      o.names = [name, `${schema}.${name}`];
      o.schema = schema;
      o.locate = [[name], [String(r.table), String(r.column)]];
      push(o, r);
    } else {
      push(topLevel('sequence', 'sequence', schema, name, name, a), r);
    }
  }

  for (const r of rows.functions) {
    const schema = String(r.schema);
    const name = String(r.name);
    const kind = FUNCTION_KIND[String(r.kind)] ?? 'function';
    const a = new Attributes();
    a.add('definition', typeof r.definition === 'string' ? r.definition.replace(/\s+$/, '') : undefined).add('aggregate', r.aggregate).common(r);
    push(topLevel(kind, 'function', schema, name, `${name}(${String(r.args ?? '')})`, a), r);
  }

  for (const r of rows.triggers) {
    const a = new Attributes().add('definition', r.definition).add('enabled', ENABLED[String(r.enabled)]).add('comment', r.comment);
    push(child('trigger', r, String(r.name), a), r);
  }

  for (const r of rows.types) {
    const schema = String(r.schema);
    const name = String(r.name);
    const kind = String(r.kind);
    const a = new Attributes().add('kind', TYPE_KIND[kind]);
    if (kind === 'e') a.add('labels', list(r.labels).map(quoteLabel).join(', '));
    if (kind === 'd') {
      a.add('base type', r.base).add('collation', r.collation).flag('NOT NULL', r.notnull).add('default', r.default);
      a.list('constraints', r.checks, '\n');
    }
    if (kind === 'c') a.list('attributes', r.attributes, '\n');
    a.add('range', r.range).add('base', r.base_io).common(r);
    push(topLevel('type', 'type', schema, name, name, a), r);
  }

  for (const r of rows.policies) {
    const a = new Attributes()
      .add('command', POLICY_COMMAND[String(r.command)])
      .add('as', r.permissive === false ? 'RESTRICTIVE' : 'PERMISSIVE')
      .list('to', r.roles)
      .add('using', r.using)
      .add('with check', r.check)
      .add('comment', r.comment);
    push(child('policy', r, String(r.name), a), r);
  }

  for (const r of rows.rules) {
    const a = new Attributes().add('definition', r.definition).add('enabled', ENABLED[String(r.enabled)]);
    push(child('rule', r, String(r.name), a), r);
  }

  for (const r of rows.statistics) {
    push(child('statistics', r, String(r.name), new Attributes().add('definition', r.definition)), r);
  }

  for (const r of rows.eventTriggers) {
    const a = new Attributes().add('event', r.event).add('function', r.function).add('enabled', ENABLED[String(r.enabled)]).list('tags', r.tags);
    push(unqualified('event trigger', '', String(r.name), a), r);
  }

  for (const r of rows.defaultPrivileges) {
    const schema = str(r.schema) ?? '';
    const role = String(r.role);
    const what = DEFACL_KIND[String(r.kind)] ?? String(r.kind);
    const o = unqualified('default privileges', schema, `for ${what} created by ${role}${schema ? ` in schema ${schema}` : ''}`, new Attributes().list('privileges', r.acl));
    o.names = [role];
    o.locate = [[role]];
    push(o, r);
  }
  return out;
}

function quoteLabel(label: string): string {
  return `'${label.replace(/'/g, "''")}'`;
}
