import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

/**
 * GitHub's own stand-in for the runner, @github/local-action, runs the action from source with a
 * .env file: a second client of the action's contract, independent of our own runner harness.
 */
async function localAction(envFile: string): Promise<{ code: number | null; out: string }> {
  const bin = path.join(repoRoot, 'node_modules/@github/local-action/bin/local-action.js');
  const child = spawn(process.execPath, [bin, 'run', repoRoot, 'src/action/main.ts', envFile], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, out };
}

describe('the action under @github/local-action', () => {
  it('reports the broken examples: annotations at file and line, outputs', async () => {
    const { url } = servers()[0]!;
    const dir = makeRepo({});
    const envFile = path.join(dir, '.env');
    fs.writeFileSync(
      envFile,
      [`INPUT_DATABASE-URL=${url}`, 'INPUT_MIGRATIONS-DIR=examples/broken', 'INPUT_STAGES=syntax', `GITHUB_WORKSPACE=${repoRoot}`, `RUNNER_TEMP=${dir}`, ''].join('\n'),
    );
    const { out } = await localAction(envFile);
    expect(out).toMatch(/^::error title=[^,]*,file=examples\/broken\/0003_add_plan\.up\.sql,line=4,(endLine=4,)?col=22,.*::syntax error at or near "AERT"$/m);
    expect(out).toMatch(/file=examples\/broken\/0002_add_region\.up\.sql,line=2,.*::column "region" of relation "accounts" contains null values/);
    expect(out).toMatch(/'verdict'\s*│\s*'fail'/);
    expect(out).toMatch(/'errors'\s*│\s*'2'/);
    expect(out).toMatch(/^::error::migration-ci: 2 errors in the migrations$/m);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'migration-ci-report.json'), 'utf8')).verdict).toBe('fail');
  }, 120_000);
});
