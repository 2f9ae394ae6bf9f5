/**
 * The production statistics file (`migration-ci stats` writes it, `--production-stats` reads it):
 * what Postgres knows about a database's data without its rows. Version 1; the JSON Schema is
 * schema/production-stats.schema.json. Reading checks every key and names the first bad one.
 */

import fs from 'node:fs';
import { InputError, errorMessage } from './errors.js';

export const PRODUCTION_STATS_VERSION = 1;

export interface ColumnStats {
  name: string;
  /** As format_type prints it: `character varying(200)`, `integer`. */
  type: string;
  /** pg_stats.null_frac: fraction of rows where the column is NULL. */
  nullFrac: number;
  /** pg_stats.n_distinct: distinct values; negative means minus that fraction of the rows. */
  nDistinct: number;
  /** pg_stats.avg_width: average width in bytes of the non-NULL values. */
  avgWidth: number;
  /** Only with --with-values: pg_stats.most_common_vals / most_common_freqs / histogram_bounds as text. */
  mostCommonValues?: string[];
  mostCommonFreqs?: number[];
  histogramBounds?: string[];
}

export interface IndexStats {
  name: string;
  bytes: number;
}

export interface TableStats {
  schema: string;
  name: string;
  /** pg_class.reltuples (estimate; -1 when never vacuumed or analyzed). */
  rows: number;
  /** pg_class.relpages. */
  pages: number;
  /** pg_relation_size: the table's main fork. */
  tableBytes: number;
  /** pg_total_relation_size: table, indexes and TOAST. */
  totalBytes: number;
  indexes: IndexStats[];
  /** Columns pg_stats shows; empty when the table could not be read or was never analyzed. */
  columns: ColumnStats[];
}

export interface UnreadableTable {
  schema: string;
  name: string;
  reason: string;
}

export interface ProductionStats {
  version: 1;
  /** ISO time of the export. */
  exportedAt: string;
  /** server_version of the exported server. */
  postgres: string;
  database: string;
  withValues: boolean;
  tables: TableStats[];
  /** Tables whose column statistics the exporting role could not see. */
  unreadable: UnreadableTable[];
}

/** "users" for public tables, "billing.invoices" otherwise: names as migrations write them. */
export function displayName(t: { schema: string; name: string }): string {
  return t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
}

export function renderProductionStats(stats: ProductionStats): string {
  return `${JSON.stringify(stats, null, 2)}\n`;
}

class Checker {
  constructor(private readonly file: string) {}
  fail(key: string, what: string): never {
    throw new InputError('input', `production-stats ${this.file}: ${key}: ${what}`);
  }
  object(v: unknown, key: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(key, 'must be an object');
    return v as Record<string, unknown>;
  }
  array(v: unknown, key: string): unknown[] {
    if (!Array.isArray(v)) this.fail(key, 'must be an array');
    return v;
  }
  string(v: unknown, key: string): string {
    if (typeof v !== 'string') this.fail(key, 'must be a string');
    return v;
  }
  number(v: unknown, key: string, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'must be a number');
    if (v < min || v > max) this.fail(key, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }
  boolean(v: unknown, key: string): boolean {
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }
  strings(v: unknown, key: string): string[] {
    return this.array(v, key).map((s, i) => this.string(s, `${key}[${i}]`));
  }
}

