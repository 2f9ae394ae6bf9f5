import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { compareVersions, listFolder, readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration } from './types.js';

const VERSIONED = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/;
const REPEATABLE = /^R__(.+)\.sql$/;

export function looksLikeFlyway(names: readonly string[]): boolean {
  return names.some((n) => /^V\d+(?:[._]\d+)*__.+\.sql$/.test(n) || REPEATABLE.test(n));
}

/** Flyway scans its locations recursively; so do we, in a stable order. */
function walkFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    if (entry.name.startsWith('.')) continue;
    const abs = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walkFiles(root, abs));
    else if (entry.isFile() || fs.statSync(abs).isFile()) out.push(abs);
  }
  return out;
}

/**
 * Flyway: `V<version>__<description>.sql`, undo `U<version>__...`, repeatable `R__...` applied
 * after every versioned one. Versions compare part by part as numbers (1.2.10 after 1.2.9);
 * `_` and `.` separate parts alike, and the version is reported with dots, as Flyway shows it.
 */
export function discoverFlyway(root: string, dir: string): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  const versioned = new Map<string, { version: string; name: string; up?: string; undo?: string }>();
  const repeatables: Migration[] = [];
  for (const abs of walkFiles(root, dir)) {
    const rel = relativePath(root, abs);
    const base = path.basename(abs);
    const v = VERSIONED.exec(base);
    if (v) {
      const [, prefix, rawVersion, desc] = v as unknown as [string, 'V' | 'U', string, string];
      const version = rawVersion.replace(/_/g, '.');
      // 1.01 and 1.1 are the same version to Flyway.
      const key = version
        .split('.')
        .map((p) => BigInt(p).toString())
        .join('.');
      const entry = versioned.get(key) ?? { version, name: desc.replace(/_/g, ' ') };
      const slot = prefix === 'V' ? 'up' : 'undo';
      if (entry[slot]) {
        throw new InputError('input', `duplicate migration version ${version}: ${relativePath(root, entry[slot]!)} and ${rel}`, { file: rel });
      }
      entry[slot] = abs;
      versioned.set(key, entry);
      continue;
    }
    const r = REPEATABLE.exec(base);
    if (r) {
      const text = readSqlFile(root, abs);
      repeatables.push({ version: `R__${r[1]}`, name: r[1]!.replace(/_/g, ' '), up: { file: rel, text }, down: undefined, repeatable: true, underTest: true });
      continue;
    }
    notices.push({ file: rel, message: `${rel} does not match V<version>__<description>.sql, U<version>__... or R__...; skipped` });
  }
  const migrations: Migration[] = [];
  for (const e of versioned.values()) {
    if (!e.up) {
      const rel = relativePath(root, e.undo!);
      throw new InputError('input', `${rel} is an undo migration without a versioned migration V${e.version}__...`, { file: rel });
    }
    const source = (abs: string) => ({ file: relativePath(root, abs), text: readSqlFile(root, abs) });
    migrations.push({ version: e.version, name: e.name, up: source(e.up), down: e.undo ? source(e.undo) : undefined, underTest: true });
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  // Repeatables run after all versioned migrations, ordered by description.
  repeatables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { format: 'flyway', migrations: [...migrations, ...repeatables], notices };
}
