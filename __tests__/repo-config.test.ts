import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runCli } from '../src/cli/main.js';
import { buildConfig } from '../src/config.js';
import { isInputError } from '../src/errors.js';
import { knownRules, parseRepoConfig, REPO_CONFIG_OPTIONS } from '../src/repo-config.js';
import { applyRuleLevels, ruleLevels } from '../src/report/severities.js';
import type { Finding } from '../src/report/model.js';
import { makeRepo, repoRoot } from './support/fixtures.js';
import { runSourceAction } from './support/runner.js';
import { servers } from './support/servers.js';

function usageError(text: string): { message: string; line: number | undefined } {
  try {
    parseRepoConfig(text, '.migration-ci.yml');
  } catch (e) {
    if (isInputError(e) && e.kind === 'usage') return { message: e.message, line: e.line };
    throw e;
  }
  throw new Error('expected a usage error');
}

describe('parseRepoConfig', () => {
  it('reads committable inputs and rule levels, globally and per path glob', () => {
    const c = parseRepoConfig(
      [
        '# yaml-language-server: $schema=./migration-ci.schema.json',
        'dir: db/migrations',
        'format: golang-migrate',
        'ignore: [audit_*, pgboss]',
        'critical-tables: [users, billing.invoices]',
        'perf-threshold-ms: 5000',
        'stages: [syntax, rollback]',
        'rules:',
        '  too-slow: warning',
        '  table-rewrite: error',
        'overrides:',
        '  - files: ["migrations/legacy/**"]',
        '    rules:',
        '      missing-lock-timeout: off',
      ].join('\n'),
      '.migration-ci.yml',
    );
    expect(c.options).toEqual({ dir: 'db/migrations', format: 'golang-migrate', ignore: ['audit_*', 'pgboss'], perfThresholdMs: '5000', stages: 'syntax,rollback' });
    expect(c.criticalTables).toEqual(['users', 'billing.invoices']);
    expect(c.rules).toEqual([
      { rule: 'too-slow', level: 'warning' },
      { rule: 'table-rewrite', level: 'error' },
      { rule: 'missing-lock-timeout', level: 'off', files: ['migrations/legacy/**'] },
    ]);
  });

  it('names the key and its line for anything it does not know', () => {
    expect(usageError('dir: db\nperf-treshold-ms: 5000\n')).toEqual({
      message: expect.stringMatching(/^unknown key "perf-treshold-ms"; the keys are \$schema, dir, format/),
      line: 2,
    });
    expect(usageError('rules:\n  missing-lock-timout: off\n')).toMatchObject({ message: expect.stringContaining('unknown rule "missing-lock-timout" in rules'), line: 2 });
    expect(usageError('rules:\n  too-slow: loud\n').message).toBe('rules.too-slow must be one of off, notice, warning, error, got "loud"');
    expect(usageError('overrides:\n  - rules: { too-slow: off }\n').message).toBe('overrides[0] needs files: the path globs it applies to');
    expect(usageError('overrides:\n  - files: [a]\n    rule: { too-slow: off }\n')).toMatchObject({ message: expect.stringContaining('unknown key "rule" in overrides[0]'), line: 3 });
    expect(usageError('database-url: postgres://x\n').message).toMatch(/^unknown key "database-url"/);
    expect(usageError('dir: [a\n').message).toMatch(/^not valid YAML/);
  });

  it('an empty file is no settings', () => {
    expect(parseRepoConfig('', 'x').rules).toEqual([]);
    expect(parseRepoConfig('# nothing yet\n', 'x').options).toEqual({});
  });
});

describe('rule levels', () => {
  const f = (rule: string, file: string, severity: Finding['severity'] = 'warning'): Finding => ({ stage: 'performance', severity, rule, migration: '1', file, line: 1, message: 'm' });
  it('the last matching setting wins; off drops the finding', () => {
    const levelOf = ruleLevels([
      { rule: 'missing-lock-timeout', level: 'error' },
      { rule: 'missing-lock-timeout', level: 'off', files: ['migrations/legacy/**'] },
    ]);
    const { findings, changed } = applyRuleLevels([f('missing-lock-timeout', 'migrations/legacy/1.up.sql'), f('missing-lock-timeout', 'migrations/1.up.sql'), f('too-slow', 'migrations/legacy/1.up.sql', 'error')], levelOf);
    expect(findings.map((x) => `${x.rule}:${x.file}:${x.severity}`)).toEqual(['missing-lock-timeout:migrations/1.up.sql:error', 'too-slow:migrations/legacy/1.up.sql:error']);
    expect([...changed]).toEqual(['1']);
  });
});

describe('buildConfig with a config file', () => {
  it('takes what flags leave out from the file, and a bad key is bad usage naming it', () => {
    const root = makeRepo({ '.migration-ci.yml': 'dir: db/sql\nperf-rows: 2000\ncritical-tables: [users]\n' });
    const c = buildConfig(root, { databaseUrl: 'postgres://x@h/db', perfRows: '300' });
    expect(c.dir).toBe(`${root}/db/sql`);
    expect(c.perfRows).toBe(300);
    expect(c.criticalTables).toEqual(['users']);
    const bad = makeRepo({ '.migration-ci.yml': 'dir: db/sql\nstagse: syntax\n' });
    expect(() => buildConfig(bad, { databaseUrl: 'postgres://x@h/db' })).toThrow(/unknown key "stagse"/);
  });
});

