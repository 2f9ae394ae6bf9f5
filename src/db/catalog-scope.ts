import { quoteLiteral } from './quote.js';

/**
 * Scoped catalog reads: the SQL that turns the names a migration can reach into the catalog
 * objects it can change ("units"), and the catalog rows that prove everything else unchanged.
 *
 * A unit is an OID: a table, view, sequence or foreign table (with its columns, indexes,
 * constraints, triggers, policies, rules, statistics, toast table, row type and array type), a
 * type (with its array, multirange and constructors), a function, an extension (with its
 * members). A read lists in detail only the units of a scope. For the rest it proves from row
 * versions that nothing moved since the last read. A catalog row's version (`ctid`, `xmin`)
 * never changes: any change to a row is a new version by another transaction. (The only changes
 * made in place are the statistics, file-level and lazily cleared flags of pg_class and the
 * validity flags of an index being built concurrently, which a snapshot does not show or which
 * only a statement naming the table can make.) So a visible row whose xmin the last read's
 * snapshot saw committed is a row that read saw; every other visible row is fresh. Each read
 * counts the rows of every catalog, lists the fresh ones, and lists by index the rows of the
 * scope's units ("tracked"); the next read finds which of those are still in place by their
 * ctid. If per catalog the rows not fresh are the last read's rows minus its tracked rows that
 * are gone, every row gone was the scope's; if every fresh row is the scope's too, every row
 * outside the scope is the row the last read held, so every object outside it renders the same
 * in a full snapshot (`unchangedOutside`). What an outside object's rendering takes from an
 * object inside the scope (its name, schema, visibility, a function's overloads) is hashed for
 * every dependency that crosses the border, and roles are compared by name where objects use
 * them. Other sessions' temporary objects (the data stage's fingerprints) are tracked whole:
 * they come and go between two reads and no snapshot shows them.
 *
 * Every lookup starts from a name or an OID and goes by index; only the counts pass over whole
 * catalogs, one cheap scan each. Which units a name reaches only decides what is read in detail
 * and what is proved; a migration that changes an object outside its scope fails the proof, and
 * the caller reads the full catalog then.
 */

/** Scopes one read can take: the current migration's and the next one's. */
export const MAX_SCOPES = 2;

/** The units of the first scope, as the detail queries read them (set by the scope statement). */
export const SCOPE_UNITS = `coalesce(nullif(current_setting('migration_ci.units', true), ''), '{}')::oid[]`;

/** What a read says of one scope: its units and what outside objects show of them. */
export interface ScopeRead {
  /** Units the scope's names reach in this state, as OIDs in text. */
  units: Set<string>;
  /** The dependencies crossing the scope's border, hashed with what they show of the inside. */
  crossing: string;
}

/** A catalog row a read tracks: its catalog, its version (`ctid/xmin`), its unit ('0': another session's, 'whole': of a kind read whole). */
export interface TrackedRow {
  cat: string;
  version: string;
  unit: string;
}

/** One read's catalog state, as the two scope statements give it. */
export interface CatalogRead {
  scopes: ScopeRead[];
  /** Role names objects use, and the session's roles: `[bootstrap owner, current_user, {oid: name}]` as JSON. */
  context: string;
  /** The read's snapshot (`xmax`, in-progress `xip`), when a later read may be checked against it. */
  marker: { xmax: string; xip: string[] } | undefined;
  /** Per catalog: rows held, and the versions of those the base did not see. */
  held: Map<string, { n: number; fresh: string[] }>;
  /** Rows of the scopes' units, of other sessions, of the kinds read whole. */
  tracked: TrackedRow[];
  /** The base's tracked rows still in place: `cat/version`. */
  alive: Set<string>;
}

/** A read's state under one of its scopes: what a later read under the same names is checked against. */
export interface ScopeBase {
  marker: { xmax: string; xip: string[] };
  context: string;
  crossing: string;
  /** Per catalog, the rows held. */
  held: Map<string, number>;
  /** The tracked rows of this scope's units, of other sessions and of the kinds read whole. */
  tracked: TrackedRow[];
}

const ALWAYS_TRACKED = new Set(['0', 'whole']);

/** The base for a later read under scope `i` of this read; undefined when the read cannot be one (it ran in a transaction that wrote). */
export function baseOf(read: CatalogRead, i: number): ScopeBase | undefined {
  const scope = read.scopes[i];
  if (!read.marker || !scope) return undefined;
  const seen = new Set<string>();
  const tracked = read.tracked.filter((r) => {
    const key = `${r.cat}/${r.version}`;
    if (seen.has(key) || !(ALWAYS_TRACKED.has(r.unit) || scope.units.has(r.unit))) return false;
    seen.add(key);
    return true;
  });
  return { marker: read.marker, context: read.context, crossing: scope.crossing, held: new Map([...read.held].map(([k, v]) => [k, v.n])), tracked };
}

