import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { relativePath } from '../src/migrations/files.js';
import { makeRepo } from './support/fixtures.js';

const url = 'postgres://postgres@127.0.0.1:5432/postgres';

describe('where a run may read from', () => {
  const repo = makeRepo({ 'db/0001_a.up.sql': 'SELECT 1;\n', 'checks/critical.txt': 'users\n' });
  const outsideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-outside-'));
  fs.writeFileSync(path.join(outsideDir, 'critical.txt'), 'orders\n');
  fs.symlinkSync(outsideDir, path.join(repo, 'linked'));
  afterAll(() => fs.rmSync(outsideDir, { recursive: true, force: true }));

  it('the action stays in its workspace, also through symbolic links', () => {
    expect(buildConfig(repo, { dir: 'db', databaseUrl: url }, { paths: 'workspace' }).dir).toBe(path.join(repo, 'db'));
    expect(() => buildConfig(repo, { dir: '../elsewhere', databaseUrl: url }, { paths: 'workspace' })).toThrow(/migrations dir "..\/elsewhere" points outside the workspace/);
    expect(() => buildConfig(repo, { dir: outsideDir, databaseUrl: url }, { paths: 'workspace' })).toThrow(/points outside the workspace/);
    expect(() => buildConfig(repo, { dir: 'linked', databaseUrl: url }, { paths: 'workspace' })).toThrow(/"linked" leads outside the workspace .* through a symbolic link/);
    expect(() => buildConfig(repo, { dir: 'db', criticalTables: 'linked/critical.txt', databaseUrl: url }, { paths: 'workspace' })).toThrow(/critical-tables "linked\/critical.txt" leads outside/);
    // A folder that does not exist yet is judged by the part of its path that does.
    expect(() => buildConfig(repo, { dir: 'linked/not-yet', databaseUrl: url }, { paths: 'workspace' })).toThrow(/through a symbolic link/);
  });

  it('the CLI takes folders and files anywhere', () => {
    const config = buildConfig(repo, { dir: outsideDir, criticalTables: path.join(outsideDir, 'critical.txt'), databaseUrl: url }, { paths: 'anywhere' });
    expect(config.dir).toBe(outsideDir);
    expect(config.criticalTables).toEqual(['orders']);
    expect(buildConfig(repo, { dir: 'linked', databaseUrl: url }, { paths: 'anywhere' }).dir).toBe(path.join(repo, 'linked'));
  });

  it('names files by their path in the repository, or absolutely outside it', () => {
    expect(relativePath(repo, path.join(repo, 'db', '0001_a.up.sql'))).toBe('db/0001_a.up.sql');
    expect(relativePath(repo, path.join(outsideDir, 'x.sql'))).toBe(path.join(outsideDir, 'x.sql'));
    expect(relativePath(repo, path.join(repo, '..db', 'x.sql'))).toBe('..db/x.sql');
  });
});
