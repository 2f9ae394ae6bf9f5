import { describe, expect, it } from 'vitest';
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
