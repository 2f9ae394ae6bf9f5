import path from 'node:path';
import { InputError } from '../errors.js';
import { compareVersions, listFolder, readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration, SqlSource } from './types.js';

/** `<version>_<name>.sql`, the shape most one-file tools share. */
export const ONE_FILE = /^(\d+)_(.+)\.sql$/;

export type SplitFile = (file: string, text: string) => { up: SqlSource; down: SqlSource | undefined };

export interface OneFileOptions {
  /** File names of the format: group 1 the version, group 2 the name. */
  pattern?: RegExp;
  /** What a skipped name should have looked like, for the notice. */
  expected?: string;
  /** The tool keeps no down migrations: its name. */
  upOnly?: string;
}

/** The whole file is the up: tools that keep no down (sqlx simple, Supabase, Atlas). */
export const wholeFileIsUp: SplitFile = (file, text) => ({ up: { file, text }, down: undefined });

/**
 * Formats that keep a migration in one file (dbmate, goose, sql-migrate, tern, node-pg-migrate,
 * and the up-only tools): the folder is read the same way, only the sections are told apart differently.
 */
export function discoverOneFileFormat(root: string, dir: string, format: string, split: SplitFile, options: OneFileOptions = {}): DiscoveredMigrations {
  const pattern = options.pattern ?? ONE_FILE;
  const notices: DiscoveryNotice[] = [];
  const migrations: Migration[] = [];
  const seen = new Map<string, string>();
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    if (entry.name.startsWith('.') || !entry.isFile()) continue;
    const abs = path.join(dir, entry.name);
    const rel = relativePath(root, abs);
    const m = pattern.exec(entry.name);
    if (!m) {
      const why = entry.name.endsWith('.go')
        ? 'Go migrations cannot be run from SQL; use --up-command'
        : `does not match ${options.expected ?? '<version>_<name>.sql'}`;
      notices.push({ file: rel, message: `${rel}: ${why}; skipped` });
      continue;
    }
    const version = m[1]!;
    const name = m[2] ?? version;
    // Versions compare as numbers: 1 and 0001 are the same version.
    const key = /^\d+$/.test(version) ? BigInt(version).toString() : version;
    const other = seen.get(key);
    if (other) throw new InputError('input', `duplicate migration version ${version}: ${other} and ${rel}`, { file: rel });
    seen.set(key, rel);
    const { up, down } = split(rel, readSqlFile(root, abs));
    migrations.push({ version, name, up, down, underTest: true, ...(options.upOnly ? { upOnly: options.upOnly } : {}) });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { format, migrations, notices };
}
