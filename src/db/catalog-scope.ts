import { quoteLiteral } from './quote.js';

/**
 * Scoped catalog reads: the SQL that turns the names a migration can reach into the catalog
 * objects it can change ("units"), and a digest of everything else, computed on the server.
 *
 * A unit is an OID: a table, view, sequence or foreign table (with its columns, indexes,
 * constraints, triggers, policies, rules, statistics, row type and array type), a type (with its
 * array, multirange and constructors), a function, an extension (with its members). A read lists
 * in detail only the units of a scope; for the rest it returns one digest per catalog: the count
 * and two 64-bit hash sums of the catalog rows' versions (`ctid`, `xmin`). A row version never
 * changes: any change to a row is a new version at another place or by another transaction. (The
 * only changes made in place are the statistics, file-level and lazily cleared flags of pg_class
 * and the validity flags of an index being built concurrently, which a snapshot does not show or
 * which only a statement naming the table can make.) Hashing the version, not the row's text,
 * keeps the digest cheap as the catalog grows. Two states whose digests match hold the same rows
 * outside the scope, so every object outside it renders the same in a full snapshot. What an outside object's rendering takes from an
 * object inside the scope (its name, schema, visibility, a function's overloads) is hashed too,
 * for every dependency that crosses the border. Roles are hashed by name where objects use them.
 *
 * Which units a name reaches only decides what is read in detail and what is hashed; a migration
 * that changes an object outside its scope changes the digest, and the caller reads the full
 * catalog then.
 */

/** Scopes one read can digest: the current migration's and the next one's. */
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
  /** Role names objects use, and the session's roles. */
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
  if (now.context !== base.context || scope.crossing !== base.crossing) return false;
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

/** `{"a","b"}`: a text array literal. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** Hands the names to the prepared scope statement through settings of the message's transaction. */
export function scopeNamesSql(names: readonly (readonly string[])[], base?: ScopeBase): string {
  const set = Array.from({ length: MAX_SCOPES }, (_, i) => `set_config('migration_ci.names_${i}', ${quoteLiteral(textArray(names[i] ?? []))}, true)`);
  // Only the scopes asked for are digested: each one hashes the whole rest of the catalog.
  set.push(`set_config('migration_ci.scopes', '${Math.max(1, Math.min(MAX_SCOPES, names.length))}', true)`);
  set.push(`set_config('migration_ci.base', ${quoteLiteral(base ? baseJson(base) : '')}, true)`);
  // The digest joins thousands of catalog rows to materialized lists the planner cannot index or
  // count well: hash joins; and no JIT, whose compiling a plan this wide costs more than running it.
  const planner = PLANNER.map((g) => `set_config('migration_ci.${g}', current_setting('${g}'), true), set_config('${g}', 'off', true)`);
  return `SELECT ${[...set, ...planner].join(', ')}`;
}

const PLANNER = ['enable_nestloop', 'jit'];

/** Puts the planner back as the session had it, for the detail queries after the digest. */
export const RESTORE_PLANNER_SQL = `SELECT ${PLANNER.map((g) => `set_config('${g}', current_setting('migration_ci.${g}'), true)`).join(', ')}`;

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

/**
 * One statement: the units of each scope (names from the `migration_ci.names_N` settings), the
 * first scope's units into `migration_ci.units` for the detail queries, and per scope and catalog
 * the digest of the rows outside the scope. `FirstNormalObjectId` (16384) splits what initdb made
 * from what users made.
 */
