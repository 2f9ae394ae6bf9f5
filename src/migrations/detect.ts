import fs from 'node:fs';
import path from 'node:path';
import type { FormatName } from '../config.js';
import { looksLikeDbmate } from './dbmate.js';
import { migrationFolders } from './directory.js';
import { relativePath } from './files.js';
import { looksLikeFlyway } from './flyway.js';
import { looksLikeGolangMigrate } from './golang-migrate.js';
import { looksLikeGoose } from './goose.js';
import { LIQUIBASE_HEADER, looksLikeLiquibase } from './liquibase.js';
import { looksLikeNodePgMigrate } from './node-pg-migrate.js';
import { looksLikePostgrator } from './postgrator.js';
import { SQITCH_PLAN } from './sqitch.js';
import { looksLikeSqlMigrate } from './sql-migrate.js';
import { looksLikeTern } from './tern.js';
import { ATLAS_SUM } from './up-only.js';

export type ConcreteFormat = Exclude<FormatName, 'auto'>;

/** What a folder looks like, and why: the reason is shown to the user when it matters. */
export interface Detection {
  format: ConcreteFormat | undefined;
  because: string;
}

/** "this folder looks like X because Y", or what it holds when no format fits. */
export function describeDetection(d: Detection): string {
  return d.format ? `this folder looks like ${d.format} because ${d.because}` : d.because;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A marker file in the folder or a folder above it, up to the repository root. */
function aboveHas(root: string, dir: string, name: string): string | undefined {
  const top = path.resolve(root);
  for (let d = path.resolve(dir); d.startsWith(top); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, name))) return relativePath(root, path.join(d, name)) || name;
    if (d === top || path.dirname(d) === d) break;
  }
  return undefined;
}

function sample(dir: string, names: string[]): Array<{ name: string; head: string }> {
  return names
    .filter((n) => /\.(sql|xml|ya?ml|json)$/i.test(n))
    .slice(0, 50)
    .map((name) => {
      try {
        return { name, head: fs.readFileSync(path.join(dir, name), 'utf8').slice(0, 64 * 1024) };
      } catch {
        return { name, head: '' };
      }
    });
}

/** Which layout a folder uses, from its file names and markers, with the evidence. */
export function explainFolder(root: string, dir: string): Detection {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return { format: undefined, because: 'it does not exist' };
  }
  if (stat.isFile()) {
    const head = fs.readFileSync(dir, 'utf8').slice(0, 64 * 1024);
    if (LIQUIBASE_HEADER.test(head) || /databaseChangeLog/.test(head)) return { format: 'liquibase', because: 'it is a Liquibase changelog' };
    return { format: undefined, because: 'it is a file, not a folder of migrations' };
  }
  const names = fs.readdirSync(dir).sort();
  const visible = names.filter((n) => !n.startsWith('.'));
  if (names.includes(SQITCH_PLAN)) return { format: 'sqitch', because: `it holds ${SQITCH_PLAN}` };
  const folders = migrationFolders(dir);
  const prisma = folders.filter((f) => f.files.includes('migration.sql'));
  if (names.includes('migration_lock.toml')) return { format: 'prisma', because: 'it holds migration_lock.toml' };
  if (prisma.length > 0) return { format: 'prisma', because: `it holds ${plural(prisma.length, 'folder')} <timestamp>_<name>/migration.sql` };
  const withUp = folders.filter((f) => f.files.includes('up.sql'));
  if (withUp.length > 0) {
    const layout = `${plural(withUp.length, 'folder')} <version>_<name>/up.sql`;
    if (withUp.some((f) => f.files.includes('metadata.yaml'))) return { format: 'sourcegraph', because: `it holds ${layout} with metadata.yaml` };
    const dieselToml = aboveHas(root, dir, 'diesel.toml');
    if (withUp.some((f) => f.files.includes('metadata.toml'))) return { format: 'diesel', because: `it holds ${layout} with metadata.toml` };
    if (dieselToml) return { format: 'diesel', because: `it holds ${layout} and ${dieselToml} is there` };
    if (withUp.some((f) => f.name.includes('-') || f.name.endsWith('_diesel_initial_setup'))) return { format: 'diesel', because: `it holds ${layout} named as Diesel names them` };
    return { format: 'hasura', because: `it holds ${layout} (the Hasura layout; Diesel's is the same)` };
  }
  // Atlas also keeps a sum beside golang-migrate files: the up/down pairs decide.
  if (looksLikeGolangMigrate(names)) return { format: 'golang-migrate', because: 'it holds <version>_<name>.up.sql files' };
  if (names.includes(ATLAS_SUM)) return { format: 'atlas', because: `it holds ${ATLAS_SUM}` };
  const samples = sample(dir, names);
  if (looksLikeLiquibase(samples)) return { format: 'liquibase', because: 'its files start with "--liquibase formatted sql" or are databaseChangeLog changelogs' };
  if (looksLikePostgrator(names)) return { format: 'postgrator', because: 'it holds <n>.do.sql files' };
  if (looksLikeFlyway(names)) return { format: 'flyway', because: 'it holds V<version>__<name>.sql files' };
  if (looksLikeDbmate(samples)) return { format: 'dbmate', because: 'its files hold "-- migrate:up"' };
  if (looksLikeGoose(samples)) return { format: 'goose', because: 'its files hold "-- +goose Up"' };
  if (looksLikeSqlMigrate(samples)) return { format: 'sql-migrate', because: 'its files hold "-- +migrate Up"' };
  if (looksLikeTern(samples)) return { format: 'tern', because: 'its files hold "---- create above / drop below ----"' };
  if (looksLikeNodePgMigrate(samples)) return { format: 'node-pg-migrate', because: 'its files hold "-- Up Migration"' };
  const plain = names.filter((n) => /^\d+_.+\.sql$/.test(n));
  if (plain.length > 0) {
    const what = `${plural(plain.length, 'file')} <version>_<name>.sql without up/down markers`;
    const relDir = relativePath(root, dir);
    if (/(^|\/)supabase\/migrations$/.test(relDir)) return { format: 'supabase', because: `it is supabase/migrations and holds ${what}` };
    const ternConf = aboveHas(root, dir, 'tern.conf');
    if (ternConf) return { format: 'tern', because: `it holds ${what} and ${ternConf} is there` };
    const cargo = aboveHas(root, dir, 'Cargo.toml');
    if (cargo) return { format: 'sqlx', because: `it holds ${what} and ${cargo} is there (sqlx simple migrations)` };
    return { format: undefined, because: `it holds ${what}: up-only SQL as sqlx or Supabase keep it, but nothing says which (pass --format sqlx or supabase)` };
  }
  return { format: undefined, because: describeUnknown(root, dir, visible, folders) };
}

