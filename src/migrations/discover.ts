import type { FormatName } from '../config.js';
import { InputError } from '../errors.js';
import { discoverDbmate } from './dbmate.js';
import { describeDetection, explainFolder, type ConcreteFormat } from './detect.js';
import { discoverDirectoryFormat } from './directory.js';
import { relativePath } from './files.js';
import { discoverFlyway } from './flyway.js';
import { discoverGolangMigrate } from './golang-migrate.js';
import { discoverGoose } from './goose.js';
import { discoverLiquibase, type LiquibaseFilters } from './liquibase.js';
import { discoverNodePgMigrateSql } from './node-pg-migrate.js';
import { discoverPostgrator } from './postgrator.js';
import { discoverSqitch } from './sqitch.js';
import { discoverSqlMigrate } from './sql-migrate.js';
import { discoverTern } from './tern.js';
import type { DiscoveredMigrations } from './types.js';
import { discoverAtlas, discoverSqlx, discoverSupabase } from './up-only.js';

export interface DiscoveryOptions {
  liquibase?: LiquibaseFilters;
}

const DISCOVER: Record<ConcreteFormat, (root: string, dir: string, options: DiscoveryOptions) => DiscoveredMigrations> = {
  'golang-migrate': discoverGolangMigrate,
  dbmate: discoverDbmate,
  goose: discoverGoose,
  flyway: discoverFlyway,
  sqitch: discoverSqitch,
  diesel: (root, dir) => discoverDirectoryFormat(root, dir, 'diesel'),
  hasura: (root, dir) => discoverDirectoryFormat(root, dir, 'hasura'),
  sourcegraph: (root, dir) => discoverDirectoryFormat(root, dir, 'sourcegraph'),
  prisma: (root, dir) => discoverDirectoryFormat(root, dir, 'prisma'),
  supabase: discoverSupabase,
  atlas: discoverAtlas,
  sqlx: discoverSqlx,
  liquibase: (root, dir, options) => discoverLiquibase(root, dir, options.liquibase),
  'sql-migrate': discoverSqlMigrate,
  tern: discoverTern,
  postgrator: discoverPostgrator,
  'node-pg-migrate': discoverNodePgMigrateSql,
};

/** Finds the migrations of a folder in the given (or detected) format; finding none is an error that says why. */
export function discoverMigrations(root: string, dir: string, format: FormatName, options: DiscoveryOptions = {}): DiscoveredMigrations {
  const chosen = format === 'auto' ? detectFormat(root, dir) : format;
  const found = DISCOVER[chosen](root, dir, options);
  if (found.migrations.length === 0) {
    const looks = explainFolder(root, dir);
    const hint = looks.format && looks.format !== chosen ? `; pass --format ${looks.format} (or leave it at auto)` : '';
    const filtered = found.notices.some((n) => n.rule === 'changeset-filtered') ? '; every changeset is filtered out by contexts, labels or dbms' : '';
    throw new InputError('input', `no migrations found in ${relativePath(root, dir) || '.'} (format ${found.format})${filtered}; ${describeDetection(looks)}${hint}`);
  }
  return found;
}

/** Which layout a folder uses; a folder no format fits is an error that says what it holds. */
export function detectFormat(root: string, dir: string): ConcreteFormat {
  const d = explainFolder(root, dir);
  if (d.format) return d.format;
  // The format's own discovery reports a missing folder or a file with the right words.
  if (d.because === 'it does not exist' || d.because.startsWith('it is a file')) return 'golang-migrate';
  // The reason already says what to do, or there is nothing a format could read.
  const advised = d.because.startsWith('it is empty') || /point migrations-dir|give up-command|pass --format/.test(d.because);
  const hint = advised ? '' : '; pass --format if the folder is in a format not recognised';
  throw new InputError('input', `no migrations found in ${relativePath(root, dir) || '.'}: ${d.because}${hint}`);
}
