import path from 'node:path';
import { InputError } from '../errors.js';
import { compareVersions, listFolder, readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration, SqlSource } from './types.js';

const FILE = /^(\d+)_(.+)\.sql$/;

/**
 * Formats that keep both directions of a migration in one `<version>_<name>.sql` file (dbmate,
 * goose): the folder is read the same way, only the sections are told apart differently.
 */
export function discoverOneFileFormat(
  root: string,
  dir: string,
  format: string,
  split: (file: string, text: string) => { up: SqlSource; down: SqlSource | undefined },
): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  const migrations: Migration[] = [];
  const seen = new Map<string, string>();
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    if (entry.name.startsWith('.') || !entry.isFile()) continue;
    const abs = path.join(dir, entry.name);
    const rel = relativePath(root, abs);
    const m = FILE.exec(entry.name);
    if (!m) {
      const why = entry.name.endsWith('.go') ? 'Go migrations cannot be run from SQL; use --up-command' : 'does not match <version>_<name>.sql';
      notices.push({ file: rel, message: `${rel}: ${why}; skipped` });
      continue;
    }
    const [, version, name] = m as unknown as [string, string, string];
    // Versions compare as numbers: 1 and 0001 are the same version.
    const key = BigInt(version).toString();
    const other = seen.get(key);
    if (other) throw new InputError('input', `duplicate migration version ${version}: ${other} and ${rel}`, { file: rel });
    seen.set(key, rel);
    const { up, down } = split(rel, readSqlFile(root, abs));
    migrations.push({ version, name, up, down, underTest: true });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { format, migrations, notices };
}