/** Words for a folder no SQL format fits: what it holds instead. */
function isFolder(abs: string): boolean {
  try {
    return fs.statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function describeUnknown(root: string, dir: string, visible: string[], folders: Array<{ name: string; files: string[] }>): string {
  // `supabase/`, `prisma/`, `db/`: the migrations are one folder down.
  const inner = visible.find((n) => /^(migrations?|changelog)$/i.test(n) && isFolder(path.join(dir, n)));
  if (inner) {
    const what = explainFolder(root, path.join(dir, inner));
    if (what.format) return `it holds a ${inner} folder that looks like ${what.format}: point migrations-dir at ${relativePath(root, path.join(dir, inner))}`;
  }
  if (visible.length === 0) return fs.readdirSync(dir).length > 0 ? 'it is empty but for hidden files' : 'it is empty';
  const count = (re: RegExp) => visible.filter((n) => re.test(n)).length;
  const code = count(/\.(js|cjs|mjs|ts|cts|mts)$/);
  if (code > 0) return `it holds ${plural(code, 'JavaScript/TypeScript file')}: migrations as code (knex, node-pg-migrate, TypeORM); give up-command and down-command`;
  const py = count(/\.py$/);
  if (py > 0) return `it holds ${plural(py, 'Python file')}: migrations as code (Alembic, Django); give up-command and down-command`;
  const go = count(/\.go$/);
  if (go > 0) return `it holds ${plural(go, 'Go file')}: migrations as code; give up-command and down-command`;
  const rb = count(/\.rb$/);
  if (rb > 0) return `it holds ${plural(rb, 'Ruby file')}: Rails migrations as code; give up-command and down-command`;
  if (folders.length > 0) return `it holds ${plural(folders.length, 'folder')} named <version>_<name> but none with up.sql or migration.sql`;
  const sql = visible.filter((n) => n.endsWith('.sql'));
  if (sql.length > 0) return `it holds ${plural(sql.length, '.sql file')} (${sql.slice(0, 3).join(', ')}${sql.length > 3 ? ', ...' : ''}) that no format names that way`;
  const sub = visible.filter((n) => isFolder(path.join(dir, n)));
  if (sub.length > 0) return `it holds only folders (${sub.slice(0, 3).join(', ')}): point migrations-dir at the one with the migrations`;
  return `none of its ${plural(visible.length, 'file')} looks like a migration (${visible.slice(0, 3).join(', ')}${visible.length > 3 ? ', ...' : ''})`;
}
