import type pg from 'pg';

/**
 * What counts as a user's table, as a SQL condition on `pg_class c` joined to `pg_namespace n`:
 * ordinary or partitioned, not a partition (its parent stands for it), not temporary, not in a
 * system schema, not a member of an extension.
 */
export const USER_TABLE_CONDITION = `c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid AND ext.deptype = 'e')`;

const USER_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${USER_TABLE_CONDITION}
ORDER BY 1, 2`;

export interface TableName {
  schema: string;
  name: string;
}

export async function listUserTables(client: pg.ClientBase): Promise<TableName[]> {
  const r = await client.query<TableName>(USER_TABLES_SQL);
  return r.rows;
}

/** "users" for public tables, "billing.invoices" otherwise: how reports name a table. */
export function displayTable(t: TableName): string {
  return t.schema === 'public' ? t.name : `${t.schema}.${t.name}`;
}
