import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { InputError, errorMessage } from '../errors.js';
import type { Migration, SectionReader } from './types.js';

/** What the pull request view adds to a run: which migrations are new, which were edited. */
export interface BaselineResult {
  migrations: Migration[];
  /** Versions whose files exist unchanged at the base. */
  baseline: Set<string>;
  /** Versions that exist at the base with different contents. */
  edited: Set<string>;
  /** New versions that sort before the newest baseline version. */
  outOfOrder: Array<{ version: string; newest: string }>;
}

function git(cwd: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

function gitTopLevel(root: string): string {
  try {
    return git(root, ['rev-parse', '--show-toplevel']).trim();
  } catch (e) {
    throw new InputError('input', `--base-ref needs a git repository, but ${root} is not one: ${errorMessage(e).split('\n')[0]}`);
  }
}

function resolveRef(top: string, ref: string): string {
  try {
    return git(top, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch {
    let shallow = false;
    try {
      shallow = git(top, ['rev-parse', '--is-shallow-repository']).trim() === 'true';
    } catch {
      // an old git without the flag: say what we know
    }
    const why = shallow
      ? 'the checkout is shallow and does not hold it; check out with full history (actions/checkout with fetch-depth: 0)'
      : 'no such commit, branch or tag in this repository (fetch it first, or check out with fetch-depth: 0)';
    throw new InputError('input', `base ref ${ref} cannot be read: ${why}`);
  }
}

/** Blob ids of the files under `dirRel` at `commit`, by path relative to the top level. */
function blobsAt(top: string, commit: string, dirRel: string): Map<string, string> {
  const out = new Map<string, string>();
  const listing = git(top, ['ls-tree', '-r', '-z', commit, '--', dirRel === '' ? '.' : dirRel]);
  for (const entry of listing.split('\0')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

/** Blob ids the working files would have, through git's own filters (line endings and all). */
function blobsNow(top: string, files: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (files.length === 0) return out;
  const ids = git(top, ['hash-object', '--stdin-paths'], `${files.join('\n')}\n`).trim().split('\n');
  files.forEach((f, i) => out.set(f, ids[i]!));
  return out;
}

/**
 * Marks the migrations whose files exist unchanged at `ref` as the baseline (not under test),
 * and finds the ones a pull request view makes suspicious: edited after they were merged, or
 * new but ordered before migrations that already exist.
 */
/** A migration's own text, wherever in its file it sits: blank lines and blanked-out neighbours do not count. */
function sectionText(up: string, down: string | undefined): string {
  const solid = (t: string) =>
    t
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l.trim() !== '')
      .join('\n');
  return `${solid(up)}\n--\n${down === undefined ? '' : solid(down)}`;
}

export function applyBaseline(
  root: string,
  dir: string,
  migrations: Migration[],
  ref: string,
  format: { sections?: SectionReader; anyOrder?: boolean } = {},
): BaselineResult {
  const top = gitTopLevel(root);
  const commit = resolveRef(top, ref);
  const realTop = fs.realpathSync(top);
  const toTop = (repoRelative: string) => path.relative(realTop, fs.realpathSync(path.join(root, repoRelative))).split(path.sep).join('/');
  const dirRel = path.relative(realTop, fs.realpathSync(dir)).split(path.sep).join('/');
  const atBase = blobsAt(top, commit, dirRel);
  const filesOf = (m: Migration) => [m.up.file, m.down?.file, m.verify?.file].filter((f): f is string => f !== undefined);
  const unique = [...new Set(migrations.flatMap(filesOf))];
  const topPaths = new Map(unique.map((f) => [f, toTop(f)]));
  const now = blobsNow(top, [...topPaths.values()]);

  const baseline = new Set<string>();
  const edited = new Set<string>();
  const uses = new Map<string, number>();
  for (const m of migrations) uses.set(m.up.file, (uses.get(m.up.file) ?? 0) + 1);
  const baseSections = new Map<string, ReturnType<SectionReader>>();
  for (const m of migrations) {
    const upBlob = atBase.get(topPaths.get(m.up.file)!);
    if (format.sections && upBlob !== undefined && (uses.get(m.up.file) ?? 0) > 1) {
      // Adding a changeset to a file does not make the file's other changesets new or edited.
      let sections = baseSections.get(m.up.file);
      if (!sections) {
        sections = format.sections(m.up.file, git(top, ['cat-file', 'blob', upBlob]));
        baseSections.set(m.up.file, sections);
      }
      const before = sections.get(m.version);
      if (before === undefined) continue;
      if (sectionText(before.up, before.down) === sectionText(m.up.text, m.down?.text)) baseline.add(m.version);
      else edited.add(m.version);
      continue;
    }
    const files = filesOf(m).map((f) => topPaths.get(f)!);
    const upAtBase = atBase.get(topPaths.get(m.up.file)!);
    if (upAtBase === undefined) continue;
    const same = files.every((f) => atBase.get(f) === now.get(f));
    if (same) baseline.add(m.version);
    else edited.add(m.version);
  }
  // Migrations come in the order they apply (versions, or a sqitch plan): a new one placed before
  // the last one that already exists would run out of order wherever that one has run.
  const exists = (m: Migration) => !m.repeatable && (baseline.has(m.version) || edited.has(m.version));
  let newestIndex = -1;
  migrations.forEach((m, i) => {
    if (exists(m)) newestIndex = i;
  });
  const outOfOrder: BaselineResult['outOfOrder'] = [];
  migrations.forEach((m, i) => {
    if (format.anyOrder) return;
    if (i < newestIndex && !exists(m) && !m.repeatable) outOfOrder.push({ version: m.version, newest: migrations[newestIndex]!.version });
  });
  return {
    migrations: migrations.map((m) => ({ ...m, underTest: !baseline.has(m.version) })),
    baseline,
    edited,
    outOfOrder,
  };
}
