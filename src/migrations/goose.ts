import { InputError } from '../errors.js';
import { discoverOneFileFormat } from './one-file.js';
import { commentBody, keepLines } from './sections.js';
import type { DiscoveredMigrations, SqlSource } from './types.js';

const FILE = /^(\d+)_(.+)\.sql$/;

/** goose: `<version>_<name>.sql` holding `-- +goose Up` and `-- +goose Down` sections. */
export function looksLikeGoose(samples: ReadonlyArray<{ name: string; head: string }>): boolean {
  return samples.some((s) => FILE.test(s.name) && /^\s*--\s*\+goose\s+up\b/im.test(s.head));
}

/**
 * Sections of a goose file. `StatementBegin`/`StatementEnd` need no handling: the real parser
 * already keeps a function body in one statement; `NO TRANSACTION` applies to both directions.
 */
export function splitGooseFile(file: string, text: string): { up: SqlSource; down: SqlSource | undefined } {
  const lines = text.split('\n');
  const marks: Array<{ line: number; direction: 'up' | 'down' }> = [];
  let noTransaction = false;
  lines.forEach((line, i) => {
    const body = commentBody(line);
    const m = body === undefined ? null : /^\+goose\s+(\w+)(?:\s+(\w+))?/i.exec(body);
    if (!m) return;
    const word = m[1]!.toLowerCase();
    if (word === 'up' || word === 'down') marks.push({ line: i, direction: word });
    else if (word === 'no' && m[2]?.toLowerCase() === 'transaction') noTransaction = true;
  });
  const ups = marks.filter((m) => m.direction === 'up');
  const downs = marks.filter((m) => m.direction === 'down');
  if (ups.length !== 1) throw new InputError('input', `${file} must have exactly one "-- +goose Up" line, found ${ups.length}`, { file });
  if (downs.length > 1) throw new InputError('input', `${file} has more than one "-- +goose Down" line`, { file, line: downs[1]!.line + 1 });
  const section = (start: number): SqlSource => {
    const next = marks.filter((x) => x.line > start).map((x) => x.line);
    const end = next.length > 0 ? Math.min(...next) : lines.length;
    return { file, text: keepLines(text, start + 1, end), ...(noTransaction ? { noTransaction: true } : {}) };
  };
  return { up: section(ups[0]!.line), down: downs[0] ? section(downs[0].line) : undefined };
}

export function discoverGoose(root: string, dir: string): DiscoveredMigrations {
  return discoverOneFileFormat(root, dir, 'goose', splitGooseFile);
}
