import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { substituteText } from '../src/migrations/substitute.js';
import { runPipeline } from '../src/pipeline.js';
import { configFor, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

describe('substituteText', () => {
  it('replaces literal text first, then ${name} placeholders, keeping lines', () => {
    const text = 'CREATE TABLE ${schema}.t (id int);\n-- ${other} stays\nSELECT /* T */;';
    expect(substituteText(text, { placeholders: { schema: 'app' }, replacements: [{ from: '/* T */', to: '1' }] })).toBe(
      'CREATE TABLE app.t (id int);\n-- ${other} stays\nSELECT 1;',
    );
  });
});

describe.each(servers())('substitutions on $name', ({ url }) => {
  it('runs the templated example with --replace and reports the template without it', async () => {
    const withReplace = await runPipeline(
      buildConfig(repoRoot, { dir: 'examples/templated', databaseUrl: url, stages: 'syntax', replace: ['/* TEMPLATE: schema */=app'] }),
    );
    expect(withReplace.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    const without = await runPipeline(buildConfig(repoRoot, { dir: 'examples/templated', databaseUrl: url, stages: 'syntax' }));
    expect(without.findings.find((f) => f.rule === 'parse-error')).toMatchObject({ file: 'examples/templated/0001_create_schema.up.sql', line: 2 });
  });

  it('fills Flyway placeholders', async () => {
    const root = makeRepo({
      'migrations/V1__schema.sql': 'CREATE SCHEMA ${schema};\nCREATE TABLE ${schema}.items (id int PRIMARY KEY);',
      'migrations/V2__col.sql': 'ALTER TABLE ${schema}.items ADD COLUMN qty int NOT NULL DEFAULT 0;',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', placeholders: ['schema=inventory'] }));
    expect(report.verdict).toBe('pass');
    expect(report.migrations.map((m) => m.version)).toEqual(['1', '2']);
  });

  it('fails a sqitch change whose verify script fails', async () => {
    const root = makeRepo({
      'migrations/sqitch.plan': '%project=x\n\nusers 2026-01-01T00:00:00Z A <a@b.c>\n',
      'migrations/deploy/users.sql': 'BEGIN;\nCREATE TABLE users (id int);\nCOMMIT;\n',
      'migrations/revert/users.sql': 'DROP TABLE users;\n',
      'migrations/verify/users.sql': '-- the deploy forgot this column\nSELECT id, email FROM users WHERE false;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    expect(report.verdict).toBe('fail');
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => [f.rule, f.file, f.line])).toEqual([
      ['verify-failed', 'migrations/verify/users.sql', 2],
    ]);
  });
});
