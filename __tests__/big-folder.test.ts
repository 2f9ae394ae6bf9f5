import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { spawnCommand } from '../src/cli/command.js';
import { runPipeline } from '../src/pipeline.js';
import { bigFolder } from './support/big-folder.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

// The suite runs a shorter folder of the same shapes; MCI_BIG_FOLDER=300 runs the full one.
const COUNT = Number(process.env.MCI_BIG_FOLDER ?? 60);

// One server: the folder is long, and what it pins does not depend on the version.
describe.each(servers().slice(0, 1))('a realistic %s-migration folder on $name'.replace('%s', String(COUNT)), ({ url }) => {
  it('is tested whole in one run, with only the true findings', { timeout: 600_000 }, async () => {
    const folder = bigFolder(COUNT);
    const t0 = performance.now();
    const report = await runPipeline(configFor(makeRepo(folder.files), url, { stages: 'syntax,rollback,data' }), { runCommand: spawnCommand });
    console.log(`${COUNT} migrations in ${Math.round(performance.now() - t0)} ms`);
    expect(report.migrations).toHaveLength(COUNT);
    // No migration untested because of an earlier failure.
    expect(report.findings.filter((f) => f.rule === 'not-reached')).toEqual([]);
    for (const m of report.migrations) {
      expect([m.version, m.stages.syntax]).not.toEqual([m.version, 'skip']);
      expect([m.version, m.stages.rollback]).not.toEqual([m.version, 'skip']);
    }
    // The only errors: the down that forgets an index, and the second up that trips on it.
    const errors = report.findings.filter((f) => f.severity === 'error').map((f) => `${f.stage}/${f.rule}@${f.migration}`);
    expect(errors).toEqual([`rollback/down-not-restoring@${folder.failingReapply}`, `rollback/reapply-failed@${folder.failingReapply}`]);
    // Backfills that find no sibling row are warnings, each on its migration.
    const dependent = report.findings.filter((f) => f.rule === 'data-dependent').map((f) => f.migration);
    expect(dependent.length).toBeGreaterThan(0);
    expect(dependent.every((v) => folder.backfills.includes(v!))).toBe(true);
    expect(report.findings.filter((f) => f.rule === 'enum-label-kept').length).toBeGreaterThanOrEqual(Math.floor(COUNT / 7) - 2);
    expect(report.findings.filter((f) => f.rule === 'data-lost-by-down')).toEqual([]);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});
