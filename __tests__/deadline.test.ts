import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { runPipeline } from '../src/pipeline.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

// A migration that switches the server's timeout off, then runs far longer than statement-timeout.
const SWITCHES = {
  'SET statement_timeout = 0': 'SET statement_timeout = 0;\nSELECT pg_sleep(600);\n',
  'RESET ALL': 'RESET ALL;\nSELECT pg_sleep(600);\n',
  'set_config in a DO block': "DO $$ BEGIN PERFORM set_config('statement_timeout', '0', false); END $$;\nSELECT pg_sleep(600);\n",
};

describe.each(servers())('the client-side statement deadline on $name', ({ url }) => {
  it.each(Object.entries(SWITCHES))('still stops a statement after %s, and names it', async (_, sql) => {
    const root = makeRepo({
      'migrations/0001_init.up.sql': 'CREATE TABLE users (id int PRIMARY KEY);\n',
      'migrations/0001_init.down.sql': 'DROP TABLE users;\n',
      'migrations/0002_slow.up.sql': sql,
      'migrations/0002_slow.down.sql': 'SELECT 1;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', statementTimeoutMs: '1000' }));
    const stopped = report.findings.filter((f) => f.rule === 'statement-timeout');
    expect(stopped.map((f) => ({ file: f.file, line: f.line, severity: f.severity }))).toEqual([
      { file: 'migrations/0002_slow.up.sql', line: 2, severity: 'error' },
    ]);
    expect(stopped[0]!.message).toMatch(/statement timeout/);
    expect(report.verdict).toBe('fail');
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});

describe.each(servers().slice(0, 1))('the client-side lock deadline on $name', ({ url }) => {
  it('stops a lock wait after SET lock_timeout = 0 at lock-timeout, not at statement-timeout, and names the statement', async () => {
    const root = makeRepo({
      'migrations/0001_init.up.sql': 'CREATE TABLE users (id int PRIMARY KEY);\n',
      'migrations/0001_init.down.sql': 'DROP TABLE users;\n',
      'migrations/0002_wait.up.sql': 'SET lock_timeout = 0;\nSELECT pg_sleep(1.5);\nALTER TABLE users ADD COLUMN bio text;\n',
      'migrations/0002_wait.down.sql': 'ALTER TABLE users DROP COLUMN bio;\n',
    });
    // A blocker of the test's own: once the migration sleeps, it takes the table in its scratch database.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let blocker: pg.Client | undefined;
    let done = false;
    const block = (async () => {
      while (!done && !blocker) {
        const r = await admin.query<{ datname: string }>(
          "SELECT datname FROM pg_stat_activity WHERE datname LIKE $1 AND query LIKE '%SELECT pg_sleep(1.5)%' AND state = 'active'",
          [`mci\\_%\\_${process.pid.toString(36)}\\_%`],
        );
        if (r.rows[0]) {
          const u = new URL(url);
          u.pathname = `/${r.rows[0].datname}`;
          const c = new pg.Client({ connectionString: u.toString() });
          c.on('error', () => {});
          await c.connect();
          await c.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
          blocker = c;
        } else await new Promise((res) => setTimeout(res, 50));
      }
    })();
    try {
      const report = await runPipeline(configFor(root, url, { stages: 'syntax', statementTimeoutMs: '20000', lockTimeoutMs: '1000' }));
      expect(blocker).toBeDefined();
      const stopped = report.findings.filter((f) => f.rule === 'lock-timeout');
      expect(stopped.map((f) => ({ file: f.file, line: f.line, severity: f.severity }))).toEqual([{ file: 'migrations/0002_wait.up.sql', line: 3, severity: 'error' }]);
      expect(`${stopped[0]!.message} ${stopped[0]!.detail ?? ''}`).toMatch(/lock timeout.*stopped by migration-ci after waiting \d+ ms for a lock held by backend \d+ \(lock-timeout 1000 ms\)/s);
      expect(report.findings.filter((f) => f.rule === 'statement-timeout')).toEqual([]);
      // Bounded by lock-timeout, far below the 20 s statement deadline.
      expect(Number(/after waiting (\d+) ms/.exec(stopped[0]!.detail ?? '')?.[1])).toBeLessThan(10_000);
    } finally {
      done = true;
      await block.catch(() => {});
      await blocker?.end().catch(() => {});
      await admin.end();
    }
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});
