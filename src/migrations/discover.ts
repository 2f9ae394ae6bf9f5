import fs from 'node:fs';
import type { FormatName } from '../config.js';
import { InputError } from '../errors.js';
import { relativePath } from './files.js';
import { discoverGolangMigrate, looksLikeGolangMigrate } from './golang-migrate.js';
import type { DiscoveredMigrations } from './types.js';

/** Finds the migrations of a folder in the given (or detected) format. */
export function discoverMigrations(root: string, dir: string, format: FormatName): DiscoveredMigrations {
  const chosen = format === 'auto' ? detectFormat(root, dir) : format;
  let found: DiscoveredMigrations;
  switch (chosen) {
    case 'golang-migrate':
      found = discoverGolangMigrate(root, dir);
      break;
    default:
      throw new InputError('usage', `format ${chosen} is not supported yet; use golang-migrate`);
  }
  if (found.migrations.length === 0) {
    throw new InputError('input', `no migrations found in ${relativePath(root, dir) || '.'} (format ${found.format})`);
  }
  return found;
}

function detectFormat(root: string, dir: string): FormatName {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    // The format's own discovery reports a missing folder with the right words.
    return 'golang-migrate';
  }
  if (looksLikeGolangMigrate(names)) return 'golang-migrate';
  if (names.length === 0) return 'golang-migrate';
  throw new InputError('input', `cannot tell the migration format of ${relativePath(root, dir) || '.'}; pass --format`);
}
