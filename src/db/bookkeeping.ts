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