/**
 * True when every catalog row outside the first scope of `now` is the row the base held outside
 * its scope, version for version. Rows are versions: a row the base's snapshot saw committed and
 * that is still visible is the same row. So, per catalog, the rows held now that are not fresh
 * must be the base's rows minus its tracked rows that are gone (every row gone was tracked); every
 * fresh row must be one of the scope's (or another session's, or of a kind read whole); and no
 * object the base's scope held may stay in place while the scope no longer reaches it.
 */
export function unchangedOutside(base: ScopeBase, now: CatalogRead): boolean {
  const scope = now.scopes[0]!;
  if (!sameRoleNames(base.context, now.context) || scope.crossing !== base.crossing) return false;
  const trackedIn = new Map<string, TrackedRow[]>();
  for (const r of base.tracked) trackedIn.set(r.cat, [...(trackedIn.get(r.cat) ?? []), r]);
  for (const cat of new Set([...base.held.keys(), ...now.held.keys()])) {
    const rows = trackedIn.get(cat) ?? [];
    const stayed = rows.filter((r) => now.alive.has(`${cat}/${r.version}`)).length;
    const held = now.held.get(cat) ?? { n: 0, fresh: [] };
    if (held.n - held.fresh.length !== (base.held.get(cat) ?? 0) - rows.length + stayed) return false;
  }
  const ours = new Set(now.tracked.filter((r) => ALWAYS_TRACKED.has(r.unit) || scope.units.has(r.unit)).map((r) => `${r.cat}/${r.version}`));
  for (const [cat, { fresh }] of now.held) if (fresh.some((v) => !ours.has(`${cat}/${v}`))) return false;
  return base.tracked.every((r) => ALWAYS_TRACKED.has(r.unit) || scope.units.has(r.unit) || !now.alive.has(`${r.cat}/${r.version}`));
}

/**
 * The roles both reads name are named alike. A role that objects start or stop using changes
 * those objects' own rows (owner, privileges), which the row versions cover; only a rename
 * changes nothing in this database's catalogs.
 */
function sameRoleNames(base: string, now: string): boolean {
  const parse = (context: string): [string, string, Record<string, string>] | undefined => {
    try {
      return JSON.parse(context) as [string, string, Record<string, string>];
    } catch {
      return undefined;
    }
  };
  const [a, b] = [parse(base), parse(now)];
  if (!a || !b || a[0] !== b[0] || a[1] !== b[1]) return false;
  return Object.entries(b[2]).every(([role, name]) => a[2][role] === undefined || a[2][role] === name);
}

/** `{"a","b"}`: a text array literal. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** Hands the names to the prepared scope statement through settings of the message's transaction. */
export function scopeNamesSql(names: readonly (readonly string[])[], base?: ScopeBase): string {
  const set = Array.from({ length: MAX_SCOPES }, (_, i) => `set_config('migration_ci.names_${i}', ${quoteLiteral(textArray(names[i] ?? []))}, true)`);
  set.push(`set_config('migration_ci.scopes', '${Math.max(1, Math.min(MAX_SCOPES, names.length))}', true)`);
  set.push(`set_config('migration_ci.base', ${quoteLiteral(base ? baseJson(base) : '')}, true)`);
  // The scope statements look objects up one by one by index: nested loops; and no JIT, whose
  // compiling plans this wide costs more than running them.
  const planner = PLANNER.map(([g, v]) => `set_config('migration_ci.${g}', current_setting('${g}'), true), set_config('${g}', '${v}', true)`);
  return `SELECT ${[...set, ...planner].join(', ')}`;
}

const PLANNER: Array<[string, string]> = [
  ['enable_nestloop', 'on'],
  ['jit', 'off'],
];

/** Puts the planner back as the session had it, for the detail queries after the scope statements. */
export const RESTORE_PLANNER_SQL = `SELECT ${PLANNER.map(([g]) => `set_config('${g}', current_setting('migration_ci.${g}'), true)`).join(', ')}`;

/** The base as the row statement reads it: its snapshot and its tracked rows' places per catalog. */
function baseJson(base: ScopeBase): string {
  const tids: Record<string, string[]> = {};
  for (const r of base.tracked) (tids[r.cat] ??= []).push(r.version.slice(0, r.version.indexOf('/')));
  return JSON.stringify({ xmax: base.marker.xmax, xip: base.marker.xip, tids });
}

