import fs from 'node:fs';
import path from 'node:path';
import type { FormatName } from '../config.js';
import { InputError } from '../errors.js';
import { discoverDbmate, looksLikeDbmate } from './dbmate.js';
import { relativePath } from './files.js';
import { discoverFlyway, looksLikeFlyway } from './flyway.js';
import { discoverGolangMigrate, looksLikeGolangMigrate } from './golang-migrate.js';
import { discoverGoose, looksLikeGoose } from './goose.js';
import { discoverSqitch, SQITCH_PLAN } from './sqitch.js';
import type { DiscoveredMigrations } from './types.js';

const DISCOVER: Record<Exclude<FormatName, 'auto'>, (root: string, dir: string) => DiscoveredMigrations> = {
  'golang-migrate': discoverGolangMigrate,
  dbmate: discoverDbmate,
  goose: discoverGoose,
  flyway: discoverFlyway,
  sqitch: discoverSqitch,
};

/** Finds the migrations of a folder in the given (or detected) format. */
export function discoverMigrations(root: string, dir: string, format: FormatName): DiscoveredMigrations {
  const chosen = format === 'auto' ? detectFormat(root, dir) : format;
  const found = DISCOVER[chosen](root, dir);
  if (found.migrations.length === 0) {
    throw new InputError('input', `no migrations found in ${relativePath(root, dir) || '.'} (format ${found.format})`);
  }
  return found;
}

/** Which layout a folder uses, from its file names and, for one-file formats, their markers. */
export function detectFormat(root: string, dir: string): Exclude<FormatName, 'auto'> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    // The format's own discovery reports a missing folder with the right words.
    return 'golang-migrate';
  }
  if (names.includes(SQITCH_PLAN)) return 'sqitch';
  if (looksLikeGolangMigrate(names)) return 'golang-migrate';
  if (looksLikeFlyway(names)) return 'flyway';
  const samples = names
    .filter((n) => /^\d+_.+\.sql$/.test(n))
    .slice(0, 50)
    .map((name) => {
      try {
        return { name, head: fs.readFileSync(path.join(dir, name), 'utf8').slice(0, 64 * 1024) };
      } catch {
        return { name, head: '' };
      }
    });
  if (looksLikeDbmate(samples)) return 'dbmate';
  if (looksLikeGoose(samples)) return 'goose';
  // Hidden files (.gitkeep) say nothing about the format; the format's discovery says "no migrations".
  if (names.every((n) => n.startsWith('.'))) return 'golang-migrate';
  throw new InputError(
    'input',
    `cannot tell the migration format of ${relativePath(root, dir) || '.'}: no <version>_<name>.up.sql, V<version>__<name>.sql, sqitch.plan, "-- migrate:up" or "-- +goose Up" found; pass --format`,
  );
}
