/**
 * Every option of the tool, once: the CLI's flags, the action's inputs (action.yml is checked
 * against this list by a test) and the help text all come from here.
 */
export interface OptionSpec {
  /** Key in RawOptions. */
  key: string;
  /** CLI flag without dashes. */
  flag: string;
  /** Action input name; undefined for CLI-only options. */
  input: string | undefined;
  kind: 'string' | 'boolean' | 'multi';
  /** Shown in --help and action.yml. */
  default: string | undefined;
  help: string;
  /** Placeholder in --help. */
  arg?: string;
}

export const OPTION_SPECS = [
  { key: 'dir', flag: 'dir', input: 'migrations-dir', kind: 'string', default: 'migrations', arg: 'DIR', help: 'migrations folder' },
  { key: 'format', flag: 'format', input: 'format', kind: 'string', default: 'auto', arg: 'F', help: 'auto, golang-migrate, dbmate, goose, flyway, sqitch, diesel, hasura, sourcegraph, prisma, supabase, atlas, sqlx, liquibase, sql-migrate, tern, postgrator or node-pg-migrate' },
  {
    key: 'databaseUrl',
    flag: 'database-url',
    input: 'database-url',
    kind: 'string',
    default: undefined,
    arg: 'URL',
    help: 'server to work on ($DATABASE_URL; the CLI starts an embedded Postgres when neither is given); never modified: all work happens in scratch databases created and dropped',
  },
  { key: 'stages', flag: 'stages', input: 'stages', kind: 'string', default: 'syntax,rollback,data,performance,dependencies', arg: 'LIST', help: 'which stages run' },
  { key: 'dataTests', flag: 'data-tests', input: 'data-tests', kind: 'string', default: undefined, arg: 'DIR', help: '<version>.seed.sql runs right before that migration\'s up, <version>.assert.sql right after it' },
  {
    key: 'dataTestCommand',
    flag: 'data-test-command',
    input: 'data-test-command',
    kind: 'string',
    default: undefined,
    arg: 'CMD',
    help: 'command run after the migrations under test are applied, with DATABASE_URL set to the scratch database',
  },
  { key: 'perfRows', flag: 'perf-rows', input: 'perf-rows', kind: 'string', default: '500000', arg: 'N', help: 'rows seeded per touched table' },
  { key: 'perfThresholdMs', flag: 'perf-threshold-ms', input: 'perf-threshold-ms', kind: 'string', default: '10000', arg: 'N', help: 'a migration slower than this fails' },
  {
    key: 'productionRows',
    flag: 'production-rows',
    input: 'production-rows',
    kind: 'string',
    default: undefined,
    arg: 'LIST|FILE',
    help: 'table=rows pairs (users=5e7,orders=2e8) or a file of them: projects timings to production size',
  },
  {
    key: 'productionStats',
    flag: 'production-stats',
    input: 'production-stats',
    kind: 'string',
    default: undefined,
    arg: 'FILE',
    help: 'statistics file written by `migration-ci stats`: predicts what production data does to each statement and projects timings to its rows',
  },
  {
    key: 'criticalTables',
    flag: 'critical-tables',
    input: 'critical-tables',
    kind: 'string',
    default: undefined,
    arg: 'FILE',
    help: 'one table a line; when given, data and performance run only for migrations touching these',
  },
  { key: 'baseRef', flag: 'base-ref', input: 'base-ref', kind: 'string', default: undefined, arg: 'REF', help: 'migrations present at REF are the baseline; only new or changed ones are under test' },
  { key: 'reportJson', flag: 'report-json', input: 'report-json', kind: 'string', default: undefined, arg: 'FILE', help: 'writes the JSON report' },
  { key: 'sarif', flag: 'sarif', input: 'sarif', kind: 'string', default: undefined, arg: 'FILE', help: 'writes the findings as SARIF 2.1.0 to FILE (for code scanning)' },
  { key: 'seedRows', flag: 'seed-rows', input: 'seed-rows', kind: 'string', default: '100', arg: 'N', help: 'rows put in every table before a migration under test meets it' },
  {
    key: 'statementTimeoutMs',
    flag: 'statement-timeout',
    input: 'statement-timeout',
    kind: 'string',
    default: '300000',
    arg: 'MS',
    help: 'a statement running longer is stopped and reported',
  },
  { key: 'lockTimeoutMs', flag: 'lock-timeout', input: 'lock-timeout', kind: 'string', default: '30000', arg: 'MS', help: 'a statement waiting longer for a lock is stopped and reported' },
  {
    key: 'connectTimeoutMs',
    flag: 'connect-timeout',
    input: 'connect-timeout',
    kind: 'string',
    default: '30000',
    arg: 'MS',
    help: 'keep retrying the first connection this long (a service container may still be starting)',
  },
  { key: 'strictColumnOrder', flag: 'strict-column-order', input: 'strict-column-order', kind: 'boolean', default: 'false', help: 'a column that moved counts as schema drift' },
  { key: 'ignore', flag: 'ignore', input: 'ignore', kind: 'multi', default: undefined, arg: 'PATTERN', help: 'objects left out of schema comparison (glob on names, e.g. audit_*); repeatable' },
  { key: 'snapshot', flag: 'snapshot', input: 'snapshot', kind: 'string', default: 'catalog', arg: 'KIND', help: 'schema snapshot: catalog or pg_dump' },
  { key: 'allowIrreversible', flag: 'allow-irreversible', input: 'allow-irreversible', kind: 'boolean', default: 'false', help: 'a missing down migration is a notice, not an error' },
  {
    key: 'allowOutside',
    flag: 'allow-outside',
    input: 'allow-outside',
    kind: 'string',
    default: undefined,
    arg: 'LIST',
    help: 'classes of statements acting outside the scratch database that may run: databases, system, tablespaces, programs, server-files, backends, remote; superuser runs the migrations as the connecting role',
  },
  { key: 'requireDown', flag: 'require-down', input: 'require-down', kind: 'boolean', default: 'false', help: 'formats without downs (Prisma, Supabase, Atlas, sqlx) still need one per migration: a missing down is an error' },
  {
    key: 'liquibaseContexts',
    flag: 'liquibase-contexts',
    input: 'liquibase-contexts',
    kind: 'string',
    default: undefined,
    arg: 'LIST',
    help: 'Liquibase contexts of the run (dev,test): changesets whose context does not match are not run',
  },
  { key: 'liquibaseLabels', flag: 'liquibase-labels', input: 'liquibase-labels', kind: 'string', default: undefined, arg: 'EXPR', help: 'Liquibase label expression of the run (e.g. "v2 and !slow")' },
  { key: 'placeholders', flag: 'placeholder', input: 'placeholders', kind: 'multi', default: undefined, arg: 'NAME=VALUE', help: 'replaces ${NAME} in the SQL (Flyway style); repeatable' },
  { key: 'replace', flag: 'replace', input: 'replace', kind: 'multi', default: undefined, arg: 'FROM=TO', help: 'replaces literal text before parsing; repeatable' },
  { key: 'upCommand', flag: 'up-command', input: 'up-command', kind: 'string', default: undefined, arg: 'CMD', help: 'command that applies one migration step up against DATABASE_URL (migrations as code)' },
  { key: 'downCommand', flag: 'down-command', input: 'down-command', kind: 'string', default: undefined, arg: 'CMD', help: 'command that rolls one migration step back against DATABASE_URL' },
  { key: 'shard', flag: 'shard', input: 'shard', kind: 'string', default: undefined, arg: 'I/N', help: 'test only the I-th of N stable shares of the migrations under test (merge the shards with merge-reports)' },
  {
    key: 'queries',
    flag: 'queries',
    input: 'queries',
    kind: 'string',
    default: undefined,
    arg: 'PATH',
    help: 'the running release\'s queries: .sql files (one query a statement) or a pg_stat_statements export (CSV or JSON with a query column), or a folder of them; each must still plan after every migration under test',
  },
  {
    key: 'planCostThreshold',
    flag: 'plan-cost-threshold',
    input: 'plan-cost-threshold',
    kind: 'string',
    default: '10',
    arg: 'N',
    help: 'in the performance stage, a query plan whose cost grows by this factor after a migration is a warning',
  },
  {
    key: 'writeCostThreshold',
    flag: 'write-cost-threshold',
    input: 'write-cost-threshold',
    kind: 'string',
    default: undefined,
    arg: 'N',
    help: 'in the performance stage, inserts into a table this many times slower after a migration (new indexes, triggers, constraints) is a warning; unset, the measured ratio is a notice only (timings move with the machine\'s load)',
  },
  {
    key: 'postgresVersion',
    flag: 'postgres-version',
    input: undefined,
    kind: 'string',
    default: undefined,
    arg: 'MAJOR',
    help: 'major of the embedded Postgres started when no database URL is given: 13 to 18 (default: the newest installed)',
  },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTION_SPECS)[number]['key'];