/** The two statements' rows -> the read's catalog state, with `count` scopes. */
export function catalogRead(scopeRows: Array<Record<string, unknown>>, rowRows: Array<Record<string, unknown>>, count: number): CatalogRead {
  const scopes: ScopeRead[] = [];
  for (let i = 0; i < count; i++) {
    const unitsRow = scopeRows.find((r) => r.kind === '@units' && Number(r.scope) === i);
    const crossingRow = scopeRows.find((r) => r.kind === '@crossing' && Number(r.scope) === i);
    scopes.push({
      units: new Set<string>(Array.isArray(unitsRow?.units) ? (unitsRow.units as unknown[]).map(String) : parseOidArray(unitsRow?.units)),
      crossing: crossingRow ? `${String(crossingRow.n)}:${String(crossingRow.h)}` : '',
    });
  }
  const context = String(scopeRows.find((r) => r.kind === '@context')?.n ?? '');
  const markerRow = rowRows.find((r) => r.kind === '@marker');
  // txid_current_snapshot: xmin:xmax:xip,...
  const [, xmax, xip] = String(markerRow?.a ?? '').split(':');
  const marker = markerRow && markerRow.b === 'false' && xmax ? { xmax, xip: xip ? xip.split(',') : [] } : undefined;
  const held = new Map<string, { n: number; fresh: string[] }>();
  const tracked: TrackedRow[] = [];
  const alive = new Set<string>();
  for (const r of rowRows) {
    const cat = String(r.cat);
    if (r.kind === '@held') held.set(cat, { n: Number(r.a), fresh: Array.isArray(r.fresh) ? (r.fresh as unknown[]).map(String) : [] });
    else if (r.kind === '@row') tracked.push({ cat, version: `${String(r.a)}/${String(r.b)}`, unit: String(r.c) });
    else if (r.kind === '@alive') alive.add(`${cat}/${String(r.a)}/${String(r.b)}`);
  }
  return { scopes, context, marker, held, tracked, alive };
}

function parseOidArray(v: unknown): string[] {
  if (typeof v !== 'string') return [];
  const inner = v.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',');
}

const regclass = (name: string) => `'${name}'::regclass::oid`;

/** Kinds every read lists whole (schemas, extensions, event triggers, default privileges): nothing of theirs is hashed. */
const WHOLE = `ARRAY[${['pg_namespace', 'pg_extension', 'pg_event_trigger', 'pg_default_acl'].map(regclass).join(', ')}]`;

/** Catalogs of objects the snapshot only names from other objects: hashed whole, by the extension they belong to if any. */
const NAMED_ONLY = [
  'pg_operator',
  'pg_opclass',
  'pg_opfamily',
  'pg_amop',
  'pg_amproc',
  'pg_collation',
  'pg_cast',
  'pg_language',
  'pg_foreign_server',
  'pg_foreign_data_wrapper',
  'pg_ts_config',
  'pg_ts_dict',
  'pg_ts_parser',
  'pg_ts_template',
  'pg_conversion',
  'pg_am',
  'pg_transform',
];

/** Catalogs of a table's parts, hashed with the table: [catalog, alias, the column naming the table, extra condition]. */
const TABLE_PARTS: Array<[string, string, string]> = [
  ['pg_attribute', 'a', 'a.attrelid'],
  ['pg_attrdef', 'ad', 'ad.adrelid'],
  ['pg_index', 'x', 'x.indexrelid'],
  ['pg_inherits', 'i', 'i.inhrelid'],
  ['pg_partitioned_table', 'pt', 'pt.partrelid'],
  ['pg_rewrite', 'rw', 'rw.ev_class'],
  ['pg_policy', 'po', 'po.polrelid'],
  ['pg_statistic_ext', 'st', 'st.stxrelid'],
  ['pg_sequence', 'sq', 'sq.seqrelid'],
  ['pg_foreign_table', 'ft', 'ft.ftrelid'],
];

const inSch = (col: string) => `${col} IN (SELECT oid FROM sch)`;

/*
 * The unit of one object, by index lookups from its OID (see the header): what `unitOf` gives
 * decides which units' rows a read tracks; NULL for what no unit holds.
 */
const relUnit = (x: string) =>
  `(SELECT CASE WHEN u_c.relkind IN ('i', 'I') THEN (SELECT u_ix.indrelid FROM pg_index u_ix WHERE u_ix.indexrelid = u_c.oid) WHEN u_c.relkind = 'c' THEN u_c.reltype ELSE u_c.oid END
    FROM pg_class u_c WHERE u_c.oid = ${x} AND u_c.oid >= 16384 AND ${inSch('u_c.relnamespace')})`;
/** A type's own unit: a table's row type is the table's, a multirange its range's. rngmultitypid is new in 14: read through jsonb. */
const typBase = (t: string) =>
  `CASE WHEN ${t}.typrelid <> 0 AND (SELECT u_rc.relkind FROM pg_class u_rc WHERE u_rc.oid = ${t}.typrelid) <> 'c' THEN ${t}.typrelid
        ELSE coalesce((SELECT u_rg.rngtypid FROM pg_range u_rg WHERE (to_jsonb(u_rg) ->> 'rngmultitypid')::oid = ${t}.oid), ${t}.oid) END`;
