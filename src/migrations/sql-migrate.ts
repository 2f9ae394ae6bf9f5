import { discoverOneFileFormat } from './one-file.js';
import { commentBody, sectionsFromMarks, type SectionMark } from './sections.js';
import type { DiscoveredMigrations, SqlSource } from './types.js';

// `sql-migrate new` writes `20060102150405-name.sql`; hand-numbered `1_init.sql` is common too.
const FILE = /^(\d+)[-_](.+)\.sql$/;
const MARK = /^\+migrate\s+(up|down)\b(.*)$/i;

/** sql-migrate: `-- +migrate Up` / `-- +migrate Down` sections, `notransaction` after either. */
export function looksLikeSqlMigrate(samples: ReadonlyArray<{ name: string; head: string }>): boolean {
  return samples.some((s) => FILE.test(s.name) && /^\s*--\s*\+migrate\s+up\b/im.test(s.head));
}

/** `StatementBegin`/`StatementEnd` need no handling: the real parser keeps a function body in one statement. */
export function splitSqlMigrateFile(file: string, text: string): { up: SqlSource; down: SqlSource | undefined } {
  const marks: SectionMark[] = [];
  text.split('\n').forEach((line, i) => {
    const body = commentBody(line);
    const m = body === undefined ? null : MARK.exec(body);
    if (m) marks.push({ line: i, direction: m[1]!.toLowerCase() as 'up' | 'down', noTransaction: /\bnotransaction\b/i.test(m[2] ?? '') });
  });
  return sectionsFromMarks(file, text, marks, { tool: 'sql-migrate', upMarker: '-- +migrate Up' });
}

export function discoverSqlMigrate(root: string, dir: string): DiscoveredMigrations {
  return discoverOneFileFormat(root, dir, 'sql-migrate', splitSqlMigrateFile, { pattern: FILE, expected: '<version>-<name>.sql' });
}
