/**
 * Data fingerprints: what every user table holds, hashed inside Postgres, so that the state of
 * the data before a migration and after its up and down can be compared without pulling rows
 * into Node.
 *
 * A fingerprint stores, per table, one row per table row in a temporary table of the connection:
 * the row's primary key as text (when the table has one) and the md5 of each column's text form.
 * Comparisons are SQL over those rows: rows lost and added (by key), and per column the values
 * that became NULL, changed, or appeared where there was NULL. Tables without a primary key are
 * compared as multisets of values per column.
 *
 * The connection should be one of its own: fingerprints read text forms (timestamps, floats),
 * which depend on session settings a migration may change on the connection it runs on.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { quoteIdent, quoteQualified } from './quote.js';

const STORE = 'pg_temp.mci_fingerprint_rows';

export interface FingerprintColumn {
  name: string;
  /** format_type of the column: `character varying(5)`, `user_status`, `jsonb`. */
  type: string;
  /** Rows where it is not NULL. */
  values: number;
  /** md5 over the sorted hashes of its non-NULL values: equal digests, equal multisets of values. */
  digest: string | null;
}

export interface FingerprintTable {
  schema: string;
  name: string;
  columns: FingerprintColumn[];
  /** Primary key column names, in key order; empty when the table has none. */
  key: string[];
  rows: number;
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
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

/** Integer columns fed by a sequence: owned (serial, identity) or named in the column default. */
const SEQUENCES_SQL = `
WITH uses AS (
  SELECT d.refobjid AS tbl, d.refobjsubid::int2 AS attnum, d.objid AS seq
  FROM pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
  UNION
  SELECT ad.adrelid, ad.adnum, d.refobjid
  FROM pg_attrdef ad
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
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
ORDER BY 1, 2, 3`;

/** Text form of a column value, comparable across the types a round trip may pass through. */
function valueText(column: string, type: string, castTo: string | undefined): string {
  const ref = castTo !== undefined ? `(${quoteIdent(column)})::${castTo}` : quoteIdent(column);
  const effective = castTo ?? type;
  // json keeps whitespace and key order as written; jsonb's text form is the canonical one.
  if (effective === 'json' || effective === 'jsonb') return `(${ref})::jsonb::text`;
  return `(${ref})::text`;
}

function isFatal(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code.startsWith('57P');
}

/** Fingerprints of one database, kept on one connection (temporary storage dies with it). */
export class FingerprintStore {
  private readonly client: pg.ClientBase;
  private nextId = 1;
  private ready = false;

  constructor(client: pg.ClientBase) {
    this.client = client;
  }

  private async prepare(): Promise<void> {
    if (this.ready) return;
    await this.client.query(`CREATE TEMP TABLE IF NOT EXISTS mci_fingerprint_rows (snap int4 NOT NULL, tbl int4 NOT NULL, k text, h text[] NOT NULL)`);
    await this.client.query(`CREATE INDEX IF NOT EXISTS mci_fingerprint_rows_key ON ${STORE} (snap, tbl, k)`);
    this.ready = true;
  }