/** An array type is its element's. */
const typUnit = (x: string) =>
  `(SELECT coalesce((SELECT ${typBase('u_e')} FROM pg_type u_e WHERE u_e.oid = u_t.typelem AND u_e.typarray = u_t.oid AND u_e.oid >= 16384 AND ${inSch('u_e.typnamespace')}), ${typBase('u_t')})
    FROM pg_type u_t WHERE u_t.oid = ${x} AND u_t.oid >= 16384 AND ${inSch('u_t.typnamespace')})`;
/** A type's constructors are the type's. */
const procUnit = (x: string) =>
  `(SELECT coalesce((SELECT u_tu.u FROM pg_depend u_pd CROSS JOIN LATERAL (SELECT ${typUnit('u_pd.refobjid')} AS u) u_tu
      WHERE u_pd.classid = ${regclass('pg_proc')} AND u_pd.objid = u_p.oid AND u_pd.refclassid = ${regclass('pg_type')} AND u_pd.deptype = 'i' AND u_tu.u IS NOT NULL LIMIT 1), u_p.oid)
    FROM pg_proc u_p WHERE u_p.oid = ${x} AND u_p.oid >= 16384 AND ${inSch('u_p.pronamespace')})`;
const conUnit = (x: string) =>
  `(SELECT coalesce(${relUnit('u_k.conrelid')}, ${typUnit('u_k.contypid')}, 0::oid) FROM pg_constraint u_k WHERE u_k.oid = ${x} AND u_k.oid >= 16384 AND ${inSch('u_k.connamespace')})`;
/** A foreign key's triggers on the table it references are the foreign key's. */
const trgUnit = (x: string) =>
  `(SELECT coalesce(CASE WHEN u_g.tgisinternal AND u_g.tgconstraint <> 0 THEN ${conUnit('u_g.tgconstraint')} END, ${relUnit('u_g.tgrelid')}, 0::oid)
    FROM pg_trigger u_g WHERE u_g.oid = ${x} AND u_g.oid >= 16384 AND (SELECT u_gc.relnamespace FROM pg_class u_gc WHERE u_gc.oid = u_g.tgrelid) IN (SELECT oid FROM sch))`;
const partUnit = (cat: string, rel: string, x: string) => relUnit(`(SELECT u_q.${rel} FROM ${cat} u_q WHERE u_q.oid = ${x})`);
const unitOf = (classid: string, objid: string) => `CASE ${classid}
    WHEN ${regclass('pg_class')} THEN ${relUnit(objid)}
    WHEN ${regclass('pg_type')} THEN ${typUnit(objid)}
    WHEN ${regclass('pg_proc')} THEN ${procUnit(objid)}
    WHEN ${regclass('pg_constraint')} THEN ${conUnit(objid)}
    WHEN ${regclass('pg_trigger')} THEN ${trgUnit(objid)}
    WHEN ${regclass('pg_attrdef')} THEN ${partUnit('pg_attrdef', 'adrelid', objid)}
    WHEN ${regclass('pg_rewrite')} THEN ${partUnit('pg_rewrite', 'ev_class', objid)}
    WHEN ${regclass('pg_policy')} THEN ${partUnit('pg_policy', 'polrelid', objid)}
    WHEN ${regclass('pg_statistic_ext')} THEN ${partUnit('pg_statistic_ext', 'stxrelid', objid)}
    WHEN ${regclass('pg_extension')} THEN (SELECT u_ex.oid FROM pg_extension u_ex WHERE u_ex.oid = ${objid}) END`;

const ALL_UNITS = '(SELECT units FROM all_units)::oid[]';

/**
 * The first statement: the units of each scope (names from the `migration_ci.names_N` settings),
 * the first scope's units into `migration_ci.units` for the detail queries, the objects of the
 * scopes' units and of other sessions into settings for the row statement, and per scope what
 * outside objects show of the inside. Every lookup starts from a name or an OID and goes by
 * index, so the cost follows the scope, not the catalog. `FirstNormalObjectId` (16384) splits
 * what initdb made from what users made.
 */
