import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { runPipeline } from '../src/pipeline.js';
import { configFor, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
  });
}

/** A repository with `base` committed on main and `branch` changes committed on a branch. */
function prRepo(base: Record<string, string>, branch: Record<string, string>): string {
  const root = makeRepo(base);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'base');
  git(root, 'checkout', '-q', '-b', 'feature');
  for (const [name, content] of Object.entries(branch)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'branch');
  return root;
}

const BASE = {
  'migrations/0001_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);',
  'migrations/0001_users.down.sql': 'DROP TABLE users;',
  'migrations/0002_name.up.sql': 'ALTER TABLE users ADD COLUMN name text;',
  'migrations/0002_name.down.sql': 'ALTER TABLE users DROP COLUMN name;',
};

describe.each(servers())('pull request scope on $name', ({ url }) => {
  it('tests only the new migration, on top of a baseline applied once', async () => {
    const root = prRepo(BASE, {
      'migrations/0003_active.up.sql': 'ALTER TABLE users ADD COLUMN active boolean NOT NULL;',
      'migrations/0003_active.down.sql': 'ALTER TABLE users DROP COLUMN active;',
    });
    const events: string[] = [];
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', baseRef: 'main' }), {
      progress: (e) => {
        if (e.kind === 'migration') events.push(`${e.version}:${e.status}`);
      },
    });
    expect(report.migrations.map((m) => [m.version, m.underTest])).toEqual([
      ['0001', false],
      ['0002', false],
      ['0003', true],
    ]);
    // Each baseline migration is applied exactly once (into the template), the new one is tested.
    expect(events).toEqual(['0001:baseline', '0002:baseline', '0003:fail']);
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => [f.rule, f.file])).toEqual([
      ['fails-with-rows', 'migrations/0003_active.up.sql'],
    ]);
  });

  it('says a new migration ordered before an existing one is out of order', async () => {
    const base = {
      'migrations/0001_users.up.sql': BASE['migrations/0001_users.up.sql'],
      'migrations/0003_email_idx.up.sql': 'CREATE INDEX users_email_idx ON users (email);',
    };
    const root = prRepo(base, { 'migrations/0002_name.up.sql': 'ALTER TABLE users ADD COLUMN name text;' });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', baseRef: 'main' }));
    const f = report.findings.find((x) => x.rule === 'out-of-order')!;
    expect(f).toMatchObject({ severity: 'error', file: 'migrations/0002_name.up.sql', migration: '0002' });
    expect(f.message).toBe('0002 is new but sorts before 0003, which already exists at main: wherever 0003 has run, 0002 would be skipped or run out of order');
    expect(report.verdict).toBe('fail');
  });

  it('warns when a merged migration is edited, and tests it', async () => {
    const root = prRepo(BASE, { 'migrations/0002_name.up.sql': 'ALTER TABLE users ADD COLUMN name text NOT NULL DEFAULT \'\';' });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', baseRef: 'main' }));
    expect(report.migrations.map((m) => m.underTest)).toEqual([false, true]);
    expect(report.findings.filter((f) => f.severity === 'warning').map((f) => [f.rule, f.file])).toEqual([
      ['edited-migration', 'migrations/0002_name.up.sql'],
    ]);
    expect(report.verdict).toBe('pass');
  });

  it('tests everything, with a warning, when a guessed base (the pull request\'s) is missing', async () => {
    const root = prRepo(BASE, { 'migrations/0003_x.up.sql': 'SELECT 1;' });
    const config = configFor(root, url, { stages: 'syntax', baseRef: '0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6' });
    config.baseRefOptional = true;
    const report = await runPipeline(config);
    expect(report.migrations.every((m) => m.underTest)).toBe(true);
    const w = report.findings.find((f) => f.rule === 'baseline-unavailable')!;
    expect(w.severity).toBe('warning');
    expect(w.message).toMatch(/^base ref 0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6 cannot be read: .*; every migration is tested as new/);
    expect(report.verdict).toBe('pass');
  });

  it('says so when the base is missing from a shallow clone', async () => {
    const origin = prRepo(BASE, { 'migrations/0003_x.up.sql': 'SELECT 1;' });
    const clone = makeRepo({});
    git(clone, 'clone', '-q', '--depth', '1', '--branch', 'feature', `file://${origin}`, 'c');
    const base = git(origin, 'rev-parse', 'main').trim();
    const err = await runPipeline(configFor(path.join(clone, 'c'), url, { stages: 'syntax', baseRef: base })).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      `base ref ${base} cannot be read: the checkout is shallow and does not hold it; check out with full history (actions/checkout with fetch-depth: 0)`,
    );
  });
});
