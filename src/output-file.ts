import fs from 'node:fs';
import path from 'node:path';
import { InputError } from './errors.js';

/** Why a file could not be written, in a sentence (the errno name stays for searching). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'EISDIR':
      return 'it is a folder (EISDIR)';
    case 'ENOTDIR':
      return 'a part of its path is a file, not a folder (ENOTDIR)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${err.code})`;
    case 'ENOSPC':
      return 'the disk is full (ENOSPC)';
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    default:
      return err?.message ?? String(e);
  }
}

/** Writes a file a user or runner asked for (report, SARIF, summary); a fault names the file: exit 2. */
export function writeOutputFile(file: string, text: string, what: string): void {
  try {
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new InputError('input', `cannot write the ${what} to ${file}: ${reason(e)}`);
  }
}

/** Appends to a file (the runner's step summary); a fault names the file: exit 2. */
export function appendOutputFile(file: string, text: string, what: string): void {
  try {
    fs.appendFileSync(file, text);
  } catch (e) {
    throw new InputError('input', `cannot write the ${what} to ${file}: ${reason(e)}`);
  }
}
