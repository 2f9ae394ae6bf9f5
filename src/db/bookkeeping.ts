/**
 * Tables migration tools keep their own state in. They are never seeded with rows (a tool would
 * read generated rows as migrations it has run) and never compared as schema or data.
 */
export const BOOKKEEPING_TABLES = [
  'schema_migrations', // golang-migrate, dbmate, Rails
  'schema_migrations_lock',
  'goose_db_version',
  'flyway_schema_history',
  'knex_migrations',
  'knex_migrations_lock',
  'pgmigrations', // node-pg-migrate
  '_prisma_migrations',
  'alembic_version',
  'ar_internal_metadata',
  'gorp_migrations',
  '__diesel_schema_migrations',
  'migrations', // TypeORM, Sequelize (SequelizeMeta below), Laravel
  'sequelizemeta',
  'SequelizeMeta',
  '__efmigrationshistory',
  '__EFMigrationsHistory',
  'databasechangelog', // Liquibase
  'databasechangeloglock',
  'atlas_schema_revisions',
] as const;

/** sqitch keeps its registry in a schema of its own. */
export const BOOKKEEPING_SCHEMAS = ['sqitch', 'atlas_schema_revisions'] as const;

const tables = new Set<string>(BOOKKEEPING_TABLES);
const schemas = new Set<string>(BOOKKEEPING_SCHEMAS);

export function isBookkeepingTable(schema: string, name: string): boolean {
  return schemas.has(schema) || tables.has(name);
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
