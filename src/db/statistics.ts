/**
 * Reading a server's statistics for `migration-ci stats`: catalogs (pg_class, pg_index,
 * pg_attribute), size functions and the pg_stats view only, in a read-only transaction. No
 * table's rows are ever read. pg_stats shows a column only to roles that may read it, so tables
 * pg_class lists without any visible column statistics are reported as unreadable.
 */

import type pg from 'pg';
import type { ColumnStats, ProductionStats, TableStats, UnreadableTable } from '../production-stats.js';

const TABLES_SQL = `
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS rows, c.relpages::int8 AS pages,
       pg_relation_size(c.oid)::int8 AS table_bytes, pg_total_relation_size(c.oid)::int8 AS total_bytes,
       has_table_privilege(c.oid, 'SELECT') AS can_select
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
 ORDER BY n.nspname, c.relname`;

const INDEXES_SQL = `
SELECT i.indrelid AS table_oid, c.relname AS name, pg_relation_size(c.oid)::int8 AS bytes
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = ANY($1::oid[])
 ORDER BY c.relname`;

// pg_stats is keyed by names; format_type comes from the catalog. Values only when asked for.
const COLUMNS_SQL = (withValues: boolean) => `
SELECT s.schemaname AS schema, s.tablename AS table, s.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       s.null_frac::float8 AS null_frac, s.n_distinct::float8 AS n_distinct, s.avg_width AS avg_width
       ${withValues ? ', s.most_common_vals::text::text[] AS mcv, s.most_common_freqs::float8[] AS mcf, s.histogram_bounds::text::text[] AS hist' : ''}
  FROM pg_stats s
  JOIN pg_namespace n ON n.nspname = s.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.attname
 WHERE NOT s.inherited AND s.schemaname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY s.schemaname, s.tablename, a.attnum`;

/** Everything the statistics file holds, read through `client` in one read-only transaction. */
export async function readStatistics(client: pg.Client, opts: { withValues: boolean; now?: Date }): Promise<ProductionStats> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const info = await client.query<{ version: string; database: string }>(`SELECT current_setting('server_version') AS version, current_database() AS database`);
    const tables = await client.query<{ oid: number; schema: string; name: string; rows: number; pages: string; table_bytes: string; total_bytes: string; can_select: boolean }>(TABLES_SQL);
    const indexes = await client.query<{ table_oid: number; name: string; bytes: string }>(INDEXES_SQL, [tables.rows.map((t) => t.oid)]);
    const columns = await client.query<{
      schema: string;
      table: string;
      name: string;
      type: string;
      null_frac: number;
      n_distinct: number;
      avg_width: number;
      mcv?: string[] | null;
      mcf?: number[] | null;
      hist?: string[] | null;
    }>(COLUMNS_SQL(opts.withValues));
    const key = (schema: string, name: string) => `${schema}\u0000${name}`;
    const columnsOf = new Map<string, ColumnStats[]>();
    for (const r of columns.rows) {
      const col: ColumnStats = { name: r.name, type: r.type, nullFrac: r.null_frac, nDistinct: r.n_distinct, avgWidth: r.avg_width };
      if (opts.withValues) {
        if (r.mcv) {
          col.mostCommonValues = r.mcv;
          col.mostCommonFreqs = r.mcf ?? [];
        }
        if (r.hist) col.histogramBounds = r.hist;
      }
      const k = key(r.schema, r.table);
      columnsOf.set(k, [...(columnsOf.get(k) ?? []), col]);
    }
    const out: TableStats[] = [];
    const unreadable: UnreadableTable[] = [];
    for (const t of tables.rows) {
      const cols = columnsOf.get(key(t.schema, t.name)) ?? [];
      out.push({
        schema: t.schema,
        name: t.name,
        rows: t.rows,
        pages: Number(t.pages),
        tableBytes: Number(t.table_bytes),
        totalBytes: Number(t.total_bytes),
        indexes: indexes.rows.filter((i) => i.table_oid === t.oid).map((i) => ({ name: i.name, bytes: Number(i.bytes) })),
        columns: cols,
      });
      if (cols.length === 0 && !t.can_select) unreadable.push({ schema: t.schema, name: t.name, reason: 'no SELECT privilege: pg_stats hides its columns (export as its owner or a role that may read it)' });
      else if (cols.length === 0 && t.rows > 0) unreadable.push({ schema: t.schema, name: t.name, reason: 'no column statistics: the table has not been analyzed (run ANALYZE)' });
    }
    return {
      version: 1,
      exportedAt: (opts.now ?? new Date()).toISOString(),
      postgres: info.rows[0]!.version,
      database: info.rows[0]!.database,
      withValues: opts.withValues,
      tables: out,
      unreadable,
    };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}
