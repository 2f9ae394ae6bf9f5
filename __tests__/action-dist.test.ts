import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leftoverScratchDatabases, repoRoot } from './support/fixtures.js';
import { runBuiltAction } from './support/runner.js';
import { servers } from './support/servers.js';

const dist = path.join(repoRoot, 'dist/index.js');

describe.each(servers())('built action (dist/index.js) on $name', ({ url }) => {
  it('fails on the broken examples with annotations, summary and outputs', async () => {
    const run = await runBuiltAction(
      dist,
      { 'database-url': url, 'migrations-dir': 'examples/broken', stages: 'syntax' },
      { workspace: repoRoot },
    );
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors.some((l) => /^::error title=[^,]*,file=examples\/broken\/0003_add_plan\.up\.sql,line=4,col=22::syntax error at or near "AERT"/.test(l))).toBe(true);
    expect(errors.some((l) => /file=examples\/broken\/0002_add_region\.up\.sql,line=2,endLine=3::column "region" of relation "accounts" contains null values/.test(l))).toBe(true);
    // setFailed is the last error command
    expect(errors.at(-1)).toBe('::error::migration-ci: 2 errors in the migrations');
    expect(run.outputs.verdict).toBe('fail');
    expect(run.outputs.errors).toBe('2');
    expect(run.outputs.warnings).toBe('0');
    const report = JSON.parse(run.reportText!);
    expect(report.version).toBe(1);
    expect(report.verdict).toBe('fail');
    expect(report.findings.find((f: { rule: string }) => f.rule === 'parse-error')).toMatchObject({
      file: 'examples/broken/0003_add_plan.up.sql',
      line: 4,
      column: 22,
      message: 'syntax error at or near "AERT"',
    });
    expect(run.summary).toContain('examples/broken/0003_add_plan.up.sql:4:22');
    expect(run.summary).toMatch(/fail/);
    expect(await leftoverScratchDatabases(url, run.pid)).toEqual([]);
  });

  it('passes the good examples', async () => {
    const run = await runBuiltAction(dist, { 'database-url': url, 'migrations-dir': 'examples/migrations', stages: 'syntax' }, { workspace: repoRoot });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.verdict).toBe('pass');
    expect(run.stdout).not.toMatch(/^::error/m);
  });

  it('exits 2 with a clear message when the folder is missing', async () => {
    const run = await runBuiltAction(dist, { 'database-url': url, 'migrations-dir': 'no/such/dir' }, { workspace: repoRoot });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('::error::migration-ci: no/such/dir: migrations folder no/such/dir does not exist');
  });
});
