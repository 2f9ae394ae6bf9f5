import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCommand } from '../src/cli/command.js';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { configFor, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const tool = `node ${JSON.stringify(path.join(repoRoot, 'node_modules/node-pg-migrate/bin/node-pg-migrate.js'))}`;

describe.each(servers())('migration command mode on $name', ({ url }) => {
  it('runs the node-pg-migrate example one step at a time', async () => {
    const dir = 'examples/node-pg-migrate/migrations';
    const events: string[] = [];
    const report = await runPipeline(
      buildConfig(repoRoot, {
        dir,
        databaseUrl: url,
        stages: 'syntax',
        upCommand: `${tool} up 1 -m ${dir}`,
        downCommand: `${tool} down 1 -m ${dir}`,
      }),
      { runCommand: spawnCommand, progress: (e) => e.kind === 'migration' && events.push(`${e.version}:${e.status}`) },
    );
    expect(report.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    expect(events).toEqual(['1700000000001:pass', '1700000000002:pass', '1700000000003:pass']);
  });

  it('reports a failing step with the tail of its output, never the password', async () => {
    const root = makeRepo({
      'migrations/1_users.cjs': "exports.up = (pgm) => { pgm.createTable('users', { id: 'id' }); };\nexports.down = (pgm) => { pgm.dropTable('users'); };\n",
      'migrations/2_broken.cjs': "exports.up = (pgm) => { pgm.sql('ALTER TABLE users ADD COLUMN region text NOT NULL'); };\nexports.down = () => {};\n",
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', upCommand: `${tool} up 1 -m migrations` }), { runCommand: spawnCommand });
    const f = report.findings.find((x) => x.severity === 'error')!;
    expect(f).toMatchObject({ rule: 'command-failed', file: 'migrations/2_broken.cjs', migration: '2' });
    expect(f.message).toMatch(/^the up step of 2 fails: `.*up 1 -m migrations` exited with 1$/);
    expect(f.detail).toContain('contains null values');
    expect(report.verdict).toBe('fail');
    const password = new URL(url).password;
    if (password) expect(JSON.stringify(report)).not.toContain(password);
  });
});
