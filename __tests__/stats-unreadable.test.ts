/**
 * `migration-ci stats` as a role that may not read every table's statistics (not the owner, no
 * pg_read_all_stats): the export lists what it could not read and still writes the rest; a run
 * with that file says so. The role lives on a throwaway cluster of this test.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { urlForDatabase } from '../src/db/connect.js';
import { runPipeline } from '../src/pipeline.js';
import { readProductionStats } from '../src/production-stats.js';
import { startThrowawayCluster, type ThrowawayCluster } from './support/cluster.js';
import { configFor, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const SCHEMA = `
CREATE TABLE visible (id int PRIMARY KEY, phone text);
CREATE TABLE hidden (id int PRIMARY KEY, salary int);`;
const readerPassword = 'reader-Pw-5521';

let cluster: ThrowawayCluster;
let readerUrl: string;

beforeAll(async () => {
  cluster = await startThrowawayCluster();
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE prod');
    await admin.query(`CREATE ROLE reader LOGIN PASSWORD '${readerPassword}'`);
  } finally {
    await admin.end();
  }
  const prod = new pg.Client({ connectionString: urlForDatabase(cluster.url, 'prod') });
  await prod.connect();
  try {
    await prod.query(SCHEMA);
    await prod.query(`INSERT INTO visible SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'p' || g END FROM generate_series(1, 1000) g;
                      INSERT INTO hidden SELECT g, g * 10 FROM generate_series(1, 1000) g;
                      GRANT SELECT ON visible TO reader;
                      ANALYZE;`);
  } finally {
    await prod.end();
  }
  const u = new URL(urlForDatabase(cluster.url, 'prod'));
  u.username = 'reader';
  u.password = readerPassword;
  readerUrl = u.toString();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('stats as a role that cannot read every table', () => {
  it('lists the tables it could not read, writes the others, and the run shows the list as a notice', async () => {
    const root = makeRepo({ 'migrations/0001_init.up.sql': SCHEMA, 'migrations/0001_init.down.sql': 'DROP TABLE hidden; DROP TABLE visible;' });
    let stdout = '';
    let stderr = '';
    const io = { cwd: root, env: {}, stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), isTTY: false };
    expect(await runCli(['stats', '--database-url', readerUrl, '--output', 'prod-stats.json'], io)).toBe(0);
    expect(stdout + stderr).not.toContain(readerPassword);
    expect(stderr).toContain('migration-ci stats: hidden: no SELECT privilege: pg_stats hides its columns');

    const stats = readProductionStats(path.join(root, 'prod-stats.json'), 'prod-stats.json');
    expect(fs.readFileSync(path.join(root, 'prod-stats.json'), 'utf8')).not.toContain(readerPassword);
    expect(stats.unreadable.map((u) => `${u.schema}.${u.name}`)).toEqual(['public.hidden']);
    const visible = stats.tables.find((t) => t.name === 'visible')!;
    expect(visible.columns.find((c) => c.name === 'phone')!.nullFrac).toBeCloseTo(0.1, 2);
    // The table it could not read is still there with its size; only its columns are missing.
    const hidden = stats.tables.find((t) => t.name === 'hidden')!;
    expect(hidden.rows).toBe(1000);
    expect(hidden.columns).toEqual([]);

    const report = await runPipeline(configFor(root, servers()[0]!.url, { stages: 'syntax', seedRows: '20', productionStats: 'prod-stats.json' }));
    expect(report.findings.filter((f) => f.rule === 'production-stats-mismatch').map((f) => `${f.severity}: ${f.message}`)).toEqual([
      'notice: production-stats could not read hidden: no SELECT privilege: pg_stats hides its columns (export as its owner or a role that may read it)',
    ]);
  }, 120_000);
});
