import fs from 'node:fs';
import path from 'node:path';
import { InputError, errorMessage } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Repository-relative path with forward slashes, as reports and annotations need it; a file
 * outside the repository (the CLI takes folders anywhere) keeps its absolute path.
 */
export function relativePath(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  const outside = rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
  return (outside ? abs : rel).split(path.sep).join('/');
}

/**
 * Reads a SQL file as text. Binary junk and invalid UTF-8 are bad input, said with the file's
 * name; a byte-order mark is dropped (it is not a character of the first line).
 */
export function readSqlFile(root: string, abs: string): string {
  const rel = relativePath(root, abs);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(abs);
  } catch (e) {
    throw new InputError('input', `cannot read ${rel}: ${errorMessage(e)}`, { file: rel });
  }
  const nul = buf.indexOf(0);
  if (nul !== -1) {
    throw new InputError('input', `${rel} is not a text file (NUL byte at offset ${nul})`, { file: rel });
  }
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    throw new InputError('input', `${rel} is not valid UTF-8 text`, { file: rel });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Entries of a folder that must exist; a clear error when it does not. */
export function listFolder(root: string, dir: string, what: string): fs.Dirent[] {
  const rel = relativePath(root, dir) || '.';
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new InputError('input', `${what} ${rel} does not exist`, { file: rel });
  }
  if (!stat.isDirectory()) throw new InputError('input', `${what} ${rel} is not a folder`, { file: rel });
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .map(followLink(dir))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    throw new InputError('input', `cannot read ${what} ${rel}: ${errorMessage(e)}`, { file: rel });
  }
}

/**
 * A symlinked entry as what it points at, the way migration tools open their files; a dangling
 * link stays a link (and is skipped with a notice).
 */
function followLink(dir: string): (entry: fs.Dirent) => fs.Dirent {
  return (entry) => {
    if (!entry.isSymbolicLink()) return entry;
    const target = fs.statSync(path.join(dir, entry.name), { throwIfNoEntry: false });
    if (!target) return entry;
    return Object.assign(entry, { isFile: () => target.isFile(), isDirectory: () => target.isDirectory(), isSymbolicLink: () => false });
  };
}

/** Compares dotted numeric versions (`2`, `0010`, `1.2.10`) as numbers, part by part. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[._]/);
  const pb = b.split(/[._]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? BigInt(x) : undefined;
    const ny = /^\d+$/.test(y) ? BigInt(y) : undefined;
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