/** Parses and checks a statistics file's text; `file` names it in every error. */
export function parseProductionStats(text: string, file: string): ProductionStats {
  const c = new Checker(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError('input', `production-stats ${file}: not JSON: ${errorMessage(e)}`);
  }
  const root = c.object(data, '(root)');
  if (root.version !== PRODUCTION_STATS_VERSION) c.fail('version', `must be ${PRODUCTION_STATS_VERSION}, got ${JSON.stringify(root.version)}`);
  const tables = c.array(root.tables, 'tables').map((raw, i): TableStats => {
    const k = `tables[${i}]`;
    const t = c.object(raw, k);
    const columns = c.array(t.columns, `${k}.columns`).map((rawCol, j): ColumnStats => {
      const ck = `${k}.columns[${j}]`;
      const col = c.object(rawCol, ck);
      const out: ColumnStats = {
        name: c.string(col.name, `${ck}.name`),
        type: c.string(col.type, `${ck}.type`),
        nullFrac: c.number(col.nullFrac, `${ck}.nullFrac`, 0, 1),
        nDistinct: c.number(col.nDistinct, `${ck}.nDistinct`, -1),
        avgWidth: c.number(col.avgWidth, `${ck}.avgWidth`, 0),
      };
      if (col.mostCommonValues !== undefined) out.mostCommonValues = c.strings(col.mostCommonValues, `${ck}.mostCommonValues`);
      if (col.mostCommonFreqs !== undefined) {
        out.mostCommonFreqs = c.array(col.mostCommonFreqs, `${ck}.mostCommonFreqs`).map((f, n) => c.number(f, `${ck}.mostCommonFreqs[${n}]`, 0, 1));
      }
      if ((out.mostCommonValues?.length ?? 0) !== (out.mostCommonFreqs?.length ?? 0)) {
        c.fail(`${ck}.mostCommonFreqs`, 'must have one frequency per value of mostCommonValues');
      }
      if (col.histogramBounds !== undefined) out.histogramBounds = c.strings(col.histogramBounds, `${ck}.histogramBounds`);
      return out;
    });
    return {
      schema: c.string(t.schema, `${k}.schema`),
      name: c.string(t.name, `${k}.name`),
      rows: c.number(t.rows, `${k}.rows`, -1),
      pages: c.number(t.pages, `${k}.pages`, 0),
      tableBytes: c.number(t.tableBytes, `${k}.tableBytes`, 0),
      totalBytes: c.number(t.totalBytes, `${k}.totalBytes`, 0),
      indexes: c.array(t.indexes, `${k}.indexes`).map((rawIdx, j) => {
        const idx = c.object(rawIdx, `${k}.indexes[${j}]`);
        return { name: c.string(idx.name, `${k}.indexes[${j}].name`), bytes: c.number(idx.bytes, `${k}.indexes[${j}].bytes`, 0) };
      }),
      columns,
    };
  });
  const unreadable = c.array(root.unreadable ?? [], 'unreadable').map((raw, i) => {
    const u = c.object(raw, `unreadable[${i}]`);
    return { schema: c.string(u.schema, `unreadable[${i}].schema`), name: c.string(u.name, `unreadable[${i}].name`), reason: c.string(u.reason, `unreadable[${i}].reason`) };
  });
  return {
    version: 1,
    exportedAt: c.string(root.exportedAt, 'exportedAt'),
    postgres: c.string(root.postgres, 'postgres'),
    database: c.string(root.database, 'database'),
    withValues: c.boolean(root.withValues, 'withValues'),
    tables,
    unreadable,
  };
}

/** Reads a statistics file; `shown` is the path as the user gave it. */
export function readProductionStats(abs: string, shown: string): ProductionStats {
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new InputError('input', `cannot read production-stats file ${shown}: ${errorMessage(e)}`);
  }
  return parseProductionStats(text, shown);
}

/** The table's statistics by name as migrations write it ("users", "public.users", "billing.x"). */
export function findTable(stats: ProductionStats, name: string): TableStats | undefined {
  const key = name.toLowerCase().startsWith('public.') ? name.slice(7) : name;
  return (
    stats.tables.find((t) => displayName(t) === key) ?? stats.tables.find((t) => displayName(t).toLowerCase() === key.toLowerCase())
  );
}

/** Row counts of every table with a known count, for the time projection. */
export function rowsOfTables(stats: ProductionStats): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of stats.tables) if (t.rows >= 0) out.set(displayName(t), Math.round(t.rows));
  return out;
}