  /**
   * Fingerprints every user table. With `like`, a column whose type differs from the same column
   * in `like` is read as that type, so a type that changed and came back compares by value.
   */
  async take(opts: { like?: Fingerprint } = {}): Promise<Fingerprint> {
    await this.prepare();
    const id = this.nextId++;
    const catalog = (await this.client.query<TableCatalogRow>(TABLES_SQL)).rows;
    const likeTypes = new Map<string, Map<string, string>>();
    for (const t of opts.like?.tables ?? []) likeTypes.set(`${t.schema}.${t.name}`, new Map(t.columns.map((c) => [c.name, c.type])));

    const tables: FingerprintTable[] = catalog.map((t) => ({
      schema: t.schema,
      name: t.name,
      columns: t.cols.map((name, i) => ({ name, type: t.types[i]!, values: 0, digest: null })),
      key: t.key,
      rows: 0,
    }));
    const selectFor = (i: number, withCasts: boolean): string => {
      const t = tables[i]!;
      const like = withCasts ? likeTypes.get(`${t.schema}.${t.name}`) : undefined;
      const castOf = (c: FingerprintColumn): string | undefined => {
        const other = like?.get(c.name);
        return other !== undefined && other !== c.type ? other : undefined;
      };
      const hashes = t.columns.map((c) => `md5(${valueText(c.name, c.type, castOf(c))})`);
      const keyCols = t.key.map((k) => t.columns.find((c) => c.name === k)!);
      const key = keyCols.length > 0 ? `ROW(${keyCols.map((c) => (castOf(c) ? `(${quoteIdent(c.name)})::${castOf(c)}` : quoteIdent(c.name))).join(', ')})::text` : 'NULL::text';
      return `SELECT ${id}, ${i}, ${key}, ARRAY[${hashes.join(', ')}]::text[] FROM ${quoteQualified(t.schema, t.name)}`;
    };
    const insert = async (selects: string[]): Promise<void> => {
      await this.client.query(`INSERT INTO ${STORE} (snap, tbl, k, h)\n${selects.join('\nUNION ALL\n')}`);
    };
    if (tables.length > 0) {
      try {
        await insert(tables.map((_, i) => selectFor(i, true)));
      } catch (e) {
        if (isFatal(e)) throw e;
        // One table the batch cannot read: read them one by one, and give up only on that one.
        for (let i = 0; i < tables.length; i++) {
          try {
            await insert([selectFor(i, true)]);
          } catch (first) {
            if (isFatal(first)) throw first;
            try {
              await insert([selectFor(i, false)]);
            } catch (second) {
              if (isFatal(second)) throw second;
              tables[i]!.failed = errorMessage(second);
            }
          }
        }
      }
      await this.summarize(id, tables);
    }
    const sequences = await this.readSequences();
    return { id, tables, sequences };
  }

  private async summarize(id: number, tables: FingerprintTable[]): Promise<void> {
    const rows = await this.client.query<{ tbl: number; n: string }>(`SELECT tbl, count(*) AS n FROM ${STORE} WHERE snap = $1 GROUP BY tbl`, [id]);
    for (const r of rows.rows) tables[r.tbl]!.rows = Number(r.n);
    const cols = await this.client.query<{ tbl: number; i: string; n: string; digest: string | null }>(
      `SELECT r.tbl, c.i, count(c.v) AS n, md5(string_agg(c.v, '' ORDER BY c.v)) AS digest
       FROM ${STORE} r CROSS JOIN LATERAL unnest(r.h) WITH ORDINALITY AS c(v, i)
       WHERE r.snap = $1
       GROUP BY r.tbl, c.i`,
      [id],
    );
    for (const r of cols.rows) {
      const col = tables[r.tbl]!.columns[Number(r.i) - 1];
      if (!col) continue;
      col.values = Number(r.n);
      col.digest = col.values > 0 ? r.digest : null;
    }
  }

  private async readSequences(): Promise<SequenceUse[]> {
    const uses = (
      await this.client.query<{ schema: string; table: string; column: string; seq_schema: string; seq_name: string; start: string; increment: string }>(
        SEQUENCES_SQL,
      )
    ).rows;
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

  /** Frees the storage of fingerprints no longer needed. */
  async discard(...fps: Fingerprint[]): Promise<void> {
    if (fps.length === 0 || !this.ready) return;
    await this.client.query(`DELETE FROM ${STORE} WHERE snap = ANY($1::int4[])`, [fps.map((f) => f.id)]);
  }

  /** What `after` holds of the data in `before`, table by table and column by column. */
  async compare(before: Fingerprint, after: Fingerprint): Promise<DataComparison> {
    const afterIndex = new Map(after.tables.map((t, i) => [`${t.schema}.${t.name}`, i]));
    const comparisons: TableComparison[] = [];
    const missingTables: FingerprintTable[] = [];
    const keyed: Array<{ ta: number; tx: number; cmp: TableComparison; cols: Array<[number, number]> }> = [];
    const unkeyed: typeof keyed = [];
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
      const isKeyed = a.key.length > 0 && a.key.length === x.key.length && a.key.every((k, i) => x.key[i] === k);
      const cmp: TableComparison = {
        schema: a.schema,
        name: a.name,
        keyed: isKeyed,
        rowsBefore: a.rows,
        rowsAfter: x.rows,
        rowsLost: isKeyed ? 0 : Math.max(0, a.rows - x.rows),
        rowsAdded: isKeyed ? 0 : Math.max(0, x.rows - a.rows),
        lostSample: [],
        columns: cols.map(([ia]) => ({ column: a.columns[ia]!.name, values: 0, nulled: 0, changed: 0, filled: 0, sample: [] })),
        missingColumns,
      };
      comparisons.push(cmp);
      if (a.rows === 0 && x.rows === 0) return;
      (isKeyed ? keyed : unkeyed).push({ ta, tx, cmp, cols });
    });
    if (keyed.length > 0) await this.compareKeyed(before.id, after.id, keyed);
    if (unkeyed.length > 0) await this.compareMultisets(before.id, after.id, unkeyed);
    return { tables: comparisons, missingTables };
  }

