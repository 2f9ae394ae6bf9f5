import { discoverOneFileFormat } from './one-file.js';
import { sectionsFromMarks, type SectionMark } from './sections.js';
import type { DiscoveredMigrations, SqlSource } from './types.js';

const FILE = /^(\d+)_(.+)\.sql$/;
const SPLIT = /^\s*----\s*create above\s*\/\s*drop below\s*----\s*$/i;
const DISABLE_TX = /^\s*----\s*tern:\s*disable-tx\s*----\s*$/im;

/** tern: `<n>_<name>.sql`, the up above `---- create above / drop below ----`, the down below it. */
export function looksLikeTern(samples: ReadonlyArray<{ name: string; head: string }>): boolean {
  return samples.some((s) => FILE.test(s.name) && /^\s*----\s*create above\s*\/\s*drop below\s*----\s*$/im.test(s.head));
}

/** A file without the line has no down; `---- tern: disable-tx ----` runs it without a transaction. */
export function splitTernFile(file: string, text: string): { up: SqlSource; down: SqlSource | undefined } {
  const marks: SectionMark[] = [];
  text.split('\n').forEach((line, i) => {
    if (SPLIT.test(line.replace(/\r$/, ''))) marks.push({ line: i, direction: 'down' });
  });
  return sectionsFromMarks(file, text, marks, { tool: 'tern', upMarker: '', upFromTop: true, noTransaction: DISABLE_TX.test(text) });
}

export function discoverTern(root: string, dir: string): DiscoveredMigrations {
  const found = discoverOneFileFormat(root, dir, 'tern', splitTernFile, { pattern: FILE });
  // tern keeps its settings beside the migrations.
  return { ...found, notices: found.notices.filter((n) => !/(^|\/)tern\.conf$/.test(n.file)) };
}
