import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { detectFormat, discoverMigrations } from '../src/migrations/discover.js';
import { runPipeline } from '../src/pipeline.js';
import { repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const formatsDir = path.join(repoRoot, '__tests__/fixtures/formats');
const FORMATS = ['golang-migrate', 'dbmate', 'goose', 'flyway', 'sqitch'] as const;
const rel = (f: string) => `__tests__/fixtures/formats/${f}`;

/** Where the one NOT NULL error of the shared corpus must be reported, per format. */
const REGION_ERROR: Record<(typeof FORMATS)[number], { file: string; line: number }> = {
  'golang-migrate': { file: rel('golang-migrate/003_add_region.up.sql'), line: 3 },
  dbmate: { file: rel('dbmate/003_add_region.sql'), line: 4 },
  goose: { file: rel('goose/003_add_region.sql'), line: 5 },
  flyway: { file: rel('flyway/V1.10__add_region.sql'), line: 3 },
  sqitch: { file: rel('sqitch/deploy/add_region.sql'), line: 5 },
};

describe('format discovery', () => {
  it.each(FORMATS)('detects %s and reads three migrations in order', (format) => {
    const dir = path.join(formatsDir, format);
    expect(detectFormat(repoRoot, dir)).toBe(format);
    const found = discoverMigrations(repoRoot, dir, 'auto');
    expect(found.migrations.map((m) => m.name.replace(/ /g, '_'))).toEqual(['create_users', 'add_nickname', 'add_region']);
    expect(found.migrations.every((m) => m.down !== undefined)).toBe(true);
  });

  it('keeps section line numbers of one-file formats and orders Flyway versions numerically', () => {
    const dbmate = discoverMigrations(repoRoot, path.join(formatsDir, 'dbmate'), 'dbmate').migrations[2]!;
    const lines = dbmate.up.text.split('\n');
    expect(lines[3]).toBe('ALTER TABLE users ADD COLUMN region text NOT NULL;');
    expect(lines[0]!.trim()).toBe('');
    expect(dbmate.down!.text).toContain('DROP COLUMN region');
    expect(dbmate.down!.text).not.toContain('ADD COLUMN');
    const flyway = discoverMigrations(repoRoot, path.join(formatsDir, 'flyway'), 'flyway').migrations;
    expect(flyway.map((m) => m.version)).toEqual(['1', '1.1', '1.10']);
  });

  it('reads sqitch verify scripts', () => {
    const sqitch = discoverMigrations(repoRoot, path.join(formatsDir, 'sqitch'), 'sqitch').migrations;
    expect(sqitch.map((m) => m.version)).toEqual(['create_users', 'add_nickname', 'add_region']);
    expect(sqitch[2]!.verify?.file).toBe(rel('sqitch/verify/add_region.sql'));
  });
});

describe.each(servers())('the same schema in every format on $name', ({ url }) => {
  it.each(FORMATS)('%s: same verdict and the NOT NULL error at the right line', async (format) => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: `__tests__/fixtures/formats/${format}`, databaseUrl: url, stages: 'syntax' }));
    expect(report.verdict).toBe('fail');
    const errors = report.findings.filter((f) => f.severity !== 'notice').map((f) => ({ rule: f.rule, file: f.file, line: f.line }));
    expect(errors).toEqual([{ rule: 'fails-with-rows', ...REGION_ERROR[format] }]);
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'pass', 'fail']);
  });
});