  private async compareKeyed(
    a: number,
    x: number,
    pairs: Array<{ ta: number; tx: number; cmp: TableComparison; cols: Array<[number, number]> }>,
  ): Promise<void> {
    const byTa = new Map(pairs.map((p) => [p.ta, p]));
    const ta = pairs.map((p) => p.ta);
    const tx = pairs.map((p) => p.tx);
    const rows = await this.client.query<{ ta: number; lost: string; sample: string[] | null }>(
      `WITH pairs(ta, tx) AS (SELECT * FROM unnest($3::int4[], $4::int4[]))
       SELECT p.ta, count(*) FILTER (WHERE x.k IS NULL) AS lost,
              (array_agg(a.k ORDER BY length(a.k), a.k) FILTER (WHERE x.k IS NULL))[1:3] AS sample
       FROM pairs p
       JOIN ${STORE} a ON a.snap = $1 AND a.tbl = p.ta
       LEFT JOIN ${STORE} x ON x.snap = $2 AND x.tbl = p.tx AND x.k = a.k
       GROUP BY p.ta`,
      [a, x, ta, tx],
    );
    for (const r of rows.rows) {
      const cmp = byTa.get(r.ta)!.cmp;
      cmp.rowsLost = Number(r.lost);
      cmp.lostSample = r.sample ?? [];
    }
    const added = await this.client.query<{ ta: number; added: string }>(
      `WITH pairs(ta, tx) AS (SELECT * FROM unnest($3::int4[], $4::int4[]))
       SELECT p.ta, count(*) AS added
       FROM pairs p
       JOIN ${STORE} x ON x.snap = $2 AND x.tbl = p.tx
       WHERE NOT EXISTS (SELECT 1 FROM ${STORE} a WHERE a.snap = $1 AND a.tbl = p.ta AND a.k = x.k)
       GROUP BY p.ta`,
      [a, x, ta, tx],
    );
    for (const r of added.rows) byTa.get(r.ta)!.cmp.rowsAdded = Number(r.added);

    const cols = flattenColumns(pairs);
    if (cols.ta.length === 0) return;
    const stats = await this.client.query<{ ta: number; ia: number; had: string; nulled: string; changed: string; filled: string; sample: string[] | null }>(
      `WITH cols(ta, tx, ia, ix) AS (SELECT * FROM unnest($3::int4[], $4::int4[], $5::int4[], $6::int4[]))
       SELECT c.ta, c.ia,
              count(*) FILTER (WHERE a.h[c.ia] IS NOT NULL) AS had,
              count(*) FILTER (WHERE a.h[c.ia] IS NOT NULL AND x.h[c.ix] IS NULL) AS nulled,
              count(*) FILTER (WHERE a.h[c.ia] <> x.h[c.ix]) AS changed,
              count(*) FILTER (WHERE a.h[c.ia] IS NULL AND x.h[c.ix] IS NOT NULL) AS filled,
              (array_agg(a.k ORDER BY length(a.k), a.k) FILTER (WHERE a.h[c.ia] IS DISTINCT FROM x.h[c.ix]))[1:3] AS sample
       FROM cols c
       JOIN ${STORE} a ON a.snap = $1 AND a.tbl = c.ta
       JOIN ${STORE} x ON x.snap = $2 AND x.tbl = c.tx AND x.k = a.k
       GROUP BY c.ta, c.ia`,
      [a, x, cols.ta, cols.tx, cols.ia, cols.ix],
    );
    for (const r of stats.rows) {
      const p = byTa.get(r.ta)!;
      const at = p.cols.findIndex(([ia]) => ia + 1 === r.ia);
      const c = p.cmp.columns[at]!;
      c.values = Number(r.had);
      c.nulled = Number(r.nulled);
      c.changed = Number(r.changed);
      c.filled = Number(r.filled);
      c.sample = r.sample ?? [];
    }
  }

