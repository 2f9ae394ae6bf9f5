import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { repoRoot } from './support/fixtures.js';
import { runProcess } from './support/run-process.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** The environment of a fresh shell: none of the npm_* variables of a parent `npm test`. */
function shellEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  delete env.DATABASE_URL;
  return { ...env, NO_COLOR: '1', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

describe('the npm package', () => {
  it('packs what runs, installs into another project, and tests its migrations from there', async () => {
    // A copy of the checkout without lib/ (as a fresh clone has none) and without dist/: the
    // package must build what it ships when packed. node_modules is shared, read-only.
    const checkout = tempDir('mci-checkout-');
    fs.cpSync(repoRoot, checkout, {
      recursive: true,
      filter: (src) => !['node_modules', 'lib', 'dist', '.git'].includes(path.relative(repoRoot, src).split(path.sep)[0]!),
    });
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(checkout, 'node_modules'));
    const packed = tempDir('mci-packed-');
    const pack = await runProcess('npm', ['pack', '--json', '--pack-destination', packed], { cwd: checkout, env: shellEnv() });
    expect(pack.status, pack.stderr).toBe(0);
    const out = pack.stdout;
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info!.files.map((f) => f.path);

    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'bin/migration-ci.js', 'lib/cli/main.js', 'lib/pipeline.js']));
    const stray = files.filter((f) => !/^(bin|lib)\//.test(f) && !['package.json', 'README.md', 'LICENSE'].includes(f));
    expect(stray).toEqual([]);
    expect(files.filter((f) => /^lib\/action\/|\.test\.|(^|\/)(__tests__|fixtures|\.ci)\//.test(f))).toEqual([]);

    // A project that has never seen the repository.
    const project = tempDir('mci-consumer-');
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    fs.cpSync(path.join(repoRoot, 'examples/migrations'), path.join(project, 'db'), { recursive: true });
    const install = await runProcess('npm', ['install', '--prefer-offline', path.join(packed, info!.filename)], { cwd: project, env: shellEnv() });
    expect(install.status, install.stderr).toBe(0);

    // What the CLI imports, and only that, comes with it: the action's packages are bundled into
    // dist/ and are no download for `npx migration-ci`.
    const installed = path.join(project, 'node_modules', 'migration-ci');
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const imported = new Set<string>();
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const text = fs.readFileSync(path.join(installed, f), 'utf8');
      for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(3);
    expect([...imported].filter((p) => !(p in manifest.dependencies))).toEqual([]);
    expect(Object.keys(manifest.dependencies).filter((d) => d.startsWith('@actions/'))).toEqual([]);
    expect(fs.existsSync(path.join(project, 'node_modules', '@actions'))).toBe(false);

    const run = await runProcess('npx', ['migration-ci', '--dir', 'db', '--database-url', inject('pg15Url'), '--perf-rows', '1000'], {
      cwd: project,
      env: shellEnv(),
    });
    expect(run.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|internal error/);
    expect(run.stdout).toMatch(/migration-ci: pass .* 6 migrations/);
    // Files are named by their path from the project (which ones are listed depends on their timings).
    expect(run.stdout).toMatch(/^db\/\d{4}_\w+\.up\.sql/m);
    expect(run.stdout).not.toContain(project);
    expect(run.status).toBe(0);
  }, 300_000);
});
