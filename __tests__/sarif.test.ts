import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import type { Report } from '../src/report/model.js';
import { describeRule, RULES } from '../src/report/rules.js';
import { MAX_SARIF_RESULTS, renderSarif } from '../src/report/sarif.js';
import { bigReport, failingReport, passingReport, statementsReport } from './report-fixtures.js';
import { makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

// The SARIF 2.1.0 schema (OASIS, as published for 2.1.0 rtm.5), vendored from the MIT-licensed
// @microsoft/jest-sarif package so the test runs offline.
const schema = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures/sarif-schema-2.1.0.json'), 'utf8'));
// The schema is JSON Schema draft-04, which needs ajv's draft-04 build (dev dependencies
// ajv-draft-04 and ajv-formats); imported by name so a missing package fails here, saying so.
const validatorModules = ['ajv-draft-04', 'ajv-formats'];
const { default: Ajv } = await import(validatorModules[0]!);
const { default: addFormats } = await import(validatorModules[1]!);
// unicodeRegExp off: the schema's `language` pattern has a stray `]` that only a unicode RegExp rejects.
const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
addFormats(ajv);
const validate: ((data: unknown) => boolean) & { errors?: unknown } = ajv.compile(schema);

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: Array<{ physicalLocation: { artifactLocation: { uri: string; uriBaseId: string }; region?: { startLine: number; startColumn?: number } } }>;
  partialFingerprints: Record<string, string>;
}
interface SarifRun {
  tool: { driver: { name: string; version?: string; rules: Array<{ id: string; shortDescription: { text: string }; fullDescription: { text: string }; help: { text: string }; defaultConfiguration: { level: string } }> } };
  originalUriBaseIds?: Record<string, { uri: string }>;
  invocations: Array<{ executionSuccessful: boolean; toolExecutionNotifications?: Array<{ level: string; message: { text: string }; descriptor?: { id: string } }> }>;
  results: SarifResult[];
}

function sarifOf(report: Report, opts: Parameters<typeof renderSarif>[1] = {}): { log: { version: string; runs: SarifRun[] }; run: SarifRun } {
  const text = renderSarif(report, opts);
  const log = JSON.parse(text);
  const ok = validate(log);
  expect(ok ? [] : validate.errors).toEqual([]);
  return { log, run: log.runs[0] };
}

