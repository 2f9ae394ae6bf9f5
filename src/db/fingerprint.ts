/**
 * Data fingerprints: what every user table holds, hashed inside Postgres, so that the state of
 * the data before a migration and after its up and down can be compared without pulling rows
 * into Node.
 *
 * A fingerprint stores, per table, one row per table row in a temporary table of the connection:
 * the row's primary key as text (when the table has one) and a 64-bit hash of each column's text
 * form. Comparisons are SQL over those rows: rows lost and added (by key), and per column the
 * values that became NULL, changed, or appeared where there was NULL. Tables without a primary
 * key are compared as multisets of values per column. A summary fingerprint stores no rows: only
 * counts and an order-independent digest of each column's values.
 *
 * The connection should be one of its own: fingerprints read text forms (timestamps, floats),
 * which depend on session settings a migration may change on the connection it runs on.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { USER_TABLE_CONDITION } from './catalog.js';
import { quoteIdent, quoteQualified } from './quote.js';
import { queryNamed } from './named-query.js';

/** Each stored fingerprint has a temporary table of its own while it is held; a discarded one's table is emptied for the next. */
function storeOf(id: number): string {
  return `pg_temp.mci_fingerprint_${id}`;
}

export interface FingerprintColumn {
  name: string;
  /** format_type of the column: `character varying(5)`, `user_status`, `jsonb`. */
  type: string;
  /** Rows where it is not NULL. */
  values: number;
  /** Count and sum of the hashes of its non-NULL values: equal digests, (all but surely) equal multisets of values. */
  digest: string | null;
}

export interface FingerprintTable {
  schema: string;
  name: string;
  columns: FingerprintColumn[];
  /** Primary key column names, in key order; empty when the table has none. */
  key: string[];
  rows: number;
  /** Order-independent digest of the set of rows (key and every column); null in summaries. */
  rowDigest: string | null;
  /** Set when the table could not be read; it is left out of comparisons. */
  failed?: string;
}

/** A column whose default draws from a sequence (serial, identity, nextval default). */
export interface SequenceUse {
  schema: string;
  table: string;
  column: string;
  sequence: string;
  /** Value the next nextval() gives, as a decimal string. */
  next: string;
  increment: string;
  /** Largest value in the column, as a decimal string; null when the column holds none. */
  max: string | null;
}

export interface Fingerprint {
  readonly id: number;
  /** Rows are stored and can be compared; a summary has counts and digests only. */
  readonly stored: boolean;
  tables: FingerprintTable[];
  sequences: SequenceUse[];
}

export interface ColumnComparison {
  column: string;
  /** Non-NULL values before (among rows present on both sides when the table has a key). */
  values: number;
  /** A value became NULL. */
  nulled: number;
  /** A value became another value. */
  changed: number;
  /** NULL became a value. */
  filled: number;
  /** Keys (as text) of some rows where the value differs; empty for tables without a key. */
  sample: string[];
}

export interface TableComparison {
  schema: string;
  name: string;
  /** Compared row by row on the primary key (else as multisets of values). */
  keyed: boolean;
  rowsBefore: number;
  rowsAfter: number;
  rowsLost: number;
  rowsAdded: number;
  /** Keys of some lost rows (keyed tables only). */
  lostSample: string[];
  /** Columns present on both sides. */
  columns: ColumnComparison[];
  /** Columns present before only, with how many values they held. */
  missingColumns: Array<{ column: string; values: number; digest: string | null }>;
}

export interface DataComparison {
  tables: TableComparison[];
  /** Tables present before only. */
  missingTables: FingerprintTable[];
}

interface TableCatalogRow {
  schema: string;
  name: string;
  cols: string[];
  types: string[];
  key: string[];
}

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS cols,
       ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS types,
       ARRAY(SELECT a.attname::text
             FROM pg_index i
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             WHERE i.indrelid = c.oid AND i.indisprimary
             ORDER BY k.ord) AS key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_TABLE_CONDITION}
  /*narrow*/
