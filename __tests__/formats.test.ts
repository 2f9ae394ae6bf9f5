import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { detectFormat, discoverMigrations } from '../src/migrations/discover.js';
import { runPipeline } from '../src/pipeline.js';
import { repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const formatsDir = path.join(repoRoot, '__tests__/fixtures/formats');
const rel = (f: string) => `__tests__/fixtures/formats/${f}`;

/**
 * The shared corpus in every format: where its migrations are, and where the one NOT NULL error
 * must be reported (each file's own line). Up-only formats keep no down.
 */
const CORPUS = {
  'golang-migrate': { dir: 'golang-migrate', file: 'golang-migrate/003_add_region.up.sql', line: 3 },
  dbmate: { dir: 'dbmate', file: 'dbmate/003_add_region.sql', line: 4 },
  goose: { dir: 'goose', file: 'goose/003_add_region.sql', line: 5 },
  flyway: { dir: 'flyway', file: 'flyway/V1.10__add_region.sql', line: 3 },
  sqitch: { dir: 'sqitch', file: 'sqitch/deploy/add_region.sql', line: 5 },
  diesel: { dir: 'diesel', file: 'diesel/2024-01-03-120000_add_region/up.sql', line: 3 },
  hasura: { dir: 'hasura', file: 'hasura/1700000000003_add_region/up.sql', line: 3 },
  sourcegraph: { dir: 'sourcegraph', file: 'sourcegraph/1528395003/up.sql', line: 3 },
  prisma: { dir: 'prisma', file: 'prisma/20240101000003_add_region/migration.sql', line: 3, upOnly: true },
  supabase: { dir: 'supabase/supabase/migrations', file: 'supabase/supabase/migrations/20240101000003_add_region.sql', line: 3, upOnly: true },
  atlas: { dir: 'atlas', file: 'atlas/20240101000003_add_region.sql', line: 3, upOnly: true },
  sqlx: { dir: 'sqlx/migrations', file: 'sqlx/migrations/20240101000003_add_region.sql', line: 3, upOnly: true },
  liquibase: { dir: 'liquibase', file: 'liquibase/changes/later/003_add_region.sql', line: 6 },
  'sql-migrate': { dir: 'sql-migrate', file: 'sql-migrate/3-add_region.sql', line: 4 },
  tern: { dir: 'tern', file: 'tern/003_add_region.sql', line: 3 },
  postgrator: { dir: 'postgrator', file: 'postgrator/003.do.add_region.sql', line: 3 },
  'node-pg-migrate': { dir: 'node-pg-migrate', file: 'node-pg-migrate/1700000000003_add_region.sql', line: 4 },
} as const satisfies Record<string, { dir: string; file: string; line: number; upOnly?: boolean }>;
type CorpusFormat = keyof typeof CORPUS;
const FORMATS = Object.keys(CORPUS) as CorpusFormat[];
const upOnly = (f: CorpusFormat) => 'upOnly' in CORPUS[f];

describe('format discovery', () => {
  it.each(FORMATS)('detects %s and reads three migrations in order', (format) => {
    const dir = path.join(formatsDir, CORPUS[format].dir);
    expect(detectFormat(repoRoot, dir)).toBe(format);
    const found = discoverMigrations(repoRoot, dir, 'auto');
    expect(found.format).toBe(format);
    expect(found.migrations.map((m) => m.name.replace(/ /g, '_'))).toEqual(['create_users', 'add_nickname', 'add_region']);
    expect(found.migrations.every((m) => (m.down !== undefined) === !upOnly(format))).toBe(true);
    expect(found.migrations.every((m) => (m.upOnly !== undefined) === upOnly(format))).toBe(true);
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

  it('orders Liquibase changesets by the master changelog, versions them author:id and leaves out other databases', () => {
    const found = discoverMigrations(repoRoot, path.join(formatsDir, 'liquibase'), 'auto');
    expect(found.migrations.map((m) => m.version)).toEqual(['alice:create_users', 'alice:add_nickname', 'bob:add_region']);
    const nickname = found.migrations[1]!;
    // The rollback block is the down, at its own lines of the real file; the up holds none of it.
    expect(nickname.down!.text.split('\n')[13]).toBe('DROP INDEX users_nickname_idx;');
    expect(nickname.up.text).not.toContain('DROP INDEX');
    const region = found.migrations[2]!;
    expect(region.down!.text.split('\n')[6]).toBe('           ALTER TABLE users DROP COLUMN region;');
    expect(found.notices.map((n) => n.message)).toEqual([
      'changeset bob:region_engine is not run: dbms:mysql excludes PostgreSQL',
    ]);
  });
});

describe.each(servers())('the same schema in every format on $name', ({ url }) => {
  it.each(FORMATS)('%s: same findings as golang-migrate, the NOT NULL error at its own line', async (format) => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: rel(CORPUS[format].dir), databaseUrl: url, stages: 'syntax,rollback' }));
    expect(report.verdict).toBe('fail');
    const errors = report.findings.filter((f) => f.severity !== 'notice').map((f) => ({ rule: f.rule, file: f.file, line: f.line }));
    expect(errors).toEqual([{ rule: 'fails-with-rows', file: rel(CORPUS[format].file), line: CORPUS[format].line }]);
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'pass', 'fail']);
    // Up-only formats: one notice for the whole run, no error per migration.
    const formatNotices = report.findings.filter((f) => f.rule === 'format-without-down');
    expect(formatNotices).toHaveLength(upOnly(format) ? 1 : 0);
    expect(report.migrations.slice(0, 2).map((m) => m.stages.rollback)).toEqual(upOnly(format) ? ['skip', 'skip'] : ['pass', 'pass']);
  });

  it('require-down keeps the missing-down error of an up-only format', async () => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: rel('prisma'), databaseUrl: url, stages: 'syntax,rollback', requireDown: true }));
    expect(report.findings.filter((f) => f.rule === 'missing-down').map((f) => [f.severity, f.migration])).toEqual([
      ['error', '20240101000001'],
      ['error', '20240101000002'],
      ['error', '20240101000003'],
    ]);
    expect(report.findings.some((f) => f.rule === 'format-without-down')).toBe(false);
  });
});