export const SCOPE_UNITS_SQL = `
WITH RECURSIVE
sch AS MATERIALIZED (
  SELECT n.oid FROM pg_namespace n
  WHERE n.nspname !~ '^pg_toast' AND (n.nspname !~ '^pg_temp_' OR n.oid = pg_my_temp_schema())
),
nm AS (
  ${Array.from({ length: MAX_SCOPES }, (_, i) => `SELECT ${i} AS scope, unnest(coalesce(nullif(current_setting('migration_ci.names_${i}', true), ''), '{}')::text[]) AS name`).join('\n  UNION ALL ')}
),
-- By name, through the catalogs' name indexes (lookups kept apart: a hash over the whole catalog costs the catalog).
named AS (
  SELECT nm.scope, ${relUnit('pc.oid')} AS unit FROM nm CROSS JOIN LATERAL (SELECT oid FROM pg_class WHERE relname = nm.name OFFSET 0) pc
  UNION SELECT nm.scope, ${typUnit('pt.oid')} FROM nm CROSS JOIN LATERAL (SELECT oid FROM pg_type WHERE typname = nm.name OFFSET 0) pt
  UNION SELECT nm.scope, ${procUnit('pp.oid')} FROM nm CROSS JOIN LATERAL (SELECT oid FROM pg_proc WHERE proname = nm.name OFFSET 0) pp
  UNION SELECT nm.scope, ${conUnit('pk.oid')} FROM nm CROSS JOIN LATERAL (SELECT oid FROM pg_constraint WHERE conname = nm.name OFFSET 0) pk
  -- Triggers, policies and rules have no index by name alone: one pass each.
  UNION SELECT nm.scope, ${trgUnit('pg.oid')} FROM nm JOIN pg_trigger pg ON pg.tgname = nm.name
  UNION SELECT nm.scope, ${relUnit('po.polrelid')} FROM nm JOIN pg_policy po ON po.polname = nm.name
  UNION SELECT nm.scope, ${relUnit('rw.ev_class')} FROM nm JOIN pg_rewrite rw ON rw.rulename = nm.name
  UNION SELECT nm.scope, ${relUnit('st.stxrelid')} FROM nm CROSS JOIN LATERAL (SELECT stxrelid FROM pg_statistic_ext WHERE stxname = nm.name OFFSET 0) st
  UNION SELECT nm.scope, e.oid FROM nm JOIN pg_extension e ON e.extname = nm.name
),
reached AS (
  SELECT scope, unit FROM named WHERE unit IS NOT NULL
  -- An extension's members, a table's inheritance children and partitions, its sequences.
  UNION SELECT n.scope, ${unitOf('m.classid', 'm.objid')} FROM named n
    JOIN pg_depend m ON m.refclassid = ${regclass('pg_extension')} AND m.refobjid = n.unit AND m.deptype = 'e'
  UNION SELECT r.scope, i.inhrelid FROM reached r JOIN pg_inherits i ON i.inhparent = r.unit
),
closed AS (
  SELECT scope, unit FROM reached
  UNION SELECT r.scope, d.objid FROM reached r
    JOIN pg_depend d ON d.refclassid = ${regclass('pg_class')} AND d.refobjid = r.unit AND d.classid = ${regclass('pg_class')} AND d.deptype IN ('a', 'i')
    JOIN pg_class sq ON sq.oid = d.objid AND sq.relkind = 'S'
),
scopes AS MATERIALIZED (
  SELECT g.scope, coalesce((SELECT array_agg(DISTINCT c.unit ORDER BY c.unit) FROM closed c WHERE c.scope = g.scope AND c.unit IS NOT NULL AND c.unit <> 0), '{}')::oid[] AS units
  FROM generate_series(0, coalesce(nullif(current_setting('migration_ci.scopes', true), '')::int, ${MAX_SCOPES}) - 1) AS g(scope)
),
all_units AS MATERIALIZED (SELECT coalesce(array_agg(DISTINCT u), '{}')::oid[] AS units FROM scopes, unnest(units) u),
-- The types of a unit: itself, a table's row type, a range's multirange; and their arrays.
unit_types AS MATERIALIZED (
  SELECT t.oid FROM unnest(${ALL_UNITS}) u JOIN pg_type t ON t.oid = u
  UNION SELECT t.oid FROM unnest(${ALL_UNITS}) u JOIN pg_class c ON c.oid = u JOIN pg_type t ON t.oid = c.reltype
  UNION SELECT (to_jsonb(rg) ->> 'rngmultitypid')::oid FROM unnest(${ALL_UNITS}) u JOIN pg_range rg ON rg.rngtypid = u
),
unit_classes AS MATERIALIZED (
  SELECT u AS oid FROM unnest(${ALL_UNITS}) u
  UNION SELECT ix.indexrelid FROM unnest(${ALL_UNITS}) u JOIN pg_index ix ON ix.indrelid = u
  UNION SELECT t.typrelid FROM unnest(${ALL_UNITS}) u JOIN pg_type t ON t.oid = u WHERE t.typrelid <> 0
),
unit_constraints AS MATERIALIZED (
  SELECT k.oid FROM unnest(${ALL_UNITS}) u JOIN pg_constraint k ON k.conrelid = u
  UNION SELECT k.oid FROM unnest(${ALL_UNITS}) u JOIN pg_constraint k ON k.contypid = u
),
-- Every object a unit may hold, found from the units by index, each kept under the unit it is of.
candidates AS (
  SELECT ${regclass('pg_class')} AS classid, oid AS objid FROM unit_classes
  UNION ALL SELECT ${regclass('pg_type')}, oid FROM unit_types
  UNION ALL SELECT ${regclass('pg_type')}, t.typarray FROM unit_types ut JOIN pg_type t ON t.oid = ut.oid WHERE t.typarray <> 0
  UNION ALL SELECT ${regclass('pg_constraint')}, oid FROM unit_constraints
  UNION ALL SELECT ${regclass('pg_trigger')}, g.oid FROM unnest(${ALL_UNITS}) u JOIN pg_trigger g ON g.tgrelid = u
  UNION ALL SELECT ${regclass('pg_trigger')}, g.oid FROM unit_constraints k JOIN pg_trigger g ON g.tgconstraint = k.oid
  UNION ALL SELECT ${regclass('pg_attrdef')}, ad.oid FROM unnest(${ALL_UNITS}) u JOIN pg_attrdef ad ON ad.adrelid = u
  UNION ALL SELECT ${regclass('pg_rewrite')}, rw.oid FROM unnest(${ALL_UNITS}) u JOIN pg_rewrite rw ON rw.ev_class = u
  UNION ALL SELECT ${regclass('pg_policy')}, po.oid FROM unnest(${ALL_UNITS}) u JOIN pg_policy po ON po.polrelid = u
  UNION ALL SELECT ${regclass('pg_statistic_ext')}, st.oid FROM unnest(${ALL_UNITS}) u JOIN pg_statistic_ext st ON st.stxrelid = u
  UNION ALL SELECT ${regclass('pg_proc')}, u FROM unnest(${ALL_UNITS}) u
  UNION ALL SELECT ${regclass('pg_proc')}, d.objid FROM unit_types ut
    JOIN pg_depend d ON d.refclassid = ${regclass('pg_type')} AND d.refobjid = ut.oid AND d.classid = ${regclass('pg_proc')} AND d.deptype = 'i'
  UNION ALL SELECT ${regclass('pg_extension')}, u FROM unnest(${ALL_UNITS}) u
),
unit_objects AS MATERIALIZED (
  SELECT classid, objid, unit FROM (SELECT DISTINCT classid, objid FROM candidates WHERE objid <> 0) c
  CROSS JOIN LATERAL (SELECT ${unitOf('c.classid', 'c.objid')} AS unit OFFSET 0) u
  WHERE u.unit = ANY(${ALL_UNITS})
),
-- Other sessions' temporary schemas and their toast schemas: no snapshot shows what is in them,
-- and another session's temporary tables (the data stage's fingerprints) come and go between two reads.
alien_ns AS MATERIALIZED (
  SELECT n.oid FROM pg_namespace n WHERE n.nspname ~ '^pg_(toast_)?temp_' AND n.oid <> pg_my_temp_schema()
    AND n.nspname IS DISTINCT FROM (SELECT replace(m.nspname, 'pg_temp_', 'pg_toast_temp_') FROM pg_namespace m WHERE m.oid = pg_my_temp_schema())
),
alien_classes AS MATERIALIZED (SELECT c.oid FROM pg_class c WHERE c.oid >= 16384 AND c.relnamespace IN (SELECT oid FROM alien_ns)),
alien AS (
  SELECT ${regclass('pg_class')} AS classid, oid AS objid FROM alien_classes
  UNION ALL SELECT ${regclass('pg_type')}, t.oid FROM pg_type t WHERE t.oid >= 16384 AND t.typnamespace IN (SELECT oid FROM alien_ns)
  UNION ALL SELECT ${regclass('pg_proc')}, p.oid FROM pg_proc p WHERE p.oid >= 16384 AND p.pronamespace IN (SELECT oid FROM alien_ns)
  UNION ALL SELECT ${regclass('pg_constraint')}, k.oid FROM pg_constraint k WHERE k.oid >= 16384 AND k.connamespace IN (SELECT oid FROM alien_ns)
  UNION ALL SELECT ${regclass('pg_trigger')}, g.oid FROM alien_classes a JOIN pg_trigger g ON g.tgrelid = a.oid
  UNION ALL SELECT ${regclass('pg_attrdef')}, ad.oid FROM alien_classes a JOIN pg_attrdef ad ON ad.adrelid = a.oid
),
-- The objects whose catalog rows the row statement tracks: of the scopes' units (toast tables with
-- their table, operators and the like with their extension), and of other sessions (unit 0).
tracked_objects AS MATERIALIZED (
  SELECT classid, objid, unit FROM unit_objects
  UNION ALL SELECT ${regclass('pg_class')}, pc.reltoastrelid, o.unit FROM unit_objects o JOIN pg_class pc ON pc.oid = o.objid
    WHERE o.classid = ${regclass('pg_class')} AND pc.reltoastrelid <> 0
  UNION ALL SELECT ${regclass('pg_class')}, ti.indexrelid, o.unit FROM unit_objects o JOIN pg_class pc ON pc.oid = o.objid JOIN pg_index ti ON ti.indrelid = pc.reltoastrelid
    WHERE o.classid = ${regclass('pg_class')} AND pc.reltoastrelid <> 0
  UNION ALL SELECT m.classid, m.objid, m.refobjid FROM unnest(${ALL_UNITS}) u
    JOIN pg_depend m ON m.refclassid = ${regclass('pg_extension')} AND m.refobjid = u AND m.deptype = 'e'
    WHERE m.classid = ANY(ARRAY[${NAMED_ONLY.map(regclass).join(', ')}])
  UNION ALL SELECT classid, objid, 0::oid FROM alien
),
crossing AS MATERIALIZED (
  -- Dependencies from outside objects on objects of a scope's units: what the outside one shows of it.
  SELECT d.classid, d.objid, d.objsubid, d.deptype, d.refclassid, d.refobjid, d.refobjsubid, dep.unit AS dep_unit, r.unit AS ref_unit
  FROM unit_objects r
  -- Lookups kept apart (OFFSET 0): the catalogs' statistics lag behind a migration's changes, and a plan that scans them whole costs the catalog, not the scope.
  CROSS JOIN LATERAL (SELECT * FROM pg_depend d WHERE d.refclassid = r.classid AND d.refobjid = r.objid AND d.objid >= 16384 OFFSET 0) d
  CROSS JOIN LATERAL (SELECT ${unitOf('d.classid', 'd.objid')} AS unit OFFSET 0) dep
  WHERE dep.unit IS NOT NULL AND dep.unit IS DISTINCT FROM r.unit
),
names AS (
  SELECT s.scope, hashtextextended(t, 0) AS h1, hashtextextended(t, 1) AS h2 FROM scopes s
  JOIN LATERAL (
    SELECT ROW(x.classid, x.objid, x.objsubid, x.deptype, pg_describe_object(x.refclassid, x.refobjid, x.refobjsubid),
               CASE WHEN x.refclassid = ${regclass('pg_type')} THEN (SELECT ROW(ty.typstorage, ty.typcollation)::text FROM pg_type ty WHERE ty.oid = x.refobjid)
                    WHEN x.refclassid = ${regclass('pg_proc')} THEN (SELECT count(*)::text FROM pg_proc a JOIN pg_proc b ON b.proname = a.proname WHERE a.oid = x.refobjid) END)::text AS t
    FROM crossing x WHERE x.ref_unit = ANY(s.units) AND NOT x.dep_unit = ANY(s.units)
  ) n ON true
),
crossed AS (
  SELECT scope, count(*) AS n, sum(h1) AS a, sum(h2) AS b FROM names GROUP BY scope
),
settings AS (
  SELECT set_config('migration_ci.units', (SELECT units::text FROM scopes WHERE scope = 0), true) AS units,
         set_config('migration_ci.tracked_class', (SELECT coalesce(array_agg(classid), '{}')::text FROM tracked_objects), true) AS tracked_class,
         set_config('migration_ci.tracked_id', (SELECT coalesce(array_agg(objid), '{}')::text FROM tracked_objects), true) AS tracked_id,
         set_config('migration_ci.tracked_unit', (SELECT coalesce(array_agg(unit), '{}')::text FROM tracked_objects), true) AS tracked_unit
)
SELECT s.scope, '@units' AS kind, NULL AS n, NULL AS h, s.units FROM scopes s CROSS JOIN settings
UNION ALL SELECT scope, '@crossing', n::text, concat_ws(':', a, b), NULL FROM crossed
UNION ALL SELECT NULL, '@context',
  -- Roles by name where objects use them, and the owner of what initdb made: a renamed role renders differently everywhere.
  (SELECT json_build_array(pg_get_userbyid(10), current_user, coalesce(json_object_agg(sd.role, pg_get_userbyid(sd.role)), '{}'))::text
    FROM (SELECT DISTINCT refobjid AS role FROM pg_shdepend
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND refclassid = ${regclass('pg_authid')}) sd), NULL, NULL
`;

