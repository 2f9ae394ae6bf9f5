/**
 * Tables migration tools keep their own state in. The format in use's own are never seeded with
 * rows (the tool would read generated rows as migrations it has run) and never compared as schema
 * or data; a table that only bears another tool's name is the project's own and tested as such.
 */
export interface Bookkeeping {
  tables: ReadonlySet<string>;
  schemas: ReadonlySet<string>;
}

/** Each format's own tables (and schemas), as its tool names them by default. */
const OF_FORMAT: Readonly<Record<string, { tables?: readonly string[]; schemas?: readonly string[] }>> = {
  'golang-migrate': { tables: ['schema_migrations'] },
  dbmate: { tables: ['schema_migrations'] },
  goose: { tables: ['goose_db_version'] },
  flyway: { tables: ['flyway_schema_history'] },
  sqitch: { schemas: ['sqitch'] },
  diesel: { tables: ['__diesel_schema_migrations'] },
  hasura: { schemas: ['hdb_catalog'] },
  sourcegraph: { tables: ['migration_logs'] },
  prisma: { tables: ['_prisma_migrations'] },
  supabase: { schemas: ['supabase_migrations'] },
  atlas: { tables: ['atlas_schema_revisions'], schemas: ['atlas_schema_revisions'] },
  sqlx: { tables: ['_sqlx_migrations'] },
  liquibase: { tables: ['databasechangelog', 'databasechangeloglock'] },
  'sql-migrate': { tables: ['gorp_migrations'] },
  tern: { tables: ['schema_version'] },
  postgrator: { tables: ['schemaversion'] },
  'node-pg-migrate': { tables: ['pgmigrations'] },
};

/** Tools migration-ci has no format for, run through up-command: any of these may be the one in use. */
const OTHER_TOOLS = [
  'schema_migrations_lock',
  'knex_migrations',
  'knex_migrations_lock',
  'alembic_version',
  'ar_internal_metadata',
  'migrations', // TypeORM, Sequelize (SequelizeMeta below), Laravel
  'sequelizemeta',
  'SequelizeMeta',
  '__efmigrationshistory',
  '__EFMigrationsHistory',
];

/**
 * The bookkeeping of the format in use. A format migration-ci does not know (a migration tool
 * run through up-command) could be any tool: then every known tool's tables are left out.
 */
export function bookkeepingOf(format: string | undefined): Bookkeeping {
  const own = format === undefined ? undefined : OF_FORMAT[format];
  if (own) return { tables: new Set(own.tables ?? []), schemas: new Set(own.schemas ?? []) };
  const all = Object.values(OF_FORMAT);
  return {
    tables: new Set([...all.flatMap((f) => f.tables ?? []), ...OTHER_TOOLS]),
    schemas: new Set(all.flatMap((f) => f.schemas ?? [])),
  };
}

/** Every known tool's bookkeeping: for callers that do not know the format. */
export const ANY_TOOL: Bookkeeping = bookkeepingOf(undefined);

export function isBookkeepingTable(schema: string, name: string, of: Bookkeeping = ANY_TOOL): boolean {
  return of.schemas.has(schema) || of.tables.has(name);
}

/**
 * Tables a tool creates before it runs the first migration, in the tool's own words: a migration
 * that reads one (Diesel projects sometimes do) must find it, as it would under the tool.
 */
const TOOL_TABLES: Readonly<Record<string, { table: string; ddl: string }>> = {
  diesel: {
    table: '__diesel_schema_migrations',
    ddl: 'CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  },
};

/** The SQL that gives every scratch database the format's own table, when some migration names it. */
export function toolTableSetup(format: string, migrationTexts: readonly string[]): string | undefined {
  const tool = TOOL_TABLES[format];
  if (!tool) return undefined;
  const named = new RegExp(`\\b${tool.table}\\b`, 'i');
  return migrationTexts.some((t) => named.test(t)) ? tool.ddl : undefined;
}
