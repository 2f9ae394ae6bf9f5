import { discoverOneFileFormat } from './one-file.js';
import { commentBody, sectionsFromMarks, type SectionMark } from './sections.js';
import type { DiscoveredMigrations, SqlSource } from './types.js';

const FILE = /^(\d+)_(.+)\.sql$/;
const MARK = /^(up|down)\s+migration\b/i;

/** node-pg-migrate SQL files: `<timestamp>_<name>.sql` with `-- Up Migration` and `-- Down Migration`. */
export function looksLikeNodePgMigrate(samples: ReadonlyArray<{ name: string; head: string }>): boolean {
  return samples.some((s) => FILE.test(s.name) && /^\s*--\s*up\s+migration\b/im.test(s.head));
}

/** Text above `-- Up Migration` is not part of the up, as node-pg-migrate reads it; without the marker the file starts the up. */
export function splitNodePgMigrateFile(file: string, text: string): { up: SqlSource; down: SqlSource | undefined } {
  const marks: SectionMark[] = [];
  text.split('\n').forEach((line, i) => {
    const body = commentBody(line);
    const m = body === undefined ? null : MARK.exec(body);
    if (m) marks.push({ line: i, direction: m[1]!.toLowerCase() as 'up' | 'down' });
  });
  return sectionsFromMarks(file, text, marks, { tool: 'node-pg-migrate', upMarker: '-- Up Migration', upFromTop: true });
}

export function discoverNodePgMigrateSql(root: string, dir: string): DiscoveredMigrations {
  return discoverOneFileFormat(root, dir, 'node-pg-migrate', splitNodePgMigrateFile);
}