  private async compareMultisets(
    a: number,
    x: number,
    pairs: Array<{ ta: number; tx: number; cmp: TableComparison; cols: Array<[number, number]> }>,
  ): Promise<void> {
    const byTa = new Map(pairs.map((p) => [p.ta, p]));
    const cols = flattenColumns(pairs);
    if (cols.ta.length === 0) return;
    const stats = await this.client.query<{ ta: number; ia: number; had: string; lost: string; after: string }>(
      `WITH cols(ta, tx, ia, ix) AS (SELECT * FROM unnest($3::int4[], $4::int4[], $5::int4[], $6::int4[])),
       av AS (SELECT c.ta, c.ia, a.h[c.ia] AS v, count(*) AS n
              FROM cols c JOIN ${STORE} a ON a.snap = $1 AND a.tbl = c.ta
              WHERE a.h[c.ia] IS NOT NULL GROUP BY 1, 2, 3),
       xv AS (SELECT c.ta, c.ia, x.h[c.ix] AS v, count(*) AS n
              FROM cols c JOIN ${STORE} x ON x.snap = $2 AND x.tbl = c.tx
              WHERE x.h[c.ix] IS NOT NULL GROUP BY 1, 2, 3)
       SELECT coalesce(av.ta, xv.ta) AS ta, coalesce(av.ia, xv.ia) AS ia,
              coalesce(sum(av.n), 0) AS had,
              coalesce(sum(greatest(av.n - coalesce(xv.n, 0), 0)), 0) AS lost,
              coalesce(sum(xv.n), 0) AS after
       FROM av FULL JOIN xv ON xv.ta = av.ta AND xv.ia = av.ia AND xv.v = av.v
       GROUP BY 1, 2`,
      [a, x, cols.ta, cols.tx, cols.ia, cols.ix],
    );
    for (const r of stats.rows) {
      const p = byTa.get(r.ta)!;
      const at = p.cols.findIndex(([ia]) => ia + 1 === r.ia);
      const c = p.cmp.columns[at]!;
      const values = Number(r.had);
      const lost = Number(r.lost);
      const kept = values - lost;
      c.values = values;
      // Without a key a lost value cannot be told from a changed one: count it as changed
      // unless the column holds fewer values than before (then the difference became NULL).
      const after = Number(r.after);
      const nulled = Math.min(lost, Math.max(0, values - after));
      c.nulled = nulled;
      c.changed = lost - nulled;
      c.filled = Math.max(0, after - kept - c.changed);
    }
  }
}

/** Column pairs as parallel arrays of 1-based indexes, for unnest(). */
function flattenColumns(pairs: Array<{ ta: number; tx: number; cols: Array<[number, number]> }>): {
  ta: number[];
  tx: number[];
  ia: number[];
  ix: number[];
} {
  const out = { ta: [] as number[], tx: [] as number[], ia: [] as number[], ix: [] as number[] };
  for (const p of pairs) {
    for (const [ia, ix] of p.cols) {
      out.ta.push(p.ta);
      out.tx.push(p.tx);
      out.ia.push(ia + 1);
      out.ix.push(ix + 1);
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
