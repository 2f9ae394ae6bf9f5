import path from 'node:path';
import { InputError } from '../errors.js';
import { compareVersions, listFolder, readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration, SqlSource } from './types.js';

const PATTERN = /^(\d+)_(.+)\.(up|down)\.sql$/;

/** True when the folder looks like golang-migrate's `<version>_<name>.up.sql` layout. */
export function looksLikeGolangMigrate(names: readonly string[]): boolean {
  return names.some((n) => PATTERN.test(n));
}

/** `<version>_<name>.up.sql` / `.down.sql`, ordered by numeric version. */
export function discoverGolangMigrate(root: string, dir: string): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  type Pair = { version: string; name: string; up?: string; down?: string };
  const byVersion = new Map<string, Pair>();
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    const abs = path.join(dir, entry.name);
    const rel = relativePath(root, abs);
    if (entry.name.startsWith('.')) continue;
    if (!entry.isFile()) {
      if (!entry.isDirectory()) notices.push({ file: rel, message: `${rel} is not a regular file; skipped` });
      continue;
    }
    const m = PATTERN.exec(entry.name);
    if (!m) {
      notices.push({ file: rel, message: `${rel} does not match <version>_<name>.up.sql or .down.sql; skipped` });
      continue;
    }
    const [, version, name, direction] = m as unknown as [string, string, string, 'up' | 'down'];
    // Versions compare as numbers: 1 and 0001 are the same version.
    const key = BigInt(version).toString();
    const pair = byVersion.get(key) ?? { version, name };
    const existing = pair[direction];
    if (existing !== undefined) {
      throw new InputError(
        'input',
        `duplicate migration version ${version}: ${relativePath(root, existing)} and ${rel} are both ${direction} migrations`,
        { file: rel },
      );
    }
    if (pair.up === undefined && pair.down === undefined) byVersion.set(key, pair);
    else if (pair.name !== name || pair.version !== version) {
      const other = relativePath(root, (pair.up ?? pair.down)!);
      throw new InputError('input', `duplicate migration version ${version}: ${other} and ${rel} have the same version but different names`, {
        file: rel,
      });
    }
    pair[direction] = abs;
  }
  const migrations: Migration[] = [];
  for (const pair of byVersion.values()) {
    if (pair.up === undefined) {
      const rel = relativePath(root, pair.down!);
      throw new InputError('input', `${rel} is a down migration without an up migration (expected ${pair.version}_${pair.name}.up.sql)`, {
        file: rel,
      });
    }
    const source = (abs: string): SqlSource => ({ file: relativePath(root, abs), text: readSqlFile(root, abs) });
    migrations.push({
      version: pair.version,
      name: pair.name,
      up: source(pair.up),
      down: pair.down === undefined ? undefined : source(pair.down),
      underTest: true,
    });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { format: 'golang-migrate', migrations, notices };
}
