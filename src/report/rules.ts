import type { StageName } from '../config.js';
import type { Severity } from './model.js';

/** What a check looks for and what to do about it: the help text of SARIF rules and docs. */
export interface RuleDescription {
  /** Stable id, the `rule` of a finding. */
  id: string;
  /** Stage that usually reports it (down/re-up failures move to `data` when rollback is off). */
  stage: StageName;
  /** Severity it is usually reported with. */
  severity: Severity;
  /** One line: what was found. */
  title: string;
  /** Why it matters and how to fix it, in plain text. */
  help: string;
}

const CATALOGUE: readonly RuleDescription[] = [
  // syntax
  {
    id: 'edited-migration',
    stage: 'syntax',
    severity: 'warning',
    title: 'A migration that already exists at the base was edited',
    help: 'This migration is unchanged at the base branch no more: it has likely run in production already, where the edit will never run, and environments drift apart. Leave merged migrations as they are and add a new migration for the change.',
  },
  {
    id: 'out-of-order',
    stage: 'syntax',
    severity: 'error',
    title: 'A new migration sorts before one that already exists',
    help: 'Two branches were merged in the wrong order: wherever the later migration has run, a tool either skips this one or runs it out of order. Give it a version after the newest existing migration.',
  },
  {
    id: 'empty-migration',
    stage: 'syntax',
    severity: 'notice',
    title: 'The migration file is empty',
    help: 'An empty up file applies and changes nothing. Remove it, or add the statements it was meant to hold.',
  },
  {
    id: 'statement-timeout',
    stage: 'syntax',
    severity: 'error',
    title: 'A statement ran longer than the statement timeout',
    help: 'The statement was stopped after --statement-timeout: it loops, waits forever, or is far too slow for a migration. Fix it, or raise the timeout if such a duration is expected.',
  },
  {
    id: 'lock-timeout',
    stage: 'syntax',
    severity: 'error',
    title: 'A statement waited for a lock longer than the lock timeout',
    help: 'Something held a lock on the table the statement needs. In production the statement would queue behind that lock and block every query after it. Set a lock_timeout in the migration and retry, or run it when the table is quiet.',
  },
  {
    id: 'verify-failed',
    stage: 'syntax',
    severity: 'error',
    title: 'The verify script fails after its deploy',
    help: 'sqitch runs the verify script to prove the deploy did what it says. It fails here, so the deploy is wrong or the verify script is stale.',
  },
  {
    id: 'command-failed',
    stage: 'syntax',
    severity: 'error',
    title: 'The migration tool fails to apply this step',
    help: 'With --up-command the project\'s own tool moves the scratch database one step up; for this migration it exited with an error. Its output is shown with the finding.',
  },
  {
    id: 'baseline-unavailable',
    stage: 'syntax',
    severity: 'warning',
    title: 'The pull request base is not in the checkout',
    help: 'Without the base commit every migration is tested, not only the ones the pull request changes, and edited or out-of-order migrations cannot be told. Check out with full history (actions/checkout with fetch-depth: 0).',
  },
  {
    id: 'parse-error',
    stage: 'syntax',
    severity: 'error',
    title: 'The SQL does not parse',
    help: 'The PostgreSQL parser rejects this file at the position shown, so the migration cannot run anywhere. Fix the statement at that line and column.',
  },
  {
    id: 'parsed-by-server',
    stage: 'syntax',
    severity: 'notice',
    title: 'The server parses a statement the bundled parser does not',
    help: "The bundled parser speaks the grammar of one Postgres major; this statement is written for another (older syntax since removed, or a newer major's), and the server's own grammar accepts it. It is applied as written; the static checks (hazards, locks, touched tables) cannot look inside it.",
  },
  {
    id: 'apply-failed',
    stage: 'syntax',
    severity: 'error',
    title: 'The migration fails to apply',
    help: 'Applied in order on top of the migrations before it, on tables holding rows, this migration fails with the PostgreSQL error shown, also on the state before the generated test rows. It would fail the same way in a deployment. Later migrations are not reached.',
  },
  {
    id: 'fails-with-rows',
    stage: 'syntax',
    severity: 'error',
    title: 'The migration fails on any table that holds rows',
    help: 'The migration passes on empty tables (a fresh development database) but fails as soon as the table holds a row, as it does in production: typically ADD COLUMN ... NOT NULL without a DEFAULT. Give the column a DEFAULT, or add it nullable, backfill it, then SET NOT NULL. The walk applies it to the state before the generated rows and goes on.',
  },
  {
    id: 'data-dependent',
    stage: 'syntax',
    severity: 'warning',
    title: 'The migration fails on the generated test rows',
    help: 'A new constraint, unique index or type change rejects some of the generated rows, so rows in production may violate it too. The message says which production rows would make it fail. Check the production data for such rows before deploying, or handle them in the migration. The walk applies it to the state before the generated rows and goes on.',
  },
  {
    id: 'predicted-not-null-violation',
    stage: 'syntax',
    severity: 'error',
    title: 'Production has NULLs where the statement forbids them',
    help: 'The production statistics (pg_stats null_frac, pg_class reltuples) show NULLs in a column that SET NOT NULL or a primary key now forbids, or rows a new NOT NULL column without a DEFAULT leaves NULL. Backfill the NULLs before the constraint, or give the new column a DEFAULT.',
  },
  {
    id: 'predicted-unique-violation',
    stage: 'syntax',
    severity: 'error',
    title: 'Production has duplicates under the new unique constraint',
    help: 'The production statistics show a most common value, or fewer distinct values (pg_stats n_distinct) than rows, in the columns of a new UNIQUE constraint, primary key or unique index. Remove the duplicates before adding it.',
  },
  {
    id: 'predicted-type-overflow',
    stage: 'syntax',
    severity: 'error',
    title: 'Production holds values the new type cannot hold',
    help: 'The production statistics show values longer than the new varchar or char length, past the new integer type range, or text that is not a number, in a column whose type changes. Clean the values first, convert them in a USING expression, or keep the wider type.',
  },
  {
    id: 'predicted-check-violation',
    stage: 'syntax',
    severity: 'error',
    title: 'Production holds values the new CHECK refuses',
    help: 'A most common value or histogram bound of production (pg_stats) fails the new CHECK constraint, so validating it fails at deploy time. Fix those rows first, or add the constraint NOT VALID and VALIDATE it once they are fixed.',
  },
  {
    id: 'predicted-foreign-key-violation',
    stage: 'syntax',
    severity: 'error',
    title: 'Production rows have no possible parent under the new foreign key',
    help: 'The production statistics show child values the parent column type cannot hold, or a parent table the migration just created and left empty while child rows have the column set. Fill the parent or fix the rows first, or add the constraint NOT VALID.',
  },
  {
    id: 'production-stats-mismatch',
    stage: 'syntax',
    severity: 'notice',
    title: 'The production statistics and the migrations name different tables',
    help: 'The production-stats file names tables the migrations do not create, lacks tables they create, or could not read some tables when it was exported. Nothing is predicted for tables it lacks; export it again from the current production schema, as a role that may read every table.',
  },
  {
    id: 'baseline-failed',
    stage: 'syntax',
    severity: 'error',
    title: 'A baseline migration fails to apply',
    help: 'A migration that is not under test (it already exists on the base branch) fails when applied in order, so the migrations after it cannot be checked. Fix that migration, or check the order and placeholders of the migrations.',
  },
  {
    id: 'not-reached',
    stage: 'syntax',
    severity: 'notice',
    title: 'Migrations not reached',
    help: 'An earlier migration fails also on the state before the generated rows (or stopped on a timeout), so these migrations were not applied and not checked by the stage named. Fix the first failure and run again.',
  },
  {
    id: 'table-not-filled',
    stage: 'syntax',
    severity: 'notice',
    title: 'A table could not be filled with test rows',
    help: 'The row generator could not produce valid rows for this table (a check constraint, trigger or type it cannot satisfy), so the migration met the table empty. Failures that only rows can cause are not caught for this table; a seed file in data-tests can fill it.',
  },
  {
    id: 'fill-fires-triggers',
    stage: 'syntax',
    severity: 'notice',
    title: "Test rows were generated with the application's triggers on",
    help: 'The role may not set session_replication_role (superuser, or GRANT SET ON PARAMETER session_replication_role on Postgres 15+), so user triggers and rules ran on every generated row: fills are slower, and a trigger that rejects writes leaves its table empty.',
  },
  {
    id: 'file-skipped',
    stage: 'syntax',
    severity: 'notice',
    title: 'A file in the migrations folder was skipped',
    help: 'The file does not follow the naming scheme of the migration format, so it is not treated as a migration. Rename it if it is one.',
  },
  {
    id: 'atlas-sum-mismatch',
    stage: 'syntax',
    severity: 'warning',
    title: "The migrations folder does not match Atlas's atlas.sum",
    help: 'Atlas refuses to run a migrations folder whose files differ from what atlas.sum recorded (an edited, added or removed file). Run atlas migrate hash after a deliberate change; otherwise find out who edited a migration that may have run already.',
  },
  {
    id: 'changeset-filtered',
    stage: 'syntax',
    severity: 'notice',
    title: 'A Liquibase changeset is not run',
    help: 'Its dbms attribute leaves out PostgreSQL, or its context or labels do not match liquibase-contexts / liquibase-labels, so Liquibase would not run it either and it is not tested.',
  },
  {
    id: 'nothing-to-test',
    stage: 'syntax',
    severity: 'notice',
    title: 'The pull request changes no migration',
    help: 'Every migration exists unchanged at the base, so there is nothing new to test; the baseline was still applied to check that it runs.',
  },
  {
    id: 'no-transaction',
    stage: 'syntax',
    severity: 'notice',
    title: 'Statements run outside a transaction',
    help: 'Statements such as CREATE INDEX CONCURRENTLY cannot run inside a transaction block, so they were run on their own, as a migration tool does. If one of them fails in production, the statements before it stay applied.',
  },
  {
    id: 'shard-missing',
    stage: 'syntax',
    severity: 'error',
    title: 'A shard reported nothing',
    help: 'The merged reports come from a sharded run, but the report of this shard is missing, so the migrations it should have tested were not checked. Make sure every shard job uploads its report, also when it fails, and that the merge job downloads all of them.',
  },
  // rollback
  {
    id: 'missing-down',
    stage: 'rollback',
    severity: 'error',
    title: 'The migration has no down migration',
    help: 'Without a down migration a bad deployment cannot be rolled back. Write one, or mark the migration irreversible (allow-irreversible) if rolling it back is not possible by design.',
  },
  {
    id: 'format-without-down',
    stage: 'rollback',
    severity: 'notice',
    title: 'The migration format has no down migrations',
    help: 'Prisma, Supabase, Atlas and sqlx simple migrations only go up, so the rollback stage has nothing to roll back. Set require-down to make each migration without a down an error.',
  },
  {
    id: 'down-failed',
    stage: 'rollback',
    severity: 'error',
    title: 'The down migration fails',
    help: 'Right after its up, the down migration of this migration fails with the PostgreSQL error shown, so a rollback in production would fail too.',
  },
  {
    id: 'down-not-restoring',
    stage: 'rollback',
    severity: 'error',
    title: 'The down migration does not restore the schema',
    help: 'The schema after up then down differs from the schema before the up: an object is left behind, missing or changed. Make the down migration undo exactly what the up does.',
  },
  {
    id: 'reapply-failed',
    stage: 'rollback',
    severity: 'error',
    title: 'The up fails when applied again after its down',
    help: 'After up and down, applying the up again fails: the down leaves something behind that the up creates, so a roll-back-and-redeploy would fail. Make the down drop everything the up creates.',
  },
  {
    id: 'enum-label-kept',
    stage: 'rollback',
    severity: 'warning',
    title: 'The down leaves enum labels the up added',
    help: 'Postgres cannot drop an enum label, so the down leaves the labels its up added. The up runs again after the down (ADD VALUE IF NOT EXISTS), so this is safe to leave; the hint shows how a down rebuilds the type without them. When the up cannot run again the difference is an error.',
  },
  {
    id: 'reup-differs',
    stage: 'rollback',
    severity: 'error',
    title: 'Up after down gives a different schema',
    help: 'Applying up, down and up again gives a different schema than the first up: the down leaves something the second up builds on. Make the down undo the up completely.',
  },
  // data
  {
    id: 'data-lost-by-down',
    stage: 'data',
    severity: 'error',
    title: 'The down migration loses rows or values',
    help: 'Rows that existed before the up are missing or changed after the down (compared per column, keyed by primary key). A rollback in production would lose this data. Make the down migration restore the values the up moved or transformed.',
  },
  {
    id: 'data-destroyed-by-up',
    stage: 'data',
    severity: 'warning',
    title: 'The up migration destroys rows or values',
    help: 'Rows or column values present before the up are gone after it and cannot be restored by the down. Make sure the loss is intended, or keep a copy.',
  },
  {
    id: 'assert-failed',
    stage: 'data',
    severity: 'error',
    title: 'A data assertion returned rows',
    help: 'The <version>.assert.sql query run right after the migration returned rows; each row returned is a violation of what the assertion expects.',
  },
  {
    id: 'fixture-error',
    stage: 'data',
    severity: 'error',
    title: 'A data test file fails',
    help: 'A seed or assertion file of the data tests fails with the PostgreSQL error shown, so the data checks for this migration did not run. Fix the file.',
  },
  {
    id: 'test-command-failed',
    stage: 'data',
    severity: 'error',
    title: 'The data test command failed',
    help: 'The data-test-command exited with a non-zero status (or timed out) against the migrated scratch database. Its output is in the detail.',
  },
  {
    id: 'fixture-unmatched',
    stage: 'data',
    severity: 'warning',
    title: 'A data-test file matches no migration',
    help: 'Seed and assert files are named by the exact version of a migration (0002.seed.sql). This one matches none, so it never runs: rename it to a version that exists.',
  },
  {
    id: 'fixture-skipped',
    stage: 'data',
    severity: 'notice',
    title: 'A data-test file was not run',
    help: 'The migration it belongs to was not reached or not tested (a baseline migration, or one after a failure).',
  },
  {
    id: 'rows-left-by-down',
    stage: 'data',
    severity: 'notice',
    title: 'The down leaves rows behind',
    help: 'After the down, tables hold rows that were not there before the up (rows the up inserted and the down did not delete). Usually harmless; check that the down is meant to keep them.',
  },
  {
    id: 'data-changed-indirectly',
    stage: 'data',
    severity: 'notice',
    title: 'Values changed that neither file names',
    help: 'A column changed during the round trip although neither the up nor the down names it: typically a trigger such as updated_at. Reported so you can confirm it is expected.',
  },
  {
    id: 'sequence-behind',
    stage: 'data',
    severity: 'warning',
    title: 'A sequence is behind the values of its column',
    help: 'The sequence would hand out ids its column already holds, so the next insert fails with a duplicate key: a serial turned identity without setval, or a down that re-creates a sequence. Call setval after the change.',
  },
  {
    id: 'not-critical',
    stage: 'data',
    severity: 'notice',
    title: 'Skipped: touches no critical table',
    help: 'With critical-tables, the automatic data round trip runs only for migrations that touch a listed table.',
  },
  {
    id: 'data-checks-skipped',
    stage: 'data',
    severity: 'notice',
    title: 'Data checks skipped for this migration',
    help: 'The data round trip could not run here (the migration was applied to emptied tables, or its down failed), so nothing about its data can be said.',
  },
  {
    id: 'test-command-skipped',
    stage: 'data',
    severity: 'notice',
    title: 'The data test command did not run',
    help: 'The walk did not reach the newest migration, or no command runner is available in this front end.',
  },
  {
    id: 'long-lock',
    stage: 'performance',
    severity: 'warning',
    title: 'A table is locked against reads for long',
    help: 'Measured or projected at production size, a table with rows stays locked against reads (AccessExclusiveLock) longer than a second or a tenth of perf-threshold-ms: every query on it waits that long. Use non-blocking variants, batch the work, or split the migration.',
  },
  {
    id: 'measured-on-fewer-rows',
    stage: 'performance',
    severity: 'warning',
    title: 'The migration was measured on fewer rows than asked',
    help: 'A table it touches could not be filled to perf-rows (a smallint key, a unique column over a small domain, a CHECK, or a fill that failed or timed out), so its timings and locks were measured on fewer rows and say less about production. A seed file in data-tests, or a wider key type, lets it fill.',
  },
  {
    id: 'not-measured',
    stage: 'performance',
    severity: 'notice',
    title: 'The migration was not measured',
    help: 'It could not be timed at volume (it failed on the generated values, or the stage stopped earlier).',
  },
  {
    id: 'unknown-production-table',
    stage: 'performance',
    severity: 'notice',
    title: 'A production-rows entry matches no table',
    help: 'The table named in production-rows does not exist in the migrated schema, so nothing is projected for it. Check its spelling and schema.',
  },
  {
    id: 'expression-rewritten',
    stage: 'rollback',
    severity: 'notice',
    title: 'A definition came back written differently',
    help: 'After the down and up, a constraint, default or index expression has the same meaning but a different text (Postgres added casts after a type change). Not a schema difference in effect; shown so you can confirm.',
  },
  {
    id: 'layout-differs',
    stage: 'rollback',
    severity: 'notice',
    title: 'A definition differs only in layout',
    help: 'A view or function body came back with different white space only.',
  },
  // performance
  {
    id: 'too-slow',
    stage: 'performance',
    severity: 'error',
    title: 'The migration is slower than the threshold',
    help: 'At the seeded (or projected production) row counts, the migration takes longer than perf-threshold-ms. While it runs, the locks it holds block the application. Split it, batch the data changes, or use non-blocking variants.',
  },
  {
    id: 'table-rewrite',
    stage: 'performance',
    severity: 'warning',
    title: 'A statement rewrites the whole table',
    help: 'The statement writes a new copy of the table (its relfilenode changed) while holding an ACCESS EXCLUSIVE lock, so reads and writes wait for the whole rewrite. Add a new column and backfill it in batches instead, or schedule the change.',
  },
  {
    id: 'access-exclusive-lock',
    stage: 'performance',
    severity: 'warning',
    title: 'A statement holds an ACCESS EXCLUSIVE lock for long',
    help: 'The statement holds an ACCESS EXCLUSIVE lock on a populated table, which blocks every read and write for as long as it is held. Use a variant that takes a weaker lock, or keep the locked part short.',
  },
  {
    id: 'index-not-concurrent',
    stage: 'performance',
    severity: 'warning',
    title: 'An index is built without CONCURRENTLY',
    help: 'CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build. Use CREATE INDEX CONCURRENTLY (outside a transaction) on tables that already hold data.',
  },
  {
    id: 'volatile-default',
    stage: 'performance',
    severity: 'warning',
    title: 'A column is added with a volatile default',
    help: 'ADD COLUMN with a volatile DEFAULT (random(), clock_timestamp(), gen_random_uuid()...) rewrites the table under an ACCESS EXCLUSIVE lock. Add the column without the default, set the default, then backfill in batches.',
  },
  {
    id: 'column-type-rewrite',
    stage: 'performance',
    severity: 'warning',
    title: 'A column type change rewrites the table',
    help: 'ALTER COLUMN ... TYPE to a type that is not binary compatible rewrites the table and its indexes under an ACCESS EXCLUSIVE lock. Add a new column, backfill it in batches, then swap.',
  },
  {
    id: 'set-not-null',
    stage: 'performance',
    severity: 'warning',
    title: 'SET NOT NULL scans the table under an exclusive lock',
    help: 'ALTER COLUMN ... SET NOT NULL scans the whole table while holding an ACCESS EXCLUSIVE lock. First add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL (PostgreSQL 12+ uses the validated check and skips the scan).',
  },
  {
    id: 'constraint-not-valid',
    stage: 'performance',
    severity: 'warning',
    title: 'A constraint is validated while the table is locked',
    help: 'Adding a CHECK or FOREIGN KEY constraint without NOT VALID checks every row while holding a lock that blocks writes. Add it NOT VALID, then VALIDATE CONSTRAINT in a separate step, which takes a weaker lock.',
  },
  {
    id: 'missing-lock-timeout',
    stage: 'performance',
    severity: 'warning',
    title: 'The migration takes strong locks without a lock_timeout',
    help: 'A statement that needs an ACCESS EXCLUSIVE lock queues behind long-running queries and, while it waits, blocks every other query on the table. SET lock_timeout at the top of the migration so it gives up instead, and retry.',
  },
  {
    id: 'plan-regression',
    stage: 'performance',
    severity: 'warning',
    title: 'A query plan gets much costlier after the migration',
    help: 'At perf-rows rows, a query of the running release (or a generated lookup by an indexed column or along a foreign key) plans to a much higher cost after the migration, or reads a table with rows by a sequential scan where it used an index. Keep an index that serves it, or build the replacement (CREATE INDEX CONCURRENTLY) before dropping the old one.',
  },
  {
    id: 'write-cost',
    stage: 'performance',
    severity: 'warning',
    title: 'Insert cost after the migration',
    help: 'The migration gives a table with rows a new index, trigger, foreign key or constraint, which every insert now maintains or checks. The ratio of a timed, rolled-back batch of inserts after and before the migration is reported; past write-cost-threshold it is a warning. Drop what no query needs, or accept the cost knowingly.',
  },
  // dependencies
  {
    id: 'dependency-broken',
    stage: 'dependencies',
    severity: 'error',
    title: 'A routine, view or policy no longer plans after the migration',
    help: 'Postgres records no dependency for what a function body reads, and checks PL/pgSQL only when it runs: the migration dropped or renamed something a routine (or the trigger that calls it) still uses, and it fails on its next call in production. Update the routine in the same migration (CREATE OR REPLACE), or keep what it uses until it no longer does.',
  },
  {
    id: 'query-broken',
    stage: 'dependencies',
    severity: 'error',
    title: 'The migration breaks a query of the running release',
    help: 'A query from the queries input planned before the migration and fails after it. During a rolling deploy the previous release keeps running it against the new schema. Expand first (add the new, keep the old), deploy, then contract in a later migration.',
  },
  {
    id: 'dependency-already-broken',
    stage: 'dependencies',
    severity: 'notice',
    title: 'A routine, view or policy did not plan before the migration either',
    help: 'It fails on the schema the migration starts from, so the migration is not to blame. Fix or drop it when convenient.',
  },
  {
    id: 'query-already-broken',
    stage: 'dependencies',
    severity: 'notice',
    title: 'Queries of the running release did not plan before the migrations either',
    help: 'These queries fail on the schema the migrations under test start from (a stale export, or parameters whose type cannot be inferred), so they are not blamed on any migration.',
  },
  {
    id: 'new-routine-broken',
    stage: 'dependencies',
    severity: 'warning',
    title: 'A routine the migration creates does not plan',
    help: 'PL/pgSQL is checked only when it runs: a statement of the new routine reads or writes something that does not exist. Fix the routine before it is first called.',
  },
  {
    id: 'partial-failure-unrecoverable',
    stage: 'dependencies',
    severity: 'error',
    title: 'A failure half way through the migration leaves a state nothing recovers',
    help: 'The migration does not run in one transaction (CREATE INDEX CONCURRENTLY, transaction:false, statements next to a concurrent one), so what ran before a failure stays committed. Here neither running the up again nor the down brings the database back to a known schema. Make each step safe to run again (IF NOT EXISTS / IF EXISTS), or move the transactional statements to a migration of their own.',
  },
  {
    id: 'invalid-index-left',
    stage: 'dependencies',
    severity: 'error',
    title: 'A failed concurrent index build leaves an INVALID index that a retry keeps',
    help: 'CREATE INDEX CONCURRENTLY that fails half way leaves the index behind, marked INVALID: no query uses it, every write still maintains it, and CREATE INDEX CONCURRENTLY IF NOT EXISTS on a retry keeps it for good. Drop it first (DROP INDEX CONCURRENTLY IF EXISTS), then re-create it.',
  },
  {
    id: 'queries-skipped',
    stage: 'dependencies',
    severity: 'notice',
    title: 'Some entries of the queries were not planned',
    help: 'Only SELECT, INSERT, UPDATE, DELETE and MERGE can be planned; other statements of the queries input (BEGIN, SET, utility commands) and text that does not parse are skipped.',
  },
];

const BY_ID = new Map(CATALOGUE.map((r) => [r.id, r]));

/** Every rule the engine is known to report. */
export const RULES: readonly RuleDescription[] = CATALOGUE;

/**
 * The description of a rule; a generic one for a rule this catalogue does not know (a newer
 * engine's report, or a stage that added a check), so renderers never fail on an unknown id.
 */
export function describeRule(id: string, stage?: StageName, severity?: Severity): RuleDescription {
  const known = BY_ID.get(id);
  if (known) return known;
  const words = id.replace(/[-_]+/g, ' ').trim();
  return {
    id,
    stage: stage ?? 'syntax',
    severity: severity ?? 'warning',
    title: words === '' ? 'migration-ci finding' : words.charAt(0).toUpperCase() + words.slice(1),
    help: `A check of the ${stage ?? 'migration-ci'} stage reported this; the finding's message and detail say what was found and where.`,
  };
}
