import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { InputError, errorMessage } from '../errors.js';
import { compareVersions, listFolder, readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration, SqlSource } from './types.js';

/** `<version>[_<name>]`: digits, and dashes for Diesel's `2024-01-31-120000`. */
const FOLDER = /^(\d[\d-]*)(?:_(.+))?$/;

export type DirectoryFormat = 'diesel' | 'hasura' | 'sourcegraph' | 'prisma';

/** The up file of a migration folder: Prisma calls it migration.sql. */
function upFileOf(format: DirectoryFormat): string {
  return format === 'prisma' ? 'migration.sql' : 'up.sql';
}

/** Folder names that are migrations of a directory layout, with the files each holds. */
export function migrationFolders(dir: string): Array<{ name: string; files: string[] }> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && FOLDER.test(e.name))
    .slice(0, 200)
    .map((e) => {
      try {
        return { name: e.name, files: fs.readdirSync(path.join(dir, e.name)) };
      } catch {
        return { name: e.name, files: [] };
      }
    });
}

function readMetadata(root: string, abs: string, kind: 'toml' | 'yaml'): Record<string, unknown> {
  const rel = relativePath(root, abs);
  const text = readSqlFile(root, abs);
  try {
    const value = kind === 'toml' ? parseToml(text) : parseYaml(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch (e) {
    throw new InputError('input', `${rel} cannot be read as ${kind.toUpperCase()}: ${errorMessage(e).split('\n')[0]}`, { file: rel });
  }
}

/**
 * One folder per migration: `<version>_<name>/up.sql` and `down.sql` (Diesel, Hasura,
 * Sourcegraph), `<timestamp>_<name>/migration.sql` (Prisma, no down). Diesel's metadata.toml
 * `run_in_transaction = false` and Sourcegraph's metadata.yaml `createIndexConcurrently: true`
 * run the migration without a wrapping transaction; Sourcegraph's `name` names it.
 */
export function discoverDirectoryFormat(root: string, dir: string, format: DirectoryFormat): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  const migrations: Migration[] = [];
  const seen = new Map<string, string>();
  const upName = upFileOf(format);
  const lock = path.join(dir, 'migration_lock.toml');
  if (format === 'prisma' && fs.existsSync(lock)) {
    const provider = readMetadata(root, lock, 'toml').provider;
    if (typeof provider === 'string' && !['postgresql', 'postgres'].includes(provider)) {
      const rel = relativePath(root, lock);
      throw new InputError('input', `${rel} says these migrations are for ${provider}, not PostgreSQL`, { file: rel });
    }
  }
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    if (entry.name.startsWith('.')) continue;
    const abs = path.join(dir, entry.name);
    const rel = relativePath(root, abs);
    if (!entry.isDirectory()) {
      // The tool's own files beside the migrations.
      if (!['migration_lock.toml', 'README.md', '.gitkeep'].includes(entry.name)) notices.push({ file: rel, message: `${rel} is not a migration folder (<version>_<name>/${upName}); skipped` });
      continue;
    }
    const m = FOLDER.exec(entry.name);
    const upAbs = path.join(abs, upName);
    if (!m || !fs.existsSync(upAbs)) {
      const why = m ? `has no ${upName}` : `is not named <version>_<name>`;
      notices.push({ file: rel, message: `${rel} ${why}; skipped` });
      continue;
    }
    const version = m[1]!;
    let name = m[2] ?? version;
    const key = /^\d+$/.test(version) ? BigInt(version).toString() : version;
    const other = seen.get(key);
    if (other) throw new InputError('input', `duplicate migration version ${version}: ${other} and ${rel}`, { file: rel });
    seen.set(key, rel);
    let noTransaction = false;
    let concurrentUp = false;
    const toml = path.join(abs, 'metadata.toml');
    const yamlFile = path.join(abs, 'metadata.yaml');
    if (fs.existsSync(toml)) noTransaction = readMetadata(root, toml, 'toml').run_in_transaction === false;
    if (fs.existsSync(yamlFile)) {
      const meta = readMetadata(root, yamlFile, 'yaml');
      if (meta.createIndexConcurrently === true) concurrentUp = true;
      if (typeof meta.name === 'string' && meta.name.trim() !== '') name = meta.name.trim();
    }
    const source = (file: string, noTx: boolean): SqlSource => ({
      file: relativePath(root, file),
      text: readSqlFile(root, file),
      ...(noTx ? { noTransaction: true } : {}),
    });
    const downAbs = path.join(abs, 'down.sql');
    migrations.push({
      version,
      name,
      up: source(upAbs, noTransaction || concurrentUp),
      down: fs.existsSync(downAbs) ? source(downAbs, noTransaction) : undefined,
      underTest: true,
      // Prisma keeps no down; a down.sql beside migration.sql (prisma migrate diff writes one) is used.
      ...(format === 'prisma' ? { upOnly: 'Prisma' } : {}),
    });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { format, migrations, notices };
}