ORDER BY 1, 2`;

interface SequenceRow {
  schema: string;
  table: string;
  column: string;
  seq_schema: string;
  seq_name: string;
  start: string;
  increment: string;
}

/** Integer columns fed by a sequence: owned (serial, identity) or named in the column default. */
const SEQUENCES_SQL = `
WITH uses AS (
  SELECT d.refobjid AS tbl, d.refobjsubid::int2 AS attnum, d.objid AS seq
  FROM pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    /*narrow:d.refobjid*/
  UNION
  SELECT ad.adrelid, ad.adnum, d.refobjid
  FROM pg_attrdef ad
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
  WHERE true /*narrow:ad.adrelid*/
)
SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
       sn.nspname AS seq_schema, s.relname AS seq_name,
       ps.seqstart::text AS start, ps.seqincrement::text AS increment
FROM uses u
JOIN pg_class s ON s.oid = u.seq AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_sequence ps ON ps.seqrelid = s.oid
JOIN pg_class c ON c.oid = u.tbl AND c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum AND NOT a.attisdropped
WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  /*narrow*/
ORDER BY 1, 2, 3`;

/**
 * 64-bit hash of a column value's text form, comparable across the types a round trip may pass
 * through; NULL stays NULL. Hashed as bytes ("C"): a case-insensitive collation must not make
 * 'Ada' and 'ADA' one value.
 */
function valueHash(column: string, type: string, castTo: string | undefined): string {
  const ref = castTo !== undefined ? `(${quoteIdent(column)})::${castTo}` : quoteIdent(column);
  const effective = castTo ?? type;
  // json keeps whitespace and key order as written; jsonb's text form is the canonical one.
  const text = effective === 'json' || effective === 'jsonb' ? `(${ref})::jsonb::text` : `(${ref})::text`;
  return `hashtextextended(${text} COLLATE "C", 0)`;
}

function digestOf(nonNull: number, sum: string | null): string | null {
  return nonNull > 0 && sum !== null ? `${nonNull}:${sum}` : null;
}

function isFatal(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P');
}

/** Fingerprints of one database, kept on one connection (temporary storage dies with it). */
/** Which tables a fingerprint covers (a name without a schema matches it in any schema); all when not given. */
export type TableFilter = ReadonlyArray<{ schema: string | undefined; name: string }>;

/** A catalog query narrowed to the tables named in $1 (the dependencies too: read for those tables only, not the whole schema). */
const narrow = (sql: string) =>
  sql
    .replace('/*narrow*/', 'AND c.relname = ANY ($1::name[])')
    .replace(/\/\*narrow:([a-z.]+)\*\//g, (_, col: string) => `AND ${col} IN (SELECT c2.oid FROM pg_class c2 WHERE c2.relname = ANY ($1::name[]))`);
const NARROW_TABLES_SQL = narrow(TABLES_SQL);
const NARROW_SEQUENCES_SQL = narrow(SEQUENCES_SQL);

/** The tables and the sequences that feed their columns, narrowed to the named tables when there is a filter. */
async function readCatalog(client: pg.ClientBase, only: TableFilter | undefined): Promise<{ tables: TableCatalogRow[]; uses: SequenceRow[] }> {
  if (only === undefined) {
    const tables = await queryNamed<TableCatalogRow>(client, 'fingerprint_tables', TABLES_SQL);
    const uses = await queryNamed<SequenceRow>(client, 'fingerprint_sequences', SEQUENCES_SQL);
    return { tables: tables.rows, uses: uses.rows };
  }
  const names = [...new Set(only.map((t) => t.name))];
  const tables = await queryNamed<TableCatalogRow>(client, 'fingerprint_tables_of', NARROW_TABLES_SQL, [names]);
  const uses = await queryNamed<SequenceRow>(client, 'fingerprint_sequences_of', NARROW_SEQUENCES_SQL, [names]);
  return { tables: tables.rows, uses: uses.rows };
}

export class FingerprintStore {
  private readonly client: pg.ClientBase;
  private nextId = 1;
  /**
   * Storage tables of discarded fingerprints, emptied and used again: creating a temporary table
   * per fingerprint cost more than hashing the rows, and its catalog rows were left for vacuum.
   */
  private readonly free: number[] = [];
  /** The fingerprint each storage table holds now. */
  private readonly holders = new Map<number, Fingerprint>();

  constructor(client: pg.ClientBase) {
    this.client = client;
  }

  /**
   * Fingerprints every user table. With `like`, a column whose type differs from the same column
   * in `like` is read as that type, so a type that changed and came back compares by value. With
   * `summary`, no rows are stored: enough to see what was dropped and whether values live on.
   * With `rowsOnly` (a summary), rows are counted but values not read: no column digests.
   */
  async take(opts: { like?: Fingerprint; summary?: boolean; rowsOnly?: boolean; only?: TableFilter } = {}): Promise<Fingerprint> {
    const stored = opts.summary !== true && opts.rowsOnly !== true;
    const reused = stored ? this.free.pop() : undefined;
    const id = reused ?? this.nextId++;
    // No index: every comparison reads whole tables of it, which hash joins do best.
    if (stored && reused === undefined) await this.client.query(`CREATE TEMP TABLE mci_fingerprint_${id} (tbl int4 NOT NULL, k text, h int8[] NOT NULL)`);
    // A storage table used before is emptied by the first statement that fills it: DELETE, not
    // TRUNCATE (no new file, no catalog row per use), and reading the table prunes what it deleted.
    let emptied = reused === undefined;
    const read = await readCatalog(this.client, opts.only);
    // A migration's round trip looks at the tables it can change, so its cost does not grow with the schema.
    const only = (schema: string, name: string) => opts.only === undefined || opts.only.some((t) => t.name === name && (t.schema === undefined || t.schema === schema));
    const catalog = read.tables.filter((t) => only(t.schema, t.name));
    const uses = read.uses.filter((u) => only(u.schema, u.table));
    const likeTypes = new Map<string, Map<string, string>>();
    for (const t of opts.like?.tables ?? []) likeTypes.set(`${t.schema}.${t.name}`, new Map(t.columns.map((c) => [c.name, c.type])));

    const tables: FingerprintTable[] = catalog.map((t) => ({
      schema: t.schema,
      name: t.name,
      columns: t.cols.map((name, i) => ({ name, type: t.types[i]!, values: 0, digest: null })),
      key: t.key,
      rows: 0,
      rowDigest: null,
    }));
    const exprsFor = (i: number, withCasts: boolean): { hashes: string[]; key: string } => {
      const t = tables[i]!;
      const like = withCasts ? likeTypes.get(`${t.schema}.${t.name}`) : undefined;
      const castOf = (c: FingerprintColumn): string | undefined => {
        const other = like?.get(c.name);
        return other !== undefined && other !== c.type ? other : undefined;
      };
      const hashes = opts.rowsOnly ? [] : t.columns.map((c) => valueHash(c.name, c.type, castOf(c)));
      const keyCols = t.key.map((k) => t.columns.find((c) => c.name === k)!);
      const key = keyCols.length > 0 ? `ROW(${keyCols.map((c) => (castOf(c) ? `(${quoteIdent(c.name)})::${castOf(c)}` : quoteIdent(c.name))).join(', ')})::text` : 'NULL::text';
      return { hashes, key };
    };
    /** Hashes of every row of the given tables; stored when `stored`, and always counted and summed per column. */
    const run = async (indexes: number[], withCasts: boolean): Promise<void> => {
      const ctes = indexes.map((i) => {
        const t = tables[i]!;
        const { hashes, key } = exprsFor(i, withCasts);
        return `s${i} AS MATERIALIZED (SELECT ${stored ? key : 'NULL::text'} AS k, ARRAY[${hashes.join(', ')}]::int8[] AS h FROM ${quoteQualified(t.schema, t.name)})`;
      });
      if (stored) {
        if (!emptied) ctes.push(`emptied AS (DELETE FROM ${storeOf(id)})`);
        ctes.push(`ins AS (INSERT INTO ${storeOf(id)} (tbl, k, h)\n${indexes.map((i) => `SELECT ${i}, k, h FROM s${i}`).join('\nUNION ALL\n')})`);
      }
      const sums = indexes.map((i) => {
        const n = opts.rowsOnly ? 0 : tables[i]!.columns.length;
        const counts = Array.from({ length: n }, (_, j) => `count(h[${j + 1}])`).join(', ');
        const total = Array.from({ length: n }, (_, j) => `sum(h[${j + 1}])::text`).join(', ');
        const rowDigest = stored ? `sum(hashtextextended(coalesce(k, '') || h::text, 0))::text` : 'NULL::text';
        return `SELECT ${i} AS tbl, count(*) AS n, ARRAY[${counts}]::int8[] AS counts, ARRAY[${total}]::text[] AS sums, ${rowDigest} AS row_digest FROM s${i}`;
      });
      const r = await this.client.query<{ tbl: number; n: string; counts: string[]; sums: Array<string | null>; row_digest: string | null }>(
        `WITH ${ctes.join(',\n')}\n${sums.join('\nUNION ALL\n')}`,
      );
      emptied = true;
      for (const row of r.rows) {
        const t = tables[row.tbl]!;
        t.rows = Number(row.n);
        t.rowDigest = row.row_digest;
        t.columns.forEach((c, j) => {
          c.values = Number(row.counts[j] ?? 0);
          c.digest = digestOf(c.values, row.sums[j] ?? null);
        });
      }
    };
    if (tables.length > 0) {
      try {
        await run(tables.map((_, i) => i), true);
      } catch (e) {
        if (isFatal(e)) throw e;
        // One table the batch cannot read: read them one by one, and give up only on that one.
        for (let i = 0; i < tables.length; i++) {
          try {
            await run([i], true);
          } catch (first) {
            if (isFatal(first)) throw first;
            try {
              await run([i], false);
            } catch (second) {
              if (isFatal(second)) throw second;
              tables[i]!.failed = errorMessage(second);
            }
          }
        }
      }
    }
    const sequences = await this.readSequences(uses);
    const fingerprint = { id, stored, tables, sequences };
    if (stored) this.holders.set(id, fingerprint);
    return fingerprint;
  }

  /** Where each sequence stands, and the largest value of the column it feeds. */
  private async readSequences(uses: SequenceRow[]): Promise<SequenceUse[]> {
    if (uses.length === 0) return [];
    const parts = uses.map(
      (u, i) =>
        `SELECT ${i} AS i, (SELECT max(${quoteIdent(u.column)}) FROM ${quoteQualified(u.schema, u.table)})::text AS max, s.last_value::text AS last, s.is_called FROM ${quoteQualified(u.seq_schema, u.seq_name)} s`,
    );
    let state: Array<{ i: number; max: string | null; last: string; is_called: boolean }>;
    try {
      state = (await this.client.query(parts.join('\nUNION ALL\n'))).rows;
    } catch (e) {
      if (isFatal(e)) throw e;
      return [];
    }
    return state.map((s) => {
      const u = uses[s.i]!;
      const next = s.is_called ? (BigInt(s.last) + BigInt(u.increment)).toString() : s.last;
      const sequence = u.seq_schema === 'public' ? u.seq_name : `${u.seq_schema}.${u.seq_name}`;
      return { schema: u.schema, table: u.table, column: u.column, sequence, next, increment: u.increment, max: s.max };
    });
  }

  /** Frees the storage of fingerprints no longer needed, for the next ones to use. */
  async discard(...fps: Fingerprint[]): Promise<void> {
    for (const f of fps) {
      if (!f.stored || this.holders.get(f.id) !== f) continue;
      this.holders.delete(f.id);
      this.free.push(f.id);
    }
  }

  /** What `after` holds of the data in `before`, table by table and column by column. */
  async compare(before: Fingerprint, after: Fingerprint): Promise<DataComparison> {
    if (!before.stored || !after.stored) throw new Error('comparing rows needs two stored fingerprints, not summaries');
    if (this.holders.get(before.id) !== before || this.holders.get(after.id) !== after) throw new Error('comparing a fingerprint that was discarded');
    const afterIndex = new Map(after.tables.map((t, i) => [`${t.schema}.${t.name}`, i]));
    const comparisons: TableComparison[] = [];
    const missingTables: FingerprintTable[] = [];
    const pairs: Pair[] = [];
    before.tables.forEach((a, ta) => {
      if (a.failed) return;
      const tx = afterIndex.get(`${a.schema}.${a.name}`);
      if (tx === undefined) {
        missingTables.push(a);
        return;
      }
      const x = after.tables[tx]!;
      if (x.failed) return;
      const xCols = new Map(x.columns.map((c, i) => [c.name, i]));
      const cols: Array<[number, number]> = [];
      const missingColumns: TableComparison['missingColumns'] = [];
      a.columns.forEach((c, ia) => {
        const ix = xCols.get(c.name);
        if (ix === undefined) missingColumns.push({ column: c.name, values: c.values, digest: c.digest });
        else cols.push([ia, ix]);
      });
      const keyed = a.key.length > 0 && a.key.length === x.key.length && a.key.every((k, i) => x.key[i] === k);
      const cmp: TableComparison = {
        schema: a.schema,
        name: a.name,
        keyed,
        rowsBefore: a.rows,
        rowsAfter: x.rows,
        rowsLost: keyed ? 0 : Math.max(0, a.rows - x.rows),
        rowsAdded: keyed ? 0 : Math.max(0, x.rows - a.rows),
        lostSample: [],
        columns: cols.map(([ia]) => ({ column: a.columns[ia]!.name, values: a.columns[ia]!.values, nulled: 0, changed: 0, filled: 0, sample: [] })),
        missingColumns,
      };
      comparisons.push(cmp);
      if (a.rows === 0 && x.rows === 0) return;
      // The same columns and the same set of rows: nothing to take apart.
      const sameShape = a.columns.length === x.columns.length && a.columns.every((c, i) => x.columns[i]!.name === c.name);
      if (sameShape && a.rowDigest !== null && a.rowDigest === x.rowDigest) return;
      if (keyed || cols.length > 0) pairs.push({ ta, tx, keyed, cols, cmp });
    });
    if (pairs.length > 0) await this.compareRows(before.id, after.id, pairs);
    return { tables: comparisons, missingTables };
  }

  /**
   * One statement for every table pair. Keyed tables: a full join on the key gives rows lost and
   * added; only rows whose hashes differ are taken apart column by column. Tables without a key:
   * per column, each value's count before against after.
   */
  private async compareRows(a: number, x: number, pairs: Pair[]): Promise<void> {
    const ctes: string[] = [];
    const selects: string[] = [];
    pairs.forEach((p, n) => {
      const side = (alias: string, snap: number, tbl: number) => `(SELECT k, h FROM ${storeOf(snap)} WHERE tbl = ${tbl}) ${alias}`;
      const va = `ARRAY[${p.cols.map(([ia]) => `a.h[${ia + 1}]`).join(', ')}]::int8[]`;
      const vx = `ARRAY[${p.cols.map(([, ix]) => `x.h[${ix + 1}]`).join(', ')}]::int8[]`;
      if (p.keyed) {
        ctes.push(`j${n} AS MATERIALIZED (SELECT a.k AS ak, x.k AS xk, ${va} AS va, ${vx} AS vx FROM ${side('a', a, p.ta)} FULL JOIN ${side('x', x, p.tx)} ON x.k = a.k)`);
        selects.push(
          `SELECT ${n} AS pair, 0::int8 AS i, count(*) FILTER (WHERE xk IS NULL) AS n1, count(*) FILTER (WHERE ak IS NULL) AS n2, 0::int8 AS n3,
                  (array_agg(ak ORDER BY length(ak), ak) FILTER (WHERE xk IS NULL))[1:3] AS sample
           FROM j${n}`,
        );
        if (p.cols.length > 0) {
          selects.push(
            `SELECT ${n} AS pair, u.i, count(*) FILTER (WHERE u.va IS NOT NULL AND u.vx IS NULL) AS n1, count(*) FILTER (WHERE u.va <> u.vx) AS n2,
                    count(*) FILTER (WHERE u.va IS NULL AND u.vx IS NOT NULL) AS n3, (array_agg(j.ak ORDER BY length(j.ak), j.ak))[1:3] AS sample
             FROM j${n} j CROSS JOIN LATERAL unnest(j.va, j.vx) WITH ORDINALITY AS u(va, vx, i)
             WHERE j.ak IS NOT NULL AND j.xk IS NOT NULL AND j.va IS DISTINCT FROM j.vx AND u.va IS DISTINCT FROM u.vx
             GROUP BY u.i`,
          );
        }
      } else {
        const counts = (alias: string, values: string, snap: number, tbl: number) =>
          `SELECT u.i, u.v, count(*) AS n FROM ${side(alias, snap, tbl)} CROSS JOIN LATERAL unnest(${values}) WITH ORDINALITY AS u(v, i) WHERE u.v IS NOT NULL GROUP BY 1, 2`;
        ctes.push(`a${n} AS MATERIALIZED (${counts('a', va, a, p.ta)})`, `x${n} AS MATERIALIZED (${counts('x', vx, x, p.tx)})`);
        selects.push(
          `SELECT ${n} AS pair, coalesce(av.i, xv.i) AS i, sum(greatest(coalesce(av.n, 0) - coalesce(xv.n, 0), 0))::int8 AS n1,
                  coalesce(sum(xv.n), 0)::int8 AS n2, 0::int8 AS n3, NULL::text[] AS sample
           FROM a${n} av FULL JOIN x${n} xv ON xv.i = av.i AND xv.v = av.v
           GROUP BY 2`,
        );
      }
    });
    const r = await this.client.query<{ pair: number; i: string; n1: string; n2: string; n3: string; sample: string[] | null }>(
      `WITH ${ctes.join(',\n')}\n${selects.join('\nUNION ALL\n')}`,
    );
    for (const row of r.rows) {
      const p = pairs[row.pair]!;
      const i = Number(row.i);
      const [n1, n2, n3] = [Number(row.n1), Number(row.n2), Number(row.n3)];
      if (p.keyed && i === 0) {
        p.cmp.rowsLost = n1;
        p.cmp.rowsAdded = n2;
        p.cmp.lostSample = row.sample ?? [];
        continue;
      }
      const c = p.cmp.columns[i - 1];
      if (!c) continue;
      if (p.keyed) {
        c.nulled = n1;
        c.changed = n2;
        c.filled = n3;
        c.sample = row.sample ?? [];
      } else {
        // Without a key a lost value cannot be told from a changed one: it counts as changed,
        // unless the column holds fewer values than before (the difference became NULL).
        const lost = n1;
        const afterValues = n2;
        const kept = c.values - lost;
        c.nulled = Math.min(lost, Math.max(0, c.values - afterValues));
        c.changed = lost - c.nulled;
        c.filled = Math.max(0, afterValues - kept - c.changed);
      }
    }
  }
}

interface Pair {
  ta: number;
  tx: number;
  keyed: boolean;
  /** Column positions (0-based) present on both sides: [in before, in after]. */
  cols: Array<[number, number]>;
  cmp: TableComparison;
}

export interface DroppedData {
  /** Tables of `before` that `after` does not have. */
  tables: FingerprintTable[];
  /** Columns of tables both have, that `after` does not have. */
  columns: Array<{ schema: string; name: string; column: string; values: number; digest: string | null }>;
}

/** What `before` has and `after` does not (tables, columns), by name; summaries are enough. */
export function droppedData(before: Fingerprint, after: Fingerprint): DroppedData {
  const afterTables = new Map(after.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const out: DroppedData = { tables: [], columns: [] };
  for (const t of before.tables) {
    if (t.failed) continue;
    const x = afterTables.get(`${t.schema}.${t.name}`);
    if (!x) {
      out.tables.push(t);
      continue;
    }
    if (x.failed) continue;
    const names = new Set(x.columns.map((c) => c.name));
    for (const c of t.columns) {
      if (!names.has(c.name)) out.columns.push({ schema: t.schema, name: t.name, column: c.name, values: c.values, digest: c.digest });
    }
  }
  return out;
}

/** Digests of every column that holds values: a column whose digest is here has its values somewhere in `fp`. */
export function valueDigests(fp: Fingerprint): Set<string> {
  const out = new Set<string>();
  for (const t of fp.tables) for (const c of t.columns) if (c.digest !== null) out.add(c.digest);
  return out;
}

/** Sequences that would hand out a value their column already holds: the next insert relying on the default collides. */
export function sequencesBehind(fp: Fingerprint): SequenceUse[] {
  return fp.sequences.filter((s) => {
    if (s.max === null) return false;
    const inc = BigInt(s.increment);
    if (inc <= 0n) return false;
    return BigInt(s.max) >= BigInt(s.next);
  });
}
