import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { parseShard } from '../src/config.js';
import { assignShards, shardOf } from '../src/migrations/shard.js';
import type { Migration } from '../src/migrations/types.js';
import { mergeReports, parseReport } from '../src/report/merge.js';
import type { Report } from '../src/report/model.js';
import { renderJson } from '../src/report/json.js';
import { failingReport } from './report-fixtures.js';
import { leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

function migration(version: string, underTest = true): Migration {
  return { version, name: 'm', up: { file: `migrations/${version}_m.up.sql`, text: '' }, down: undefined, underTest };
}

describe('shard assignment', () => {
  it('is a function of the version alone: adding migrations never moves one', () => {
    const before = Array.from({ length: 40 }, (_, i) => migration(String(20240101000000 + i * 7919)));
    const a = assignShards(before, 4);
    const after = [...before.slice(0, 20), ...Array.from({ length: 25 }, (_, i) => migration(`2024060${i}`)), ...before.slice(20)];
    const b = assignShards(after, 4);
    for (const [version, shard] of a) expect(b.get(version)).toBe(shard);
    // Baseline migrations belong to no shard.
    expect(assignShards([migration('1', false), migration('2')], 3).has('1')).toBe(false);
  });

  it('spreads migrations evenly, with timestamps or sequence numbers, for any number of shards', () => {
    for (const versions of [
      Array.from({ length: 2_000 }, (_, i) => String(20230101000000 + i * 3_600)),
      Array.from({ length: 2_000 }, (_, i) => String(i + 1).padStart(6, '0')),
    ]) {
      for (const total of [2, 3, 4, 8]) {
        const counts = new Array(total).fill(0);
        for (const v of versions) {
          const s = shardOf(v, total);
          expect(s).toBeGreaterThanOrEqual(1);
          expect(s).toBeLessThanOrEqual(total);
          counts[s - 1] += 1;
        }
        const even = versions.length / total;
        for (const c of counts) expect(Math.abs(c - even) / even).toBeLessThan(0.15);
      }
    }
    expect(shardOf('0001', 1)).toBe(1);
  });

  it('parses I/N and refuses anything else', () => {
    expect(parseShard(' 2 / 4 ')).toEqual({ index: 2, total: 4 });
    for (const bad of ['0/4', '5/4', '2', 'a/b', '2/0']) expect(() => parseShard(bad)).toThrow(/shard must look like 2\/4/);
  });
});

describe('mergeReports', () => {
  function shardReport(index: number, total: number, tested: string[]): Report {
    const r = failingReport();
    r.shard = { index, total };
    r.migrations = r.migrations.map((m) =>
      m.underTest ? { ...m, underTest: tested.includes(m.version), shard: tested.includes(m.version) ? index : index === 1 ? 2 : 1 } : m,
    );
    return r;
  }

  it('reports a missing shard as an error naming the migrations nobody tested', () => {
    const merged = mergeReports([shardReport(1, 3, ['0002', '0003'])]);
    const missing = merged.findings.filter((f) => f.rule === 'shard-missing');
    expect(missing.map((f) => f.message)).toEqual(['no report from shard 2 of 3: migration 0004 was not tested', 'no report from shard 3 of 3']);
    expect(missing.every((f) => f.severity === 'error')).toBe(true);
    expect(merged.verdict).toBe('fail');
  });

  it('refuses reports of runs split differently, and files that are not reports', () => {
    expect(() => mergeReports([shardReport(1, 2, ['0002']), shardReport(1, 3, ['0003'])])).toThrow(/different numbers of shards \(2 and 3\)/);
    expect(() => mergeReports([])).toThrow(/at least one report/);
    expect(() => parseReport('{"version":2}', 'a.json')).toThrow('a.json is not a migration-ci report: unsupported version 2 (expected 1)');
    expect(() => parseReport('not json', 'b.json')).toThrow(/^b\.json is not a JSON report/);
    const broken = JSON.parse(renderJson(failingReport()));
    broken.findings[1].severity = 'fatal';
    expect(() => parseReport(JSON.stringify(broken), 'c.json')).toThrow('c.json is not a migration-ci report: findings[1].severity must be one of error, warning, notice, got "fatal"');
  });

  it('reads back exactly what renderJson wrote', () => {
    const r = failingReport();
    r.shard = { index: 2, total: 4 };
    r.migrations[1]!.shard = 2;
    expect(renderJson(parseReport(renderJson(r), 'r.json'))).toBe(renderJson(r));
  });
});

/**
 * Eight migrations with findings of several kinds: a unique index and a check constraint the
 * generated rows violate (warnings; the run goes on), a NOT NULL column without a default
 * (an error any row causes; the walk stops, so the last one is not reached).
 */
const CORPUS: Record<string, string> = {
  'migrations/0001_create_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, age int);\n',
  'migrations/0001_create_users.down.sql': 'DROP TABLE users;\n',
  'migrations/0002_add_status.up.sql': "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';\n",
  'migrations/0002_add_status.down.sql': 'ALTER TABLE users DROP COLUMN status;\n',
  'migrations/0003_unique_status.up.sql': 'CREATE UNIQUE INDEX users_status_key ON users (status);\n',
  'migrations/0003_unique_status.down.sql': 'DROP INDEX users_status_key;\n',
  'migrations/0004_create_orders.up.sql': 'CREATE TABLE orders (\n  id bigserial PRIMARY KEY,\n  user_id bigint NOT NULL REFERENCES users (id),\n  total numeric(12, 2) NOT NULL\n);\n',
  'migrations/0004_create_orders.down.sql': 'DROP TABLE orders;\n',
  'migrations/0005_orders_check.up.sql': 'ALTER TABLE orders ADD CONSTRAINT orders_total_large CHECK (total > 1000000000);\n',
  'migrations/0005_orders_check.down.sql': 'ALTER TABLE orders DROP CONSTRAINT orders_total_large;\n',
  'migrations/0006_users_name.up.sql': 'ALTER TABLE users ADD COLUMN name text;\nCREATE INDEX users_name_idx ON users (name);\n',
  'migrations/0006_users_name.down.sql': 'ALTER TABLE users DROP COLUMN name;\n',
  'migrations/0007_orders_currency.up.sql': 'ALTER TABLE orders\n  ADD COLUMN currency char(3) NOT NULL;\n',
  'migrations/0007_orders_currency.down.sql': 'ALTER TABLE orders DROP COLUMN currency;\n',
  'migrations/0008_users_plan.up.sql': "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\n",
  'migrations/0008_users_plan.down.sql': 'ALTER TABLE users DROP COLUMN plan;\n',
};

async function cli(args: string[], cwd: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { cwd, env: {}, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

describe.each(servers())('four shards and merge-reports on $name', ({ url }) => {
  it('test every migration under test exactly once, and merge into the findings of a single job', { timeout: 180_000 }, async () => {
    const root = makeRepo(CORPUS);
    const stages = 'syntax,rollback,data';
    const single = await cli(['--database-url', url, '--stages', stages, '--report-json', 'single.json'], root);
    expect(single.code, single.stderr).toBe(1);
    const singleReport = parseReport(fs.readFileSync(path.join(root, 'single.json'), 'utf8'), 'single.json');
    const rules = singleReport.findings.map((f) => `${f.severity} ${f.rule} ${f.migration ?? ''}`);
    expect(rules).toEqual(expect.arrayContaining(['error fails-with-rows 0007', 'warning data-dependent 0003', 'warning data-dependent 0005']));

    const shardReports: Report[] = [];
    for (const i of [1, 2, 3, 4]) {
      const run = await cli(['--database-url', url, '--stages', stages, '--shard', `${i}/4`, '--report-json', `shard-${i}.json`], root);
      expect(run.code, run.stderr).toBe(1); // 0007 fails in every shard: each walks all migrations under test
      expect(run.stderr).toMatch(new RegExp(`under test in shard ${i}/4 \\(of 8 in all shards\\)`));
      shardReports.push(parseReport(fs.readFileSync(path.join(root, `shard-${i}.json`), 'utf8'), `shard-${i}.json`));
    }
    // Every migration under test is tested by exactly one shard, the one its shard number names.
    for (const m of singleReport.migrations) {
      const testers = shardReports.filter((r) => r.migrations.find((x) => x.version === m.version)!.underTest);
      expect(testers.map((r) => r.shard!.index)).toEqual([shardOf(m.version, 4)]);
      for (const r of shardReports) expect(r.migrations.find((x) => x.version === m.version)!.shard).toBe(shardOf(m.version, 4));
    }
    expect(new Set(shardReports.flatMap((r) => r.migrations.filter((m) => m.underTest).map((m) => m.shard))).size).toBeGreaterThan(1);

    const merged = await cli(['merge-reports', 'shard-1.json', 'shard-2.json', 'shard-3.json', 'shard-4.json', '--report-json', 'merged.json', '--sarif', 'merged.sarif'], root);
    expect(merged.code, merged.stderr).toBe(1);
    expect(merged.stderr).toBe('');
    const mergedReport = parseReport(fs.readFileSync(path.join(root, 'merged.json'), 'utf8'), 'merged.json');
    // Shards report in shard order, a single job in walk order: the same findings, each once.
    const byKey = (fs: Report['findings']) => fs.map((f) => JSON.stringify(f)).sort();
    expect(byKey(mergedReport.findings)).toEqual(byKey(singleReport.findings));
    expect(mergedReport.verdict).toBe(singleReport.verdict);
    expect(mergedReport.migrations.map((m) => ({ version: m.version, underTest: m.underTest, stages: m.stages }))).toEqual(
      singleReport.migrations.map((m) => ({ version: m.version, underTest: m.underTest, stages: m.stages })),
    );
    expect(mergedReport.stages.map((s) => [s.name, s.status])).toEqual(singleReport.stages.map((s) => [s.name, s.status]));
    // The summary on stdout is the job summary, for $GITHUB_STEP_SUMMARY.
    expect(merged.stdout).toMatch(/^## ❌ migration-ci: fail\n/);
    expect(merged.stdout).toContain('8 migrations (8 under test, 0 baseline)');
    expect(merged.stdout).toContain('column "currency" of relation "orders" contains null values');
    expect(JSON.parse(fs.readFileSync(path.join(root, 'merged.sarif'), 'utf8')).runs[0].results.length).toBeGreaterThan(2);

    // Without one shard's report the merge fails, naming what was not tested.
    const partial = await cli(['merge-reports', 'shard-1.json', 'shard-2.json', 'shard-4.json'], root);
    expect(partial.code).toBe(1);
    const untested = singleReport.migrations.filter((m) => shardOf(m.version, 4) === 3).map((m) => m.version);
    expect(partial.stdout).toContain(`no report from shard 3 of 4: migration${untested.length === 1 ? '' : 's'} ${untested.join(', ')}`);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});

describe('merge-reports usage', () => {
  it('exits 2 on a missing file, no files, or run options', async () => {
    const root = makeRepo({ 'a.json': renderJson(failingReport()) });
    expect((await cli(['merge-reports'], root)).stderr).toBe('migration-ci: merge-reports needs the JSON reports to merge (see --help)\n');
    const missing = await cli(['merge-reports', 'a.json', 'nope.json'], root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^migration-ci: cannot read report nope\.json: ENOENT/);
    const opt = await cli(['merge-reports', 'a.json', '--dir', 'x'], root);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain('merge-reports takes report files and only --report-json, --sarif and --github-annotations');
    const positional = await cli(['a.json'], root);
    expect(positional.code).toBe(2);
    const one = await cli(['merge-reports', 'a.json'], root);
    expect(one.code).toBe(1);
    expect(one.stdout).toContain('## ❌ migration-ci: fail');
  });
});