/** A row the base did not see: its xmin was not committed in the base's snapshot (no base: none is). */
const FRESH = 'coalesce(NOT (age(x.xmin) > (SELECT age_xmax FROM mark) AND x.xmin <> ALL((SELECT xip FROM mark)::xid[])), false)';

const MY_DB = `(SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * Per tracked catalog: the rows a state holds (`keep`, over alias `x`) and how the rows of a
 * tracked object (alias `t`: classid, objid) are found in it, by an index.
 */
const CATALOG_ROWS: Array<{ cat: string; keep: string; of: string }> = [
  { cat: 'pg_class', keep: 'x.oid >= 16384', of: `t.classid = ${regclass('pg_class')} AND x.oid = t.objid` },
  ...TABLE_PARTS.map(([cat, a, rel]) => {
    const col = rel.slice(a.length + 1);
    return { cat, keep: `x.${col} >= 16384`, of: `t.classid = ${regclass('pg_class')} AND x.${col} = t.objid` };
  }),
  ...['pg_constraint', 'pg_trigger', 'pg_type', 'pg_proc'].map((cat) => ({ cat, keep: 'x.oid >= 16384', of: `t.classid = ${regclass(cat)} AND x.oid = t.objid` })),
  { cat: 'pg_enum', keep: 'x.enumtypid >= 16384', of: `t.classid = ${regclass('pg_type')} AND x.enumtypid = t.objid` },
  { cat: 'pg_range', keep: 'x.rngtypid >= 16384', of: `t.classid = ${regclass('pg_type')} AND x.rngtypid = t.objid` },
  { cat: 'pg_aggregate', keep: 'x.aggfnoid >= 16384', of: `t.classid = ${regclass('pg_proc')} AND x.aggfnoid = t.objid` },
  { cat: 'pg_description', keep: 'x.objoid >= 16384', of: 'x.objoid = t.objid AND x.classoid = t.classid' },
  { cat: 'pg_depend', keep: 'x.objid >= 16384', of: 'x.classid = t.classid AND x.objid = t.objid' },
  { cat: 'pg_shdepend', keep: `x.dbid = ${MY_DB}`, of: 'x.classid = t.classid AND x.objid = t.objid' },
  ...NAMED_ONLY.map((cat) => ({ cat, keep: 'x.oid >= 16384', of: `t.classid = ${regclass(cat)} AND x.oid = t.objid` })),
];

/** Catalogs whose rows of the kinds read whole are tracked too, with the column naming the kind. */
const WHOLE_ROWS: Array<[string, string]> = [
  ['pg_description', 'classoid'],
  ['pg_depend', 'classid'],
  ['pg_shdepend', 'classid'],
];

/**
 * The second statement, run with the planner as the session has it (its lookups are by index):
 * per catalog the rows held and the fresh ones (whose xmin the base's snapshot did not see
 * committed), the rows of the objects the scope statement listed, and which of the base's
 * tracked rows are still where they were. With this snapshot's own marker, for the next read.
 */
export const SCOPE_ROWS_SQL = `
WITH
base AS MATERIALIZED (SELECT nullif(current_setting('migration_ci.base', true), '')::jsonb AS j),
mark AS MATERIALIZED (
  SELECT age(((j ->> 'xmax')::bigint % 4294967296)::text::xid) AS age_xmax,
         ARRAY(SELECT (x::bigint % 4294967296)::text::xid FROM jsonb_array_elements_text(j -> 'xip') x) AS xip
  FROM base WHERE j IS NOT NULL
),
tracked_objects AS MATERIALIZED (
  SELECT * FROM unnest(
    coalesce(nullif(current_setting('migration_ci.tracked_class', true), ''), '{}')::oid[],
    coalesce(nullif(current_setting('migration_ci.tracked_id', true), ''), '{}')::oid[],
    coalesce(nullif(current_setting('migration_ci.tracked_unit', true), ''), '{}')::oid[]) AS t(classid, objid, unit)
),
held AS (
  ${CATALOG_ROWS.map(
    ({ cat, keep }) => `SELECT '${cat}' AS cat, count(*) AS n, array_agg(x.ctid::text || '/' || x.xmin::text) FILTER (WHERE ${FRESH}) AS fresh
    FROM ${cat} x WHERE ${keep}`,
  ).join('\n  UNION ALL ')}
),
tracked AS (
  -- From each object into the catalog by its index: a lateral lookup kept apart (OFFSET 0), as the catalogs' statistics lag behind a migration's changes.
  ${CATALOG_ROWS.map(({ cat, keep, of }) => `SELECT '${cat}' AS cat, x.ctid, x.xmin, t.unit::text AS unit FROM tracked_objects t CROSS JOIN LATERAL (SELECT x.ctid, x.xmin FROM ${cat} x WHERE ${of} AND ${keep} OFFSET 0) x`).join('\n  UNION ALL ')}
  ${WHOLE_ROWS.map(([cat, col]) => `UNION ALL SELECT '${cat}', x.ctid, x.xmin, 'whole' FROM ${cat} x WHERE x.${col} = ANY(${WHOLE}) AND ${CATALOG_ROWS.find((c) => c.cat === cat)!.keep}`).join('\n  ')}
),
alive AS (
  ${CATALOG_ROWS.map(({ cat }) => `SELECT '${cat}' AS cat, x.ctid, x.xmin FROM ${cat} x WHERE x.ctid = ANY(ARRAY(SELECT jsonb_array_elements_text((SELECT j FROM base) -> 'tids' -> '${cat}'))::tid[])`).join('\n  UNION ALL ')}
)
SELECT '@marker' AS kind, NULL AS cat, txid_current_snapshot()::text AS a, (txid_current_if_assigned() IS NOT NULL)::text AS b, NULL AS c, NULL::text[] AS fresh
UNION ALL SELECT '@held', cat, n::text, NULL, NULL, fresh FROM held
UNION ALL SELECT '@row', cat, ctid::text, xmin::text, unit, NULL FROM tracked
UNION ALL SELECT '@alive', cat, ctid::text, xmin::text, NULL, NULL FROM alive
`;