/** A legacy migration that takes AccessExclusiveLock on a populated table without a lock_timeout. */
function legacyRepo(config: string): string {
  const migrations = {
    '0001_users.up.sql': 'CREATE TABLE users (id bigint PRIMARY KEY, name text);\n',
    '0001_users.down.sql': 'DROP TABLE users;\n',
    '0002_bio.up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
    '0002_bio.down.sql': 'ALTER TABLE users DROP COLUMN bio;\n',
  };
  const files: Record<string, string> = { '.migration-ci.yml': config };
  for (const [name, text] of Object.entries(migrations)) {
    files[`migrations/legacy/${name}`] = text;
    files[`migrations/current/${name}`] = text;
  }
  return makeRepo(files);
}

const LEGACY_OFF = ['dir: migrations/legacy', 'perf-rows: 2000', 'stages: [syntax, performance]', 'overrides:', '  - files: ["migrations/legacy/**"]', '    rules:', '      missing-lock-timeout: off', ''].join('\n');

async function cli(args: string[], cwd: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { cwd, env: {}, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

describe.each(servers().slice(0, 1))('the config file in both front ends ($name)', ({ url }) => {
  it('CLI: missing-lock-timeout is off for migrations/legacy/** and still on elsewhere', async () => {
    const root = legacyRepo(LEGACY_OFF);
    const legacy = await cli(['--database-url', url, '--report-json', 'legacy.json'], root);
    expect(legacy.code, legacy.stderr).toBe(0);
    const read = async (name: string) => JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(`${root}/${name}`, 'utf8'))) as { findings: Finding[] };
    expect((await read('legacy.json')).findings.map((f) => f.rule)).not.toContain('missing-lock-timeout');
    // The flag overrides the file's dir; the override's glob no longer matches.
    const current = await cli(['--database-url', url, '--dir', 'migrations/current', '--report-json', 'current.json'], root);
    expect(current.code, current.stderr).toBe(0);
    expect((await read('current.json')).findings.map((f) => `${f.rule} ${f.file}`)).toContain('missing-lock-timeout migrations/current/0002_bio.up.sql');
  });

  it('CLI: a bad key is exit 2 naming the key and its line', async () => {
    const root = legacyRepo('dir: migrations/legacy\nrulez:\n  too-slow: off\n');
    const run = await cli(['--database-url', url], root);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^migration-ci: \.migration-ci\.yml:2: unknown key "rulez"; the keys are /);
  });

  it('action: the same file works, with action.yml defaults filled in as the runner does', async () => {
    const root = legacyRepo(LEGACY_OFF);
    // The runner passes every input, at its default when the workflow leaves it out.
    const defaults = { 'migrations-dir': 'migrations', stages: 'syntax,rollback,data,performance,dependencies', 'perf-rows': '500000', 'perf-threshold-ms': '10000', format: 'auto' };
    const run = await runSourceAction({ ...defaults, 'database-url': url }, { workspace: root });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(run.reportText!) as { findings: Finding[]; stages: Array<{ name: string }> };
    expect(report.stages.map((s) => s.name)).toEqual(['syntax', 'performance']);
    expect(report.findings.map((f) => f.rule)).not.toContain('missing-lock-timeout');
    const current = await runSourceAction({ ...defaults, 'database-url': url, 'migrations-dir': 'migrations/current' }, { workspace: root });
    expect(JSON.parse(current.reportText!).findings.map((f: Finding) => f.rule)).toContain('missing-lock-timeout');

    const bad = await runSourceAction({ ...defaults, 'database-url': url }, { workspace: legacyRepo('overrides:\n  - files: [x]\n    rules: { nope: off }\n') });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/::error::migration-ci: \.migration-ci\.yml:3: unknown rule "nope"/);
  });
});

describe('the JSON Schema editors read', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'migration-ci.schema.json'), 'utf8'));
  it('lists exactly the keys and rules the parser takes', () => {
    expect(Object.keys(schema.properties)).toEqual(['$schema', ...REPO_CONFIG_OPTIONS, 'rules', 'overrides']);
    // Out of date: npx tsx scripts/write-config-schema.ts
    expect(Object.keys(schema.properties.rules.properties).sort()).toEqual(knownRules().sort());
  });

  it('accepts what the parser accepts and refuses a bad key', () => {
    const validate = new Ajv({ strict: false }).compile(schema);
    const good = YAML.parse('dir: db\nperf-rows: 2000\nstages: [syntax]\nrules: { too-slow: warning }\noverrides:\n  - files: ["migrations/legacy/**"]\n    rules: { missing-lock-timeout: off }\n');
    expect(validate(good), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ 'perf-treshold-ms': 1 })).toBe(false);
    expect(validate({ rules: { 'too-slow': 'loud' } })).toBe(false);
  });
});
