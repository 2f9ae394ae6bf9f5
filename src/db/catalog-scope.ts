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

export interface ScopeDigest {
  /** Units the scope's names reach in this state, as OIDs in text. */
  units: Set<string>;
  /** The rest of the catalog, hashed: equal digests mean equal rows outside the units. */
  digest: string;
}

/** `{"a","b"}`: a text array literal. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** Hands the names to the prepared scope statement through settings of the message's transaction. */
export function scopeNamesSql(names: readonly (readonly string[])[]): string {
  const set = Array.from({ length: MAX_SCOPES }, (_, i) => `set_config('migration_ci.names_${i}', ${quoteLiteral(textArray(names[i] ?? []))}, true)`);
  // Only the scopes asked for are digested: each one hashes the whole rest of the catalog.
  set.push(`set_config('migration_ci.scopes', '${Math.max(1, Math.min(MAX_SCOPES, names.length))}', true)`);
  // The digest joins thousands of catalog rows to materialized lists the planner cannot index or
  // count well: hash joins; and no JIT, whose compiling a plan this wide costs more than running it.
  const planner = PLANNER.map((g) => `set_config('migration_ci.${g}', current_setting('${g}'), true), set_config('${g}', 'off', true)`);
  return `SELECT ${[...set, ...planner].join(', ')}`;
}

const PLANNER = ['enable_nestloop', 'jit'];

/** Puts the planner back as the session had it, for the detail queries after the digest. */
export const RESTORE_PLANNER_SQL = `SELECT ${PLANNER.map((g) => `set_config('${g}', current_setting('migration_ci.${g}'), true)`).join(', ')}`;