export const SCOPE_UNITS_SQL = `
WITH RECURSIVE
sch AS MATERIALIZED (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname !~ '^pg_toast' AND (n.nspname !~ '^pg_temp_' OR n.oid = pg_my_temp_schema())
),
-- Objects of other sessions' temporary schemas and of toast schemas: no snapshot shows them, and
-- another session's temporary tables (the data stage's fingerprints) come and go between two reads.
alien AS MATERIALIZED (
  SELECT ${regclass('pg_class')} AS classid, c.oid AS objid FROM pg_class c WHERE c.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM sch WHERE sch.oid = c.relnamespace)
  UNION ALL SELECT ${regclass('pg_type')}, t.oid FROM pg_type t WHERE t.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM sch WHERE sch.oid = t.typnamespace)
  UNION ALL SELECT ${regclass('pg_proc')}, p.oid FROM pg_proc p WHERE p.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM sch WHERE sch.oid = p.pronamespace)
  UNION ALL SELECT ${regclass('pg_constraint')}, co.oid FROM pg_constraint co WHERE co.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM sch WHERE sch.oid = co.connamespace)
  UNION ALL SELECT ${regclass('pg_trigger')}, tg.oid FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
    WHERE tg.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM sch WHERE sch.oid = c.relnamespace)
  UNION ALL SELECT ${regclass('pg_attrdef')}, ad.oid FROM pg_attrdef ad JOIN pg_class c ON c.oid = ad.adrelid
    WHERE ad.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM sch WHERE sch.oid = c.relnamespace)
),
cls AS MATERIALIZED (
  SELECT c.oid, c.relkind,
         CASE WHEN c.relkind IN ('i', 'I') THEN x.indrelid WHEN c.relkind = 'c' THEN c.reltype ELSE c.oid END AS unit,
         ROW(c.ctid, c.xmin, s.nspname)::text AS r
  FROM pg_class c JOIN sch s ON s.oid = c.relnamespace LEFT JOIN pg_index x ON x.indexrelid = c.oid
  WHERE c.oid >= 16384
),
typbase AS MATERIALIZED (
  SELECT t.oid, t.typarray,
         CASE WHEN t.typrelid <> 0 AND rc.relkind <> 'c' THEN t.typrelid WHEN mr.rngtypid IS NOT NULL THEN mr.rngtypid ELSE t.oid END AS base,
         ROW(t.ctid, t.xmin, s.nspname)::text AS r
  FROM pg_type t JOIN sch s ON s.oid = t.typnamespace
  LEFT JOIN pg_class rc ON rc.oid = t.typrelid
  -- rngmultitypid is new in Postgres 14: read through jsonb so that 13 has none.
  LEFT JOIN (SELECT rg.rngtypid, (to_jsonb(rg) ->> 'rngmultitypid')::oid AS multi FROM pg_range rg) mr ON mr.multi = t.oid
  WHERE t.oid >= 16384
),
typ AS MATERIALIZED (
  SELECT b.oid, coalesce(el.base, b.base) AS unit, b.r
  FROM typbase b LEFT JOIN typbase el ON el.typarray = b.oid
),
prc AS MATERIALIZED (
  SELECT p.oid,
         coalesce((SELECT ty.unit FROM pg_depend d JOIN typ ty ON ty.oid = d.refobjid
                   WHERE d.classid = ${regclass('pg_proc')} AND d.objid = p.oid AND d.refclassid = ${regclass('pg_type')} AND d.deptype = 'i' LIMIT 1), p.oid) AS unit,
         ROW(p.ctid, p.xmin, s.nspname)::text AS r
  FROM pg_proc p JOIN sch s ON s.oid = p.pronamespace
  WHERE p.oid >= 16384
),
con AS MATERIALIZED (
  SELECT co.oid, coalesce(c.unit, t.unit, 0::oid) AS unit, ROW(co.ctid, co.xmin)::text AS r
  FROM pg_constraint co JOIN sch s ON s.oid = co.connamespace LEFT JOIN cls c ON c.oid = co.conrelid LEFT JOIN typ t ON t.oid = co.contypid
  WHERE co.oid >= 16384
),
trg AS MATERIALIZED (
  -- A foreign key's triggers on the table it references are the foreign key's.
  SELECT tg.oid, coalesce(CASE WHEN tg.tgisinternal AND tg.tgconstraint <> 0 THEN k.unit END, c.unit, 0::oid) AS unit, ROW(tg.ctid, tg.xmin)::text AS r
  FROM pg_trigger tg LEFT JOIN cls c ON c.oid = tg.tgrelid LEFT JOIN con k ON k.oid = tg.tgconstraint
  WHERE tg.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM alien al WHERE al.classid = ${regclass('pg_trigger')} AND al.objid = tg.oid)
),
obj AS MATERIALIZED (
  SELECT ${regclass('pg_class')} AS classid, oid AS objid, unit FROM cls
  UNION ALL SELECT ${regclass('pg_type')}, oid, unit FROM typ
  UNION ALL SELECT ${regclass('pg_proc')}, oid, unit FROM prc
  UNION ALL SELECT ${regclass('pg_constraint')}, oid, unit FROM con
  UNION ALL SELECT ${regclass('pg_trigger')}, oid, unit FROM trg
  UNION ALL SELECT ${regclass('pg_attrdef')}, ad.oid, c.unit FROM pg_attrdef ad JOIN cls c ON c.oid = ad.adrelid
  UNION ALL SELECT ${regclass('pg_rewrite')}, rw.oid, c.unit FROM pg_rewrite rw JOIN cls c ON c.oid = rw.ev_class
  UNION ALL SELECT ${regclass('pg_policy')}, po.oid, c.unit FROM pg_policy po JOIN cls c ON c.oid = po.polrelid
  UNION ALL SELECT ${regclass('pg_statistic_ext')}, st.oid, c.unit FROM pg_statistic_ext st JOIN cls c ON c.oid = st.stxrelid
  UNION ALL SELECT ${regclass('pg_extension')}, e.oid, e.oid FROM pg_extension e
),
member AS MATERIALIZED (SELECT classid, objid, refobjid AS ext FROM pg_depend WHERE deptype = 'e' AND refclassid = ${regclass('pg_extension')}),
nm AS (
  ${Array.from({ length: MAX_SCOPES }, (_, i) => `SELECT ${i} AS scope, unnest(coalesce(nullif(current_setting('migration_ci.names_${i}', true), ''), '{}')::text[]) AS name`).join('\n  UNION ALL ')}
),
named AS (
  SELECT nm.scope, c.unit FROM nm JOIN pg_class pc ON pc.relname = nm.name JOIN cls c ON c.oid = pc.oid
  UNION SELECT nm.scope, t.unit FROM nm JOIN pg_type pt ON pt.typname = nm.name JOIN typ t ON t.oid = pt.oid
  UNION SELECT nm.scope, p.unit FROM nm JOIN pg_proc pp ON pp.proname = nm.name JOIN prc p ON p.oid = pp.oid
  UNION SELECT nm.scope, k.unit FROM nm JOIN pg_constraint pk ON pk.conname = nm.name JOIN con k ON k.oid = pk.oid
  UNION SELECT nm.scope, g.unit FROM nm JOIN pg_trigger pg ON pg.tgname = nm.name JOIN trg g ON g.oid = pg.oid
  UNION SELECT nm.scope, c.unit FROM nm JOIN pg_policy po ON po.polname = nm.name JOIN cls c ON c.oid = po.polrelid
  UNION SELECT nm.scope, c.unit FROM nm JOIN pg_rewrite rw ON rw.rulename = nm.name JOIN cls c ON c.oid = rw.ev_class
  UNION SELECT nm.scope, c.unit FROM nm JOIN pg_statistic_ext st ON st.stxname = nm.name JOIN cls c ON c.oid = st.stxrelid
  UNION SELECT nm.scope, e.oid FROM nm JOIN pg_extension e ON e.extname = nm.name
),
reached AS (
  SELECT scope, unit FROM named
  -- An extension's members, a table's inheritance children and partitions, its sequences.
  UNION SELECT n.scope, o.unit FROM named n JOIN member m ON m.ext = n.unit JOIN obj o ON o.classid = m.classid AND o.objid = m.objid
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
clsx AS MATERIALIZED (
  -- Relations with their unit, and toast tables with their indexes under their table's.
  SELECT oid, unit FROM cls
  UNION ALL SELECT pc.reltoastrelid, c.unit FROM cls c JOIN pg_class pc ON pc.oid = c.oid WHERE pc.reltoastrelid <> 0
  UNION ALL SELECT ti.indexrelid, c.unit FROM cls c JOIN pg_class pc ON pc.oid = c.oid JOIN pg_index ti ON ti.indrelid = pc.reltoastrelid WHERE pc.reltoastrelid <> 0
),
crossing AS MATERIALIZED (
  -- Dependencies from outside objects on objects that may be in a scope: what the outside one shows of it.
  SELECT d.classid, d.objid, d.objsubid, d.deptype, d.refclassid, d.refobjid, d.refobjsubid, dep.unit AS dep_unit, ref.unit AS ref_unit
  FROM pg_depend d
  JOIN obj dep ON dep.classid = d.classid AND dep.objid = d.objid
  JOIN obj ref ON ref.classid = d.refclassid AND ref.objid = d.refobjid
  WHERE d.objid >= 16384 AND d.refobjid >= 16384 AND dep.unit IS DISTINCT FROM ref.unit
    AND ref.unit = ANY((SELECT array_agg(u) FROM scopes, unnest(units) u)::oid[])
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
-- The objects whose catalog rows the row statement tracks: of the scopes' units (toast tables with
-- their table, operators and the like with their extension), and of other sessions (unit 0).
tracked_objects AS MATERIALIZED (
  SELECT o.classid, o.objid, o.unit FROM obj o WHERE o.unit = ANY((SELECT array_agg(u) FROM scopes, unnest(units) u)::oid[])
  UNION ALL SELECT ${regclass('pg_class')}, x.oid, x.unit FROM clsx x
    WHERE x.unit = ANY((SELECT array_agg(u) FROM scopes, unnest(units) u)::oid[]) AND NOT EXISTS (SELECT 1 FROM cls c WHERE c.oid = x.oid)
  UNION ALL SELECT m.classid, m.objid, m.ext FROM member m
    WHERE m.classid = ANY(ARRAY[${NAMED_ONLY.map(regclass).join(', ')}]) AND m.ext = ANY((SELECT array_agg(u) FROM scopes, unnest(units) u)::oid[])
  UNION ALL SELECT al.classid, al.objid, 0::oid FROM alien al WHERE NOT EXISTS (SELECT 1 FROM clsx x WHERE al.classid = ${regclass('pg_class')} AND x.oid = al.objid)
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
  (SELECT concat_ws(',', pg_get_userbyid(10), current_user, string_agg(DISTINCT sd.refobjid::text || ':' || pg_get_userbyid(sd.refobjid), ',')) FROM pg_shdepend sd
    WHERE sd.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND sd.refclassid = ${regclass('pg_authid')}), NULL, NULL
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
