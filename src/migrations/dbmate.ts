import { InputError } from '../errors.js';
import { discoverOneFileFormat } from './one-file.js';
import { commentBody, keepLines } from './sections.js';
import type { DiscoveredMigrations, SqlSource } from './types.js';

const FILE = /^(\d+)_(.+)\.sql$/;

/** dbmate: `<version>_<name>.sql` holding `-- migrate:up` and `-- migrate:down` sections. */
export function looksLikeDbmate(samples: ReadonlyArray<{ name: string; head: string }>): boolean {
  return samples.some((s) => FILE.test(s.name) && /^\s*--\s*migrate:up\b/m.test(s.head));
}

interface Marker {
  line: number;
  direction: 'up' | 'down';
  noTransaction: boolean;
}

export function splitDbmateFile(file: string, text: string): { up: SqlSource; down: SqlSource | undefined } {
  const lines = text.split('\n');
  const markers: Marker[] = [];
  lines.forEach((line, i) => {
    const body = commentBody(line);
    const m = body === undefined ? null : /^migrate:(up|down)\b(.*)$/.exec(body);
    if (m) markers.push({ line: i, direction: m[1] as 'up' | 'down', noTransaction: /\btransaction:false\b/.test(m[2] ?? '') });
  });
  const ups = markers.filter((m) => m.direction === 'up');
  const downs = markers.filter((m) => m.direction === 'down');
  if (ups.length !== 1) {
    throw new InputError('input', `${file} must have exactly one "-- migrate:up" line, found ${ups.length}`, { file, line: ups[1]?.line ? ups[1].line + 1 : 1 });
  }
  if (downs.length > 1) throw new InputError('input', `${file} has more than one "-- migrate:down" line`, { file, line: downs[1]!.line + 1 });
  const section = (m: Marker): SqlSource => {
    const next = markers.filter((x) => x.line > m.line).map((x) => x.line);
    const end = next.length > 0 ? Math.min(...next) : lines.length;
    return { file, text: keepLines(text, m.line + 1, end), ...(m.noTransaction ? { noTransaction: true } : {}) };
  };
  return { up: section(ups[0]!), down: downs[0] ? section(downs[0]) : undefined };
}

export function discoverDbmate(root: string, dir: string): DiscoveredMigrations {
  return discoverOneFileFormat(root, dir, 'dbmate', splitDbmateFile);
}
