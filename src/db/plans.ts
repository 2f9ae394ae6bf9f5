/** Query plans for the performance stage: generic plans of parameterised statements, and lookups worth planning. */
import type pg from 'pg';
import { quoteIdent, quoteQualified } from './quote.js';

/** One node of an EXPLAIN (FORMAT JSON) plan, the fields the comparison reads. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Total Cost': number;
  'Startup Cost': number;
  Plans?: PlanNode[];
}

const PROBE = 'mci_plan_probe';

/**
 * The generic plan of a statement (its `$n` parameters unknown, as a prepared statement the
 * application runs many times): PREPARE, then EXPLAIN EXECUTE with NULLs under
 * plan_cache_mode = force_generic_plan, which works the same on every supported server.
 * Undefined when the statement does not plan. The caller hands over exactly one statement.
 */
export async function genericPlan(client: pg.ClientBase, sql: string): Promise<PlanNode | undefined> {
  try {
    await client.query(`PREPARE ${PROBE} AS ${sql}`);
  } catch {
    return undefined;
  }
  try {
    const r = await client.query<{ n: number }>('SELECT cardinality(parameter_types)::int AS n FROM pg_prepared_statements WHERE name = $1', [PROBE]);
    const n = r.rows[0]?.n ?? 0;
    await client.query('SET plan_cache_mode = force_generic_plan');
    const args = n > 0 ? `(${Array.from({ length: n }, () => 'NULL').join(', ')})` : '';
    const plan = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) EXECUTE ${PROBE}${args}`);
    return plan.rows[0]?.['QUERY PLAN'][0]?.Plan;
  } catch {
    return undefined;
  } finally {
    await client.query('RESET plan_cache_mode').catch(() => {});
    await client.query(`DEALLOCATE ${PROBE}`).catch(() => {});
  }
}

/** A lookup the application most likely runs on a table: by its key, by each indexed column, along each foreign key. */
export interface GeneratedQuery {
  label: string;
  sql: string;
}

export async function lookupQueries(client: pg.ClientBase, tableOids: readonly number[]): Promise<GeneratedQuery[]> {
  if (tableOids.length === 0) return [];
  const r = await client.query<{ schema: string; table: string; column: string; index: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, i.relname AS index
     FROM pg_index x
     JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
     WHERE x.indrelid = ANY($1::oid[]) AND x.indkey[0] > 0 AND x.indisvalid
     ORDER BY 1, 2, 3`,
    [tableOids],
  );
  const fks = await client.query<{ cs: string; ct: string; cc: string; ps: string; pt: string; pc: string }>(
    `SELECT cn.nspname AS cs, c.relname AS ct, ca.attname AS cc, pn.nspname AS ps, p.relname AS pt, pa.attname AS pc
     FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
     JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
     JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = k.conkey[1]
     JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
     WHERE k.contype = 'f' AND cardinality(k.conkey) = 1 AND (k.conrelid = ANY($1::oid[]) OR k.confrelid = ANY($1::oid[]))
     ORDER BY 1, 2, 3`,
    [tableOids],
  );
  const display = (schema: string, table: string) => (schema === 'public' ? table : `${schema}.${table}`);
  const out = new Map<string, GeneratedQuery>();
  for (const row of r.rows) {
    const label = `lookup of ${display(row.schema, row.table)} by ${row.column}`;
    out.set(label, { label, sql: `SELECT * FROM ${quoteQualified(row.schema, row.table)} WHERE ${quoteIdent(row.column)} = $1` });
  }
  for (const f of fks.rows) {
    const label = `join of ${display(f.ps, f.pt)} to ${display(f.cs, f.ct)} on ${f.cc}`;
    out.set(label, {
      label,
      sql: `SELECT * FROM ${quoteQualified(f.ps, f.pt)} p JOIN ${quoteQualified(f.cs, f.ct)} c ON c.${quoteIdent(f.cc)} = p.${quoteIdent(f.pc)} WHERE p.${quoteIdent(f.pc)} = $1`,
    });
  }
  return [...out.values()];
}

/** The tables of the named indexes (`name` or `schema.name`), as `schema.table`. */
export async function tablesOfIndexes(client: pg.ClientBase, indexes: readonly string[]): Promise<string[]> {
  if (indexes.length === 0) return [];
  const r = await client.query<{ t: string }>(
    `SELECT DISTINCT n.nspname || '.' || c.relname AS t
     FROM unnest($1::text[]) AS w(name)
     JOIN pg_class i ON i.oid = to_regclass(w.name)
     JOIN pg_index x ON x.indexrelid = i.oid
     JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace`,
    [indexes],
  );
  return r.rows.map((row) => row.t);
}
