import { describe, expect, it } from 'vitest';
import { spawnCommand } from '../src/cli/command.js';
import { runPipeline } from '../src/pipeline.js';
import type { Finding, Report } from '../src/report/model.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const brief = (f: Finding) => `${f.stage}/${f.rule}/${f.severity}@${f.migration ?? '-'}`;
const notNotice = (r: Report) => r.findings.filter((f) => f.severity !== 'notice').map(brief);

// A settings row the migrations insert, guarded by a trigger that forbids emptying the table.
const SETTINGS = {
  'migrations/0001_settings.up.sql': `CREATE TABLE settings (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO settings VALUES ('currency', 'EUR');
CREATE FUNCTION forbid_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'settings may not be emptied'; END $$;
CREATE TRIGGER settings_no_truncate BEFORE TRUNCATE ON settings FOR EACH STATEMENT EXECUTE FUNCTION forbid_truncate();
`,
  'migrations/0001_settings.down.sql': 'DROP TABLE settings;\nDROP FUNCTION forbid_truncate();\n',
};

const ORGS = {
  'migrations/0002_orgs.up.sql': `CREATE TABLE organizations (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE organization_members (id bigserial PRIMARY KEY, organization_id bigint NOT NULL REFERENCES organizations, user_id bigint NOT NULL);
CREATE TABLE templates (id bigserial PRIMARY KEY, organization_id bigint NOT NULL REFERENCES organizations, body text);
`,
  'migrations/0002_orgs.down.sql': 'DROP TABLE templates, organization_members, organizations;\n',
};

/** Fails unless the row 0001 inserted is still there. */
const NEEDS_SETTING = `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM settings WHERE k = 'currency') THEN RAISE EXCEPTION 'the currency setting is gone'; END IF;
END $$;
`;

