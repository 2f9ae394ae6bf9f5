import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverMigrations } from '../src/migrations/discover.js';
import { makeRepo } from './support/fixtures.js';
import { runSourceAction } from './support/runner.js';
import { servers } from './support/servers.js';

describe('symlinked migrations', () => {
  it('are followed as the migration tool follows them, not skipped', () => {
    const root = makeRepo({
      'shared/bio.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
      'shared/bio.down.sql': 'ALTER TABLE users DROP COLUMN bio;\n',
      'migrations/0001_users.up.sql': 'CREATE TABLE users (id int PRIMARY KEY);\n',
      'migrations/0001_users.down.sql': 'DROP TABLE users;\n',
    });
    fs.symlinkSync('../shared/bio.up.sql', path.join(root, 'migrations/0002_bio.up.sql'));
    fs.symlinkSync(path.join(root, 'shared/bio.down.sql'), path.join(root, 'migrations/0002_bio.down.sql'));
    fs.symlinkSync('../shared/missing.sql', path.join(root, 'migrations/0003_gone.up.sql'));
    const d = discoverMigrations(root, path.join(root, 'migrations'), 'golang-migrate');
    expect(d.migrations.map((m) => [m.version, m.up.file, m.up.text, m.down?.file])).toEqual([
      ['0001', 'migrations/0001_users.up.sql', 'CREATE TABLE users (id int PRIMARY KEY);\n', 'migrations/0001_users.down.sql'],
      ['0002', 'migrations/0002_bio.up.sql', 'ALTER TABLE users ADD COLUMN bio text;\n', 'migrations/0002_bio.down.sql'],
    ]);
    // A link to nothing is still said, not silently dropped.
    expect(d.notices.map((n) => n.file)).toEqual(['migrations/0003_gone.up.sql']);
  });
});

describe.each(servers().slice(0, 1))('the action with a linked migrations folder on $name', ({ url }) => {
  it('refuses a folder that resolves outside the workspace, like ..', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-outside-'));
    fs.writeFileSync(path.join(outside, '0001_t.up.sql'), 'CREATE TABLE t (id int);\n');
    const root = makeRepo({ 'README.md': '' });
    fs.symlinkSync(outside, path.join(root, 'migrations'));
    const run = await runSourceAction({ 'database-url': url, 'migrations-dir': 'migrations', stages: 'syntax' }, { workspace: root });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/::error::migration-ci: migrations dir "migrations" leads outside the workspace .* through a symbolic link/);
    fs.rmSync(outside, { recursive: true, force: true });
  });
});