/** The scope statement's rows -> one digest per scope asked for. */
export function scopeDigests(rows: Array<Record<string, unknown>>, count: number): ScopeDigest[] {
  const out: ScopeDigest[] = [];
  for (let i = 0; i < count; i++) {
    const mine = rows.filter((r) => Number(r.scope) === i);
    const unitsRow = mine.find((r) => r.kind === '@units');
    const units = new Set<string>(Array.isArray(unitsRow?.units) ? (unitsRow.units as unknown[]).map(String) : parseOidArray(unitsRow?.units));
    const digest = mine
      .filter((r) => r.kind !== '@units')
      .map((r) => `${String(r.kind)}:${String(r.n)}:${String(r.h)}`)
      .sort()
      .join('\n');
    out.push({ units, digest });
  }
  return out;
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
export const SCOPE_DIGEST_SQL = `
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
rows AS (
  SELECT kind, coalesce(unit, 0::oid) AS unit, hashtextextended(r, 0) AS h1, hashtextextended(r, 1) AS h2 FROM (
    SELECT 'class' AS kind, unit, r FROM cls
    ${TABLE_PARTS.map(([cat, a, rel]) => `UNION ALL SELECT '${cat}', c.unit, ROW(${a}.ctid, ${a}.xmin)::text FROM ${cat} ${a} JOIN cls c ON c.oid = ${rel}`).join('\n    ')}
    UNION ALL SELECT 'pg_constraint', unit, r FROM con
    UNION ALL SELECT 'pg_trigger', unit, r FROM trg
    UNION ALL SELECT 'pg_type', unit, r FROM typ
    UNION ALL SELECT 'pg_enum', t.unit, ROW(e.ctid, e.xmin)::text FROM pg_enum e JOIN typ t ON t.oid = e.enumtypid
    UNION ALL SELECT 'pg_range', t.unit, ROW(rg.ctid, rg.xmin)::text FROM pg_range rg JOIN typ t ON t.oid = rg.rngtypid
    UNION ALL SELECT 'pg_proc', unit, r FROM prc
    UNION ALL SELECT 'pg_aggregate', p.unit, ROW(ag.ctid, ag.xmin)::text FROM pg_aggregate ag JOIN prc p ON p.oid = ag.aggfnoid
    UNION ALL SELECT 'pg_description', o.unit, ROW(d.ctid, d.xmin)::text FROM pg_description d LEFT JOIN obj o ON o.classid = d.classoid AND o.objid = d.objoid
      WHERE d.objoid >= 16384 AND d.classoid <> ALL(${WHOLE}) AND NOT EXISTS (SELECT 1 FROM alien al WHERE al.classid = d.classoid AND al.objid = d.objoid)
    UNION ALL SELECT 'pg_depend', o.unit, ROW(d.ctid, d.xmin)::text FROM pg_depend d LEFT JOIN obj o ON o.classid = d.classid AND o.objid = d.objid
      -- Toast tables and their indexes are their table's storage, nothing a snapshot shows.
      WHERE d.objid >= 16384 AND d.classid <> ALL(${WHOLE}) AND (d.classid <> ${regclass('pg_class')} OR o.unit IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM alien al WHERE al.classid = d.classid AND al.objid = d.objid)
    -- Owners, grantees and policy roles by name: a renamed role renders differently everywhere.
    UNION ALL SELECT 'pg_shdepend', o.unit, ROW(sd.classid, sd.objid, sd.objsubid, sd.refobjid, pg_get_userbyid(sd.refobjid), sd.deptype)::text
      FROM pg_shdepend sd LEFT JOIN obj o ON o.classid = sd.classid AND o.objid = sd.objid
      WHERE sd.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND sd.refclassid = ${regclass('pg_authid')}
        AND sd.classid <> ALL(${WHOLE}) AND NOT EXISTS (SELECT 1 FROM alien al WHERE al.classid = sd.classid AND al.objid = sd.objid)
    UNION ALL SELECT 'session', 0::oid, ROW(pg_get_userbyid(10), current_user)::text
    ${NAMED_ONLY.map((cat) => `UNION ALL SELECT '${cat}', m.ext, ROW(x.ctid, x.xmin)::text FROM ${cat} x LEFT JOIN member m ON m.classid = ${regclass(cat)} AND m.objid = x.oid WHERE x.oid >= 16384`).join('\n    ')}
  ) raw
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
hashed AS MATERIALIZED (
  -- Four 32-bit parts of two 64-bit hashes: integer sums, exact and fast.
  SELECT r.scope, r.kind, r.unit, (r.h1 >> 32)::int4 AS a, (r.h1 & 2147483647)::int4 AS b, (r.h2 >> 32)::int4 AS c, (r.h2 & 2147483647)::int4 AS d
  FROM (SELECT NULL::int AS scope, kind, unit, h1, h2 FROM rows UNION ALL SELECT scope, 'crossing', 0::oid, h1, h2 FROM names) r
),
-- The rest of the catalog is the whole minus the scope: sums over every row once, then over the
-- scope's few rows, subtracted; not the whole catalog again for every scope.
total AS (
  SELECT kind, count(*) AS n, sum(a) AS a, sum(b) AS b, sum(c) AS c, sum(d) AS d FROM hashed WHERE scope IS NULL GROUP BY kind
),
inside AS (
  SELECT s.scope, h.kind, count(*) AS n, sum(h.a) AS a, sum(h.b) AS b, sum(h.c) AS c, sum(h.d) AS d
  FROM scopes s CROSS JOIN LATERAL unnest(s.units) u(unit) JOIN hashed h ON h.unit = u.unit AND h.scope IS NULL
  GROUP BY s.scope, h.kind
),
outside AS (
  SELECT s.scope, t.kind, t.n - coalesce(i.n, 0) AS n, t.a - coalesce(i.a, 0) AS a, t.b - coalesce(i.b, 0) AS b, t.c - coalesce(i.c, 0) AS c, t.d - coalesce(i.d, 0) AS d
  FROM scopes s CROSS JOIN total t LEFT JOIN inside i ON i.scope = s.scope AND i.kind = t.kind
  UNION ALL
  SELECT scope, 'crossing', count(*), sum(a), sum(b), sum(c), sum(d) FROM hashed WHERE scope IS NOT NULL GROUP BY scope
),
settings AS (
  SELECT set_config('migration_ci.units', (SELECT units::text FROM scopes WHERE scope = 0), true) AS units
)
SELECT o.scope, o.kind, o.n::text AS n, concat_ws(':', o.a, o.b, o.c, o.d) AS h, NULL::oid[] AS units FROM outside o WHERE o.n > 0
UNION ALL
SELECT s.scope, '@units', NULL, NULL, s.units FROM scopes s CROSS JOIN settings
`;