describe.each(servers())('the walk contains failures on $name', ({ url }) => {
  const run = (files: Record<string, string>, stages = 'syntax,rollback,data') =>
    runPipeline(configFor(makeRepo(files), url, { stages }), { runCommand: spawnCommand });

  it('warns on a backfill that leaves NULLs before SET NOT NULL, names the rows, and tests every later migration', async () => {
    const report = await run({
      ...SETTINGS,
      ...ORGS,
      // Half the organizations have no member in production; the generated rows may not join either.
      'migrations/0003_created_by.up.sql': `ALTER TABLE templates ADD COLUMN created_by bigint;
UPDATE templates SET created_by = (SELECT m.user_id FROM organization_members m WHERE m.organization_id = templates.organization_id AND m.id < 0);
ALTER TABLE templates ALTER COLUMN created_by SET NOT NULL;
`,
      'migrations/0003_created_by.down.sql': 'ALTER TABLE templates DROP COLUMN created_by;\n',
      'migrations/0004_uses_setting.up.sql': `${NEEDS_SETTING}ALTER TABLE settings ADD COLUMN note text;\n`,
      'migrations/0004_uses_setting.down.sql': 'ALTER TABLE settings DROP COLUMN note;\n',
    });
    const warning = report.findings.find((f) => f.rule === 'data-dependent')!;
    expect(warning).toMatchObject({ stage: 'syntax', severity: 'warning', migration: '0003', file: 'migrations/0003_created_by.up.sql', line: 3 });
    expect(warning.message).toContain(
      'templates rows that the backfill at line 2 leaves NULL in created_by (rows with no matching row in organization_members) make SET NOT NULL fail',
    );
    // The settings row survives (no TRUNCATE, no trigger fired), so 0004 passes.
    expect(notNotice(report)).toEqual(['syntax/data-dependent/warning@0003']);
    expect(report.migrations.map((m) => [m.version, m.stages.syntax, m.stages.rollback])).toEqual([
      ['0001', 'pass', 'pass'],
      ['0002', 'pass', 'pass'],
      ['0003', 'warn', 'pass'],
      ['0004', 'pass', 'pass'],
    ]);
    expect(report.findings.filter((f) => f.stage === 'data').map(brief)).toEqual(['data/data-checks-skipped/notice@0003']);
    expect(report.verdict).toBe('pass');
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('fails a column made NOT NULL with nothing filling it, and goes on', async () => {
    const report = await run(
      {
        ...SETTINGS,
        ...ORGS,
        'migrations/0003_flag.up.sql': 'ALTER TABLE templates ADD COLUMN flag boolean;\nALTER TABLE templates ALTER COLUMN flag SET NOT NULL;\n',
        'migrations/0004_uses_setting.up.sql': NEEDS_SETTING,
      },
      'syntax',
    );
    const error = report.findings.find((f) => f.rule === 'fails-with-rows')!;
    expect(error).toMatchObject({ severity: 'error', migration: '0003', line: 2 });
    expect(error.message).toContain('templates.flag is added without a default and nothing fills it before it is made NOT NULL');
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'pass', 'fail', 'pass']);
    expect(report.verdict).toBe('fail');
  });

  it('warns on a DELETE that children block and on a foreign key the rows violate', async () => {
    const report = await run(
      {
        ...ORGS,
        'migrations/0003_prune.up.sql': 'DELETE FROM organizations WHERE id % 2 = 0;\n',
        'migrations/0004_fk.up.sql':
          'CREATE TABLE app_users (id bigint PRIMARY KEY);\nALTER TABLE organization_members ADD CONSTRAINT members_user_fk FOREIGN KEY (user_id) REFERENCES app_users (id);\n',
        'migrations/0005_last.up.sql': 'ALTER TABLE templates ADD COLUMN title text;\n',
      },
      'syntax',
    );
    const warnings = report.findings.filter((f) => f.rule === 'data-dependent');
    expect(warnings.map((f) => f.migration)).toEqual(['0003', '0004']);
    expect(warnings[0]!.message).toContain('deleting organizations rows that rows of other tables still reference makes it fail');
    expect(warnings[1]!.message).toContain('organization_members rows whose (user_id) match no row of app_users make it fail');
    expect(report.migrations.map((m) => m.stages.syntax)).toEqual(['pass', 'warn', 'warn', 'pass']);
  });

  it('stops only where the up fails before the generated rows too, and says per stage what was not tested', async () => {
    const report = await run({
      ...SETTINGS,
      'migrations/0002_bad.up.sql': 'ALTER TABLE settings ADD COLUMN owner bigint REFERENCES nowhere (id);\n',
      'migrations/0002_bad.down.sql': 'ALTER TABLE settings DROP COLUMN owner;\n',
      'migrations/0003_later.up.sql': 'ALTER TABLE settings ADD COLUMN note text;\n',
      'migrations/0003_later.down.sql': 'ALTER TABLE settings DROP COLUMN note;\n',
    });
    expect(notNotice(report)).toEqual(['syntax/apply-failed/error@0002']);
    const notReached = report.findings.filter((f) => f.rule === 'not-reached');
    expect(notReached.map((f) => [f.stage, f.message])).toEqual([
      ['syntax', 'not tested because the walk stopped at 0002 (its up fails on the state before the generated rows too): 0003'],
      ['rollback', 'rollback checks not run because the walk stopped at 0002 (its up fails on the state before the generated rows too): 0003'],
      ['data', 'data checks not run because the walk stopped at 0002 (its up fails on the state before the generated rows too): 0003'],
    ]);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('gives a seed-data migration no false error, and restores after a failed second up', async () => {
    const report = await run({
      ...SETTINGS,
      'migrations/0002_tax.up.sql': "INSERT INTO settings VALUES ('tax', '20');\n",
      'migrations/0002_tax.down.sql': "DELETE FROM settings WHERE k = 'tax';\n",
      // The down forgets the type: the second up fails.
      'migrations/0003_mood.up.sql': "CREATE TYPE mood AS ENUM ('happy');\nALTER TABLE settings ADD COLUMN mood mood;\n",
      'migrations/0003_mood.down.sql': 'ALTER TABLE settings DROP COLUMN mood;\n',
      'migrations/0004_uses.up.sql': `${NEEDS_SETTING}ALTER TABLE settings ALTER COLUMN mood SET DEFAULT 'happy';\n`,
      'migrations/0004_uses.down.sql': 'ALTER TABLE settings ALTER COLUMN mood DROP DEFAULT;\n',
    });
    expect(notNotice(report)).toEqual(['rollback/down-not-restoring/error@0003', 'rollback/reapply-failed/error@0003']);
    expect(report.migrations.map((m) => [m.version, m.stages.syntax, m.stages.rollback, m.stages.data])).toEqual([
      ['0001', 'pass', 'pass', 'pass'],
      ['0002', 'pass', 'pass', 'pass'],
      ['0003', 'pass', 'fail', 'pass'],
      ['0004', 'pass', 'pass', 'pass'],
    ]);
  });

  it('warns on enum labels a down cannot drop when the up runs again, and fails when it cannot', async () => {
    const report = await run(
      {
        'migrations/0001_status.up.sql': "CREATE TYPE status AS ENUM ('new', 'done');\nCREATE TABLE tasks (id bigserial PRIMARY KEY, status status NOT NULL DEFAULT 'new');\n",
        'migrations/0001_status.down.sql': 'DROP TABLE tasks;\nDROP TYPE status;\n',
        'migrations/0002_archived.up.sql': "ALTER TYPE status ADD VALUE IF NOT EXISTS 'archived';\n",
        'migrations/0002_archived.down.sql': '-- Postgres cannot drop an enum label\nSELECT 1;\n',
        'migrations/0003_late.up.sql': "ALTER TYPE status ADD VALUE 'late';\n",
        'migrations/0003_late.down.sql': 'SELECT 1;\n',
        'migrations/0004_after.up.sql': 'ALTER TABLE tasks ADD COLUMN note text;\n',
        'migrations/0004_after.down.sql': 'ALTER TABLE tasks DROP COLUMN note;\n',
      },
      'syntax,rollback',
    );
    expect(notNotice(report)).toEqual([
      'rollback/enum-label-kept/warning@0002',
      'rollback/down-not-restoring/error@0003',
      'rollback/reapply-failed/error@0003',
    ]);
    const kept = report.findings.find((f) => f.rule === 'enum-label-kept')!;
    expect(kept.hint).toContain("CREATE TYPE status_old AS ENUM ('new', 'done');");
    expect(report.migrations.map((m) => m.stages.rollback)).toEqual(['pass', 'warn', 'fail', 'pass']);
  });
});
