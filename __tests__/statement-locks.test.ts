import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import type { Report, StatementMeasure } from '../src/report/model.js';
import { renderTerminal } from '../src/report/terminal.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const at = (r: Report, migration: string, line: number): StatementMeasure => {
  const s = r.statements.find((x) => x.migration === migration && x.line === line);
  if (!s) throw new Error(`no statement ${migration}:${line}`);
  return s;
};

// Each statement is credited with the locks it asks for itself, not with what an earlier
// statement of the same transaction already holds.
describe.each(servers())('locks per statement on $name', ({ url }) => {
  it('credits CREATE INDEX with its ShareLock after an ALTER TABLE took AccessExclusiveLock, and after a CREATE TABLE', async () => {
    const root = makeRepo({
      'migrations/1_users.up.sql': 'CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL);\n',
      'migrations/2_status.up.sql': 'ALTER TABLE users ADD COLUMN status text;\nCREATE INDEX users_status_idx ON users (status);\n',
      'migrations/3_orders.up.sql': 'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL);\nCREATE INDEX orders_user_id_idx ON orders (user_id);\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'performance', perfRows: '2000' }));
    expect(await leftoverScratchDatabases(url)).toEqual([]);

    expect(at(report, '2', 1).locks).toEqual([{ relation: 'users', mode: 'AccessExclusiveLock' }]);
    expect(at(report, '2', 2).locks).toEqual([{ relation: 'users', mode: 'ShareLock' }]);
    const warning = report.findings.find((f) => f.rule === 'index-not-concurrent' && f.migration === '2');
    expect(warning?.detail).toMatch(/; ShareLock on users until commit$/);
    // The primary key's build took ShareLock on orders already: pg_locks shows nothing new, the statement still asks for it.
    expect(at(report, '3', 2).locks).toEqual([{ relation: 'orders', mode: 'ShareLock' }]);

    const terminal = renderTerminal(report, { color: false, width: 100 });
    expect(terminal).toMatch(/^migrations\/2_status\.up\.sql:2 +[\d.]+ (ms|s)  locks ShareLock on users$/m);
    expect(terminal).toMatch(/^migrations\/3_orders\.up\.sql:2 +[\d.]+ (ms|s)  locks ShareLock on orders$/m);
  }, 60_000);
});
