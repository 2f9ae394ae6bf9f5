import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { runSourceAction } from './support/runner.js';
import { servers } from './support/servers.js';

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  let out = '';
  const code = await runCli(args, { cwd, env, stdout: (t) => (out += t), stderr: (t) => (out += t), isTTY: false });
  return { code, out };
}

const REPO = {
  'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY);\n',
  'migrations/0001_t.down.sql': 'DROP TABLE t;\n',
};

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

describe.each(servers())('I/O faults on $name', ({ name, url }) => {
  it('a report or SARIF path that is a folder or under a file: exit 2 naming it, no stack trace', async () => {
    const root = makeRepo({ ...REPO, 'out/a-folder/x': '', 'out/a-file': '' });
    for (const [flag, target, why] of [
      ['--report-json', 'out/a-folder', /cannot write the JSON report to .*out\/a-folder: it is a folder/],
      ['--sarif', 'out/a-file/r.sarif', /cannot write the SARIF report to .*out\/a-file\/r\.sarif: a part of its path is a file/],
    ] as const) {
      const r = await cli(['--stages', 'syntax', flag, target], root, { DATABASE_URL: url });
      expect(r.code).toBe(2);
      expect(r.out).toMatch(why);
      expect(r.out).not.toMatch(/internal error|\n\s+at /);
    }
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('a certificate file that cannot be read and an unknown sslmode are named', async () => {
    const root = makeRepo(REPO);
    const cert = await cli(['--stages', 'syntax'], root, { DATABASE_URL: withParams(url, { sslmode: 'verify-full', sslrootcert: '/nonexistent/root.crt' }) });
    expect(cert.code).toBe(2);
    expect(cert.out).toMatch(/cannot read sslrootcert \/nonexistent\/root\.crt of the database URL: ENOENT/);
    const mode = await cli(['--stages', 'syntax'], root, { DATABASE_URL: withParams(url, { sslmode: 'preferred' }) });
    expect(mode.code).toBe(2);
    expect(mode.out).toMatch(/sslmode "preferred" in the database URL is not one of disable, allow, prefer, require, verify-ca, verify-full/);
    for (const r of [cert, mode]) expect(r.out).not.toMatch(/internal error|\n\s+at /);
  });

  it.runIf(name === 'pg17-embedded')('sslmode=prefer falls back to an unencrypted connection where the server has no SSL, as libpq does', async () => {
    const root = makeRepo(REPO);
    const prefer = await cli(['--stages', 'syntax'], root, { DATABASE_URL: withParams(url, { sslmode: 'prefer' }) });
    expect(prefer.out).not.toMatch(/SSL/);
    expect(prefer.code).toBe(0);
    const require = await cli(['--stages', 'syntax', '--connect-timeout', '500'], root, { DATABASE_URL: withParams(url, { sslmode: 'require' }) });
    expect(require.code).toBe(2);
    expect(require.out).toMatch(/does not support SSL/);
  });

  it('an unwritable GITHUB_STEP_SUMMARY names the file in one sentence, exit 2', async () => {
    const root = makeRepo({ ...REPO, 'summary-folder/x': '' });
    const run = await runSourceAction(
      { 'database-url': url, 'migrations-dir': 'migrations', stages: 'syntax' },
      { workspace: root, env: { GITHUB_STEP_SUMMARY: path.join(root, 'summary-folder') } },
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/::error::migration-ci: cannot write the job summary \(GITHUB_STEP_SUMMARY\) to .*summary-folder: it is a folder/);
    expect(run.stdout + run.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(fs.statSync(path.join(root, 'summary-folder')).isDirectory()).toBe(true);
  });
});