describe('renderSarif', () => {
  it('is checked by a validator that does reject a broken log', () => {
    const log = JSON.parse(renderSarif(failingReport()));
    expect(validate(log)).toBe(true);
    log.runs[0].results[0].level = 'notice';
    expect(validate(log)).toBe(false);
    delete log.runs[0].results[0].level;
    log.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0;
    expect(validate(log)).toBe(false);
  });

  it('is valid SARIF 2.1.0 with one result per finding, located in the repository', () => {
    const { log, run } = sarifOf(failingReport(), { toolVersion: '0.1.0', srcRoot: '/home/runner/work/app' });
    expect(log.version).toBe('2.1.0');
    expect(run.tool.driver.name).toBe('migration-ci');
    expect(run.tool.driver.version).toBe('0.1.0');
    expect(run.originalUriBaseIds).toEqual({ '%SRCROOT%': { uri: 'file:///home/runner/work/app/' } });
    expect(run.results).toHaveLength(failingReport().findings.length);
    const apply = run.results.find((r) => r.ruleId === 'syntax/apply-failed')!;
    expect(apply.level).toBe('error');
    expect(apply.message.text).toBe('syntax error at or near "AERT"\n\nHint: did you mean ALTER?');
    expect(apply.locations).toEqual([
      {
        physicalLocation: {
          artifactLocation: { uri: 'db/migrations/0003_add_bio.up.sql', uriBaseId: '%SRCROOT%' },
          region: { startLine: 4, startColumn: 19 },
        },
      },
    ]);
    const drift = run.results.find((r) => r.ruleId === 'rollback/schema-drift')!;
    expect(drift.level).toBe('warning');
    expect(drift.message.text).toContain('schema after up + down:');
    const notReached = run.results.find((r) => r.ruleId === 'syntax/not-reached')!;
    expect(notReached.level).toBe('note');
    // A file without a line is an artifact-level location.
    expect(notReached.locations[0]!.physicalLocation.region).toBeUndefined();
    // Most severe first, like every other renderer.
    expect(run.results.map((r) => r.level)).toEqual(['error', 'error', 'warning', 'note']);
  });

  it('has one rule per check, with a help text, referenced by index', () => {
    const { run } = sarifOf(failingReport());
    const rules = run.tool.driver.rules;
    expect(rules.map((r) => r.id).sort()).toEqual(['rollback/missing-down', 'rollback/schema-drift', 'syntax/apply-failed', 'syntax/not-reached']);
    for (const r of run.results) expect(rules[r.ruleIndex]!.id).toBe(r.ruleId);
    const missingDown = rules.find((r) => r.id === 'rollback/missing-down')!;
    expect(missingDown.shortDescription.text).toBe('The migration has no down migration');
    expect(missingDown.help.text).toMatch(/allow-irreversible/);
    expect(missingDown.defaultConfiguration.level).toBe('error');
    // A rule the catalogue does not know still gets a rule with a help text.
    const unknown = rules.find((r) => r.id === 'rollback/schema-drift')!;
    expect(unknown.shortDescription.text).toBe('Schema drift');
    expect(unknown.help.text.length).toBeGreaterThan(20);
  });

  it('places a finding without a file on its migration, and one without either on the run', () => {
    const report = passingReport();
    report.findings.push(
      { stage: 'data', severity: 'error', rule: 'test-command-failed', migration: '0002', message: 'npm test exited with 1' },
      { stage: 'performance', severity: 'notice', rule: 'not-measured', message: 'not measured because 0001 could not be applied: 0002' },
    );
    const { run } = sarifOf(report);
    const cmd = run.results.find((r) => r.ruleId === 'data/test-command-failed')!;
    expect(cmd.locations[0]!.physicalLocation).toEqual({ artifactLocation: { uri: 'db/migrations/0002_add_bio.up.sql', uriBaseId: '%SRCROOT%' } });
    expect(run.results.some((r) => r.ruleId.endsWith('not-measured'))).toBe(false);
    expect(run.invocations[0]!.toolExecutionNotifications).toEqual([
      { level: 'note', message: { text: 'not measured because 0001 could not be applied: 0002' }, descriptor: { id: 'performance/not-measured' } },
    ]);
    // Every result has a location: code scanning rejects the whole file otherwise.
    expect(run.results.every((r) => r.locations.length === 1 && r.locations[0]!.physicalLocation.artifactLocation.uri !== '')).toBe(true);
  });

  it('encodes paths as URI references and keeps fingerprints stable when lines and timings change', () => {
    const report = statementsReport();
    report.findings[0]!.file = 'db/my migrations/2024#1 ü.up.sql';
    const { run } = sarifOf(report);
    expect(run.results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe('db/my%20migrations/2024%231%20%C3%BC.up.sql');
    const moved = statementsReport();
    moved.findings[0]!.file = report.findings[0]!.file;
    moved.findings[0]!.line = 30;
    moved.findings[0]!.message = moved.findings[0]!.message.replace('500,000', '400,000');
    const again = sarifOf(moved).run;
    expect(again.results[0]!.partialFingerprints).toEqual(run.results[0]!.partialFingerprints);
    const other = statementsReport();
    other.findings[0]!.rule = 'column-type-rewrite';
    expect(sarifOf(other).run.results[0]!.partialFingerprints).not.toEqual(sarifOf(statementsReport()).run.results[0]!.partialFingerprints);
  });

  it('stays valid with 5,000 findings with long details, and caps the results code scanning accepts', () => {
    const { run } = sarifOf(bigReport(5_000));
    expect(run.results).toHaveLength(5_000);
    expect(run.tool.driver.rules).toHaveLength(3);
    const huge = bigReport(MAX_SARIF_RESULTS + 10);
    const capped = JSON.parse(renderSarif(huge)).runs[0] as SarifRun;
    expect(capped.results).toHaveLength(MAX_SARIF_RESULTS);
    expect(capped.invocations[0]!.toolExecutionNotifications!.at(-1)!.message.text).toMatch(/^10 findings left out/);
  });
});

describe('rule catalogue', () => {
  it('describes every rule the engine reports, each with a title and a help text', () => {
    const emitted = new Set<string>();
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.includes(`${path.sep}report${path.sep}`)) {
          const src = fs.readFileSync(p, 'utf8');
          for (const m of src.matchAll(/\brule: '([a-z][a-z0-9-]*)'/g)) emitted.add(m[1]!);
          for (const m of src.matchAll(/'([a-z][a-z0-9-]*)',\s*'(?:error|warning|notice)'/g)) emitted.add(m[1]!);
        }
      }
    };
    walk(path.join(repoRoot, 'src'));
    expect(emitted.size).toBeGreaterThan(5);
    const known = new Set(RULES.map((r) => r.id));
    expect([...emitted].filter((r) => !known.has(r))).toEqual([]);
    for (const r of RULES) {
      expect(r.title.length).toBeGreaterThan(5);
      expect(r.help.length).toBeGreaterThan(40);
    }
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  });

  it('falls back to a generic description for a rule it does not know', () => {
    expect(describeRule('foreign-key-without-index', 'performance', 'warning')).toMatchObject({
      id: 'foreign-key-without-index',
      stage: 'performance',
      severity: 'warning',
      title: 'Foreign key without index',
    });
  });
});

describe.each(servers())('--sarif on $name', ({ url }) => {
  it('writes a valid SARIF file for a real failing run', async () => {
    const out = path.join(makeRepo({}), 'out/findings.sarif');
    let stderr = '';
    const code = await runCli(['--dir', 'examples/broken', '--database-url', url, '--stages', 'syntax', '--sarif', out], {
      cwd: repoRoot,
      env: {},
      stdout: () => {},
      stderr: (t) => (stderr += t),
      isTTY: false,
    });
    expect(code, stderr).toBe(1);
    const log = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(validate(log) ? [] : validate.errors).toEqual([]);
    const results = log.runs[0].results as SarifResult[];
    const parse = results.find((r) => r.ruleId === 'syntax/parse-error')!;
    expect(parse.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'examples/broken/0003_add_plan.up.sql', uriBaseId: '%SRCROOT%' },
      region: { startLine: 4, startColumn: 22 },
    });
    expect(log.runs[0].originalUriBaseIds['%SRCROOT%'].uri).toBe(`${pathToHref(repoRoot)}/`);
  });
});

function pathToHref(p: string): string {
  return new URL(`file://${p}`).href.replace(/\/$/, '');
}
