import path from 'node:path';
import { InputError } from '../errors.js';
import { compareVersions, listFolder, readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration } from './types.js';

// `001.do.sql`, `001.undo.sql`, and with a description `001.do.create-users.sql`.
const FILE = /^(\d+)\.(do|undo)(?:\.(.+))?\.sql$/;

export function looksLikePostgrator(names: readonly string[]): boolean {
  return names.some((n) => FILE.test(n) && /\.do[.]/.test(n));
}

/** postgrator: `<n>.do[.<name>].sql` and its `<n>.undo[.<name>].sql`, ordered by number. */
export function discoverPostgrator(root: string, dir: string): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  const byVersion = new Map<string, { version: string; name: string | undefined; do?: string; undo?: string }>();
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    if (entry.name.startsWith('.') || !entry.isFile()) continue;
    const abs = path.join(dir, entry.name);
    const rel = relativePath(root, abs);
    const m = FILE.exec(entry.name);
    if (!m) {
      const why = /\.(do|undo)(\.[^.]+)?\.(c|m)?js$/.test(entry.name) ? 'JavaScript migrations cannot be run from SQL; use --up-command' : 'does not match <n>.do.sql or <n>.undo.sql';
      notices.push({ file: rel, message: `${rel}: ${why}; skipped` });
      continue;
    }
    const [, version, direction, name] = m as unknown as [string, string, 'do' | 'undo', string | undefined];
    const key = BigInt(version).toString();
    const pair = byVersion.get(key) ?? { version, name };
    if (pair[direction]) {
      throw new InputError('input', `duplicate migration version ${version}: ${relativePath(root, pair[direction]!)} and ${rel} are both ${direction} migrations`, { file: rel });
    }
    pair[direction] = abs;
    pair.name ??= name;
    byVersion.set(key, pair);
  }
  const migrations: Migration[] = [];
  for (const p of byVersion.values()) {
    if (!p.do) {
      const rel = relativePath(root, p.undo!);
      throw new InputError('input', `${rel} is an undo migration without a do migration (expected ${p.version}.do.sql)`, { file: rel });
    }
    const source = (abs: string) => ({ file: relativePath(root, abs), text: readSqlFile(root, abs) });
    migrations.push({ version: p.version, name: p.name ?? p.version, up: source(p.do), down: p.undo ? source(p.undo) : undefined, underTest: true });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { format: 'postgrator', migrations, notices };
}
