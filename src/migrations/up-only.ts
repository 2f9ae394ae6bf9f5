import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readSqlFile, relativePath } from './files.js';
import { discoverOneFileFormat, type SplitFile } from './one-file.js';
import type { DiscoveredMigrations, DiscoveryNotice } from './types.js';

/** A first-lines directive that asks for no transaction, per tool. */
function upOnlySplit(noTransaction: RegExp): SplitFile {
  return (file, text) => {
    const head = text.split('\n').slice(0, 10).join('\n');
    return { up: { file, text, ...(noTransaction.test(head) ? { noTransaction: true } : {}) }, down: undefined };
  };
}

/** sqlx simple migrations: `<version>_<name>.sql`, no down; `-- no-transaction` on the first line. */
export function discoverSqlx(root: string, dir: string): DiscoveredMigrations {
  return discoverOneFileFormat(root, dir, 'sqlx', upOnlySplit(/^\s*--\s*no-transaction\s*$/m), { upOnly: 'sqlx' });
}

/** Supabase: `supabase/migrations/<timestamp>_<name>.sql`, no down. */
export function discoverSupabase(root: string, dir: string): DiscoveredMigrations {
  return discoverOneFileFormat(root, dir, 'supabase', upOnlySplit(/(?!)/), { upOnly: 'Supabase' });
}

export const ATLAS_SUM = 'atlas.sum';
const ATLAS_FILE = /^(\d+)(?:_(.+))?\.sql$/;

/**
 * Atlas's integrity sum of a folder: a running SHA-256 over each file's name and bytes, in file
 * name order, gives each file its `h1:` line; the first line sums the names and those hashes.
 */
export function atlasSum(files: ReadonlyArray<{ name: string; bytes: Buffer }>): { total: string; files: Array<{ name: string; hash: string }> } {
  const running = createHash('sha256');
  const out: Array<{ name: string; hash: string }> = [];
  for (const f of files) {
    running.update(f.name);
    running.update(f.bytes);
    out.push({ name: f.name, hash: running.copy().digest('base64') });
  }
  const total = createHash('sha256');
  for (const f of out) {
    total.update(f.name);
    total.update(f.hash);
  }
  return { total: total.digest('base64'), files: out };
}

/** What atlas.sum says against what the files are: Atlas itself refuses to run a folder that differs. */
export function checkAtlasSum(root: string, dir: string): DiscoveryNotice[] {
  const sumAbs = path.join(dir, ATLAS_SUM);
  const sumRel = relativePath(root, sumAbs);
  const warn = (message: string, line?: number): DiscoveryNotice => ({ file: sumRel, message, severity: 'warning', rule: 'atlas-sum-mismatch', ...(line ? { line } : {}) });
  if (!fs.existsSync(sumAbs)) return [warn(`${sumRel} is missing: Atlas refuses to run a migrations folder without its sum file (atlas migrate hash writes it)`)];
  const lines = readSqlFile(root, sumAbs).split(/\r?\n/);
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.sql') && fs.statSync(path.join(dir, n)).isFile())
    .sort();
  const actual = atlasSum(names.map((name) => ({ name, bytes: fs.readFileSync(path.join(dir, name)) })));
  const recorded = new Map<string, { hash: string; line: number }>();
  lines.slice(1).forEach((l, i) => {
    const m = /^(.+) h1:(\S+)$/.exec(l);
    if (m) recorded.set(m[1]!, { hash: m[2]!, line: i + 2 });
  });
  const out: DiscoveryNotice[] = [];
  for (const f of actual.files) {
    const r = recorded.get(f.name);
    if (!r) out.push(warn(`${f.name} is not in ${sumRel}: Atlas refuses to run until atlas migrate hash records it`));
  }
  for (const [name, r] of recorded) {
    if (!names.includes(name)) out.push(warn(`${sumRel} lists ${name}, which is not in the folder`, r.line));
  }
  if (out.length === 0 && lines[0]?.trim() !== `h1:${actual.total}`) {
    // The running hash makes every later line differ too: name the first file that changed.
    const first = actual.files.find((f) => recorded.get(f.name)?.hash !== f.hash);
    out.push(
      warn(
        first
          ? `${first.name} differs from what ${sumRel} recorded (line ${recorded.get(first.name)!.line}): Atlas refuses to run an edited folder until atlas migrate hash runs again`
          : `the first line of ${sumRel} is not the sum of its file lines: Atlas refuses to run until atlas migrate hash runs again`,
        first ? recorded.get(first.name)!.line : 1,
      ),
    );
  }
  return out;
}

/** Atlas: `<version>[_<name>].sql` with atlas.sum, no down; `-- atlas:txmode none` runs a file without a transaction. */
export function discoverAtlas(root: string, dir: string): DiscoveredMigrations {
  const found = discoverOneFileFormat(root, dir, 'atlas', upOnlySplit(/^\s*--\s*atlas:txmode\s+none\b/m), {
    pattern: ATLAS_FILE,
    expected: '<version>[_<name>].sql',
    upOnly: 'Atlas',
  });
  const notices = found.notices.filter((n) => !n.file.endsWith(`/${ATLAS_SUM}`) && n.file !== ATLAS_SUM);
  return { ...found, notices: [...notices, ...checkAtlasSum(root, dir)] };
}
