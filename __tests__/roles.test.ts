import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import { startThrowawayCluster, type ThrowawayCluster } from './support/cluster.js';
import { configFor, makeRepo } from './support/fixtures.js';

// Roles are the server's: these tests create them only on a cluster of their own.
let cluster: ThrowawayCluster;
beforeAll(async () => {
  cluster = await startThrowawayCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

async function roles(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1");
    return r.rows.map((x) => x.rolname);
  } finally {
    await c.end();
  }
}

async function scratchDatabases(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'mci\\_%'")).rows.map((x) => x.datname);
  } finally {
    await c.end();
  }
}

const GOOD = {
  'migrations/0001_users.up.sql': 'CREATE TABLE users (id int PRIMARY KEY, email text);\n',
  'migrations/0001_users.down.sql': 'DROP TABLE users;\n',
  'migrations/0002_reader.up.sql': "CREATE ROLE app_reader NOLOGIN;\nCREATE USER app_login PASSWORD 'login-pw' IN ROLE app_reader;\nGRANT SELECT ON users TO app_reader;\n",
  'migrations/0002_reader.down.sql': 'REVOKE SELECT ON users FROM app_reader;\nDROP ROLE app_login;\nDROP ROLE app_reader;\n',
};

describe('roles created by migrations', () => {
  it('are dropped when the run ends: two runs in a row and two at once all pass', async () => {
    const before = await roles(cluster.url);
    const root = makeRepo(GOOD);
    const config = configFor(root, cluster.url, { perfRows: '200' });
    const first = await runPipeline(config);
    expect(first.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(await roles(cluster.url)).toEqual(before);
    const second = await runPipeline(config);
    expect(second.verdict).toBe('pass');
    const both = await Promise.all([runPipeline(config), runPipeline(config)]);
    expect(both.map((r) => r.verdict)).toEqual(['pass', 'pass']);
    expect(await roles(cluster.url)).toEqual(before);
    expect(await scratchDatabases(cluster.url)).toEqual([]);
  });

  it('a role the down leaves is a rollback finding, and is dropped anyway', async () => {
    const before = await roles(cluster.url);
    const root = makeRepo({
      ...GOOD,
      'migrations/0002_reader.down.sql': 'REVOKE SELECT ON users FROM app_reader;\nDROP ROLE app_login;\n',
    });
    const report = await runPipeline(configFor(root, cluster.url, { stages: 'syntax,rollback' }));
    const left = report.findings.filter((f) => f.stage === 'rollback' && /role/.test(f.message));
    expect(left.map((f) => [f.rule, f.file, f.message])).toContainEqual([
      'down-not-restoring',
      'migrations/0002_reader.down.sql',
      'role app_reader is left behind by the down of 0002',
    ]);
    expect(report.verdict).toBe('fail');
    expect(await roles(cluster.url)).toEqual(before);
  });

  it('a down that changes an existing role is a finding', async () => {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('CREATE ROLE keeper NOLOGIN');
    try {
      const root = makeRepo({
        'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY);\nALTER ROLE keeper SET work_mem = \'64MB\';\n',
        'migrations/0001_t.down.sql': 'DROP TABLE t;\n',
      });
      const report = await runPipeline(configFor(root, cluster.url, { stages: 'syntax,rollback' }));
      const changed = report.findings.find((f) => f.message === 'role keeper is changed after the down of 0001');
      expect(changed?.detail).toMatch(/after the down: SET work_mem=64MB/);
    } finally {
      await admin.query('DROP ROLE keeper');
      await admin.end();
    }
  });
});
