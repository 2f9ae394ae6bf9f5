import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { discoverMigrations } from '../src/migrations/discover.js';

const dirs: string[] = [];
function repo(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-discover-'));
  dirs.push(root);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  fs.mkdirSync(path.join(root, 'db'), { recursive: true });
  return root;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function discoveryError(root: string): InputError {
  try {
    discoverMigrations(root, path.join(root, 'db'), 'auto');
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('golang-migrate discovery', () => {
  it('orders by numeric version and pairs up and down files', () => {
    const root = repo({
      'db/10_ten.up.sql': 'SELECT 10;',
      'db/10_ten.down.sql': 'SELECT -10;',
      'db/2_two.up.sql': 'SELECT 2;',
      'db/0001_one.up.sql': 'SELECT 1;',
      'db/0001_one.down.sql': 'SELECT -1;',
      'db/README.md': '# notes',
      'db/.gitkeep': '',
    });
    const found = discoverMigrations(root, path.join(root, 'db'), 'auto');
    expect(found.format).toBe('golang-migrate');
    expect(found.migrations.map((m) => [m.version, m.name, m.up.file, m.down?.file])).toEqual([
      ['0001', 'one', 'db/0001_one.up.sql', 'db/0001_one.down.sql'],
      ['2', 'two', 'db/2_two.up.sql', undefined],
      ['10', 'ten', 'db/10_ten.up.sql', 'db/10_ten.down.sql'],
    ]);
    expect(found.notices).toEqual([{ file: 'db/README.md', message: 'db/README.md does not match <version>_<name>.up.sql or .down.sql; skipped' }]);
  });

  it('says a duplicate version is a duplicate, naming both files', () => {
    const e = discoveryError(repo({ 'db/1_a.up.sql': 'SELECT 1;', 'db/001_b.up.sql': 'SELECT 2;' }));
    expect(e.message).toBe('duplicate migration version 1: db/001_b.up.sql and db/1_a.up.sql are both up migrations');
  });

  it('refuses a down without an up', () => {
    const e = discoveryError(repo({ 'db/1_a.up.sql': 'SELECT 1;', 'db/2_b.down.sql': 'SELECT 2;' }));
    expect(e.message).toBe('db/2_b.down.sql is a down migration without an up migration (expected 2_b.up.sql)');
    expect(e.file).toBe('db/2_b.down.sql');
  });

  it('refuses binary junk and invalid UTF-8 with the file name', () => {
    expect(discoveryError(repo({ 'db/1_a.up.sql': Buffer.from([0x53, 0x00, 0xff, 0x10]) })).message).toBe(
      'db/1_a.up.sql is not a text file (NUL byte at offset 1)',
    );
    expect(discoveryError(repo({ 'db/1_a.up.sql': Buffer.from([0x53, 0xc3, 0x28]) })).message).toBe('db/1_a.up.sql is not valid UTF-8 text');
  });

  it('drops a byte-order mark and keeps names with spaces and unicode', () => {
    const root = repo({ 'db/1_añadir columna.up.sql': '\uFEFFSELECT 1;' });
    const m = discoverMigrations(root, path.join(root, 'db'), 'golang-migrate').migrations[0]!;
    expect(m.name).toBe('añadir columna');
    expect(m.up.text).toBe('SELECT 1;');
  });

  it('says when the folder is missing or empty', () => {
    const root = repo({});
    expect(() => discoverMigrations(root, path.join(root, 'nope'), 'auto')).toThrow('migrations folder nope does not exist');
    expect(() => discoverMigrations(root, path.join(root, 'db'), 'auto')).toThrow('no migrations found in db: it is empty');
  });
});
