import type pg from 'pg';

/** Ordinary and partitioned tables the user owns: not system schemas, not extension members, not partitions. */
const USER_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
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
