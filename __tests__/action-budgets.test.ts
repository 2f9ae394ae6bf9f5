import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveReportFiles } from '../src/action/report-files.js';
import { renderJson } from '../src/report/json.js';
import { bigReport, failingReport } from './report-fixtures.js';
import { makeRepo } from './support/fixtures.js';
import { runSourceAction } from './support/runner.js';

const MiB = 1024 * 1024;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** 5,000 findings, and on 40 of them a schema diff of 300 KB. */
function hugeReport() {
  const report = bigReport(5_000);
  const diff = Array.from({ length: 4_000 }, (_, i) => `${i % 2 ? '+' : '-'}  CREATE INDEX idx_${i} ON public.t USING btree (col_${i});`).join('\n');
  for (let i = 0; i < 200; i += 5) report.findings[i]!.detail = diff;
  return report;
}

describe('the action under budget (merge-reports, through the runner contract)', () => {
  it('keeps the summary under 1 MiB and prints 10 error lines, 10 warnings and one notice for 5,000 findings', async () => {
    const report = hugeReport();
    expect(bytes(renderJson(report))).toBeGreaterThan(10 * MiB);
    const root = makeRepo({ 'reports/shard-1.json': renderJson(report) });
    const run = await runSourceAction(
      { 'merge-reports': 'reports/*.json', 'report-json': 'out/merged.json', sarif: 'out/findings.sarif' },
      { workspace: root },
    );
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stdout.split('\n');
    // Annotations carry properties (`::error title=...,file=...::`); setFailed's line has none.
    const errors = lines.filter((l) => l.startsWith('::error ') && l.includes(',file='));
    const warnings = lines.filter((l) => l.startsWith('::warning ') && l.includes(',file='));
    const notices = lines.filter((l) => l.startsWith('::notice'));
    // 9 error annotations and setFailed's line: GitHub shows 10 errors a step and drops the rest.
    expect(errors).toHaveLength(9);
    expect(lines.filter((l) => l.startsWith('::error'))).toHaveLength(10);
    expect(warnings).toHaveLength(10);
    // Findings on one line share an annotation: the 9 error annotations and the 10 warning ones say several findings each.
    expect(notices).toEqual(['::notice::4839 more findings (924 errors, 1915 warnings, 2000 notices) are in the job summary and the JSON report']);
    // Most severe first: errors come before warnings, and the first is the earliest error.
    expect(lines.findIndex((l) => l.startsWith('::warning'))).toBeGreaterThan(lines.findIndex((l) => l.startsWith('::error')));
    expect(errors[0]).toMatch(/^::error title=[^,]*,file=db\/migrations\/0000_m\.up\.sql,line=1,col=1::/);
    expect(lines.filter((l) => l.startsWith('::error::'))).toEqual(['::error::migration-ci: 1000 errors in the migrations']);

    expect(bytes(run.summary)).toBeLessThan(MiB);
    expect(bytes(run.summary)).toBeLessThanOrEqual(1_000_000);
    expect(run.summary).toContain('## ❌ migration-ci: fail');
    expect(run.summary).toMatch(/✅ [\d,]+ more migrations without failures or warnings not listed/);
    expect(run.summary).toMatch(/_Details and hints of [\d,]+ findings not shown to keep this summary under GitHub's size limit; see the JSON report\._/);
    expect(run.summary).toContain('GitHub shows at most 10 annotations of each level per step');

    expect(run.outputs.verdict).toBe('fail');
    expect(run.outputs.errors).toBe('1000');
    expect(run.outputs.warnings).toBe('2000');
    expect(run.outputs.report).toBe(path.join(root, 'out/merged.json'));
    expect(run.outputs.sarif).toBe(path.join(root, 'out/findings.sarif'));
    expect(run.summary).toBe(`${run.summaryMarkdown}\n`); // the step summary gets a line break after it
    expect(JSON.parse(fs.readFileSync(path.join(root, 'out/merged.json'), 'utf8')).findings).toHaveLength(5_000);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'out/findings.sarif'), 'utf8')).runs[0].results).toHaveLength(5_000);
  });

  it('counts the closing error line in the budget: 10 errors print at most 10 ::error lines', async () => {
    const report = failingReport();
    const error = report.findings.find((f) => f.severity === 'error')!;
    report.findings = [
      ...report.findings.filter((f) => f.severity !== 'error'),
      ...Array.from({ length: 9 }, (_, i) => ({ ...error, line: error.line! + 10 * (i + 1) })),
      error,
    ];
    expect(report.findings.filter((f) => f.severity === 'error')).toHaveLength(10);
    const root = makeRepo({ 'reports/shard-1.json': renderJson(report) });
    const run = await runSourceAction({ 'merge-reports': 'reports/*.json' }, { workspace: root });
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stdout.split('\n');
    const errorLines = lines.filter((l) => l.startsWith('::error'));
    expect(errorLines).toHaveLength(10);
    expect(errorLines.at(-1)).toBe('::error::migration-ci: 10 errors in the migrations');
    // The earliest nine are annotated; the tenth is counted, and the summary lists it.
    expect(errorLines[0]).toMatch(/,file=db\/migrations\/0003_add_bio\.up\.sql,line=4,col=19::/);
    expect(lines.filter((l) => l.startsWith('::notice'))).toEqual(['::notice::2 more findings (1 errors, 0 warnings, 1 notices) are in the job summary and the JSON report']);
    expect(run.summary).toContain(':94:19');
  });

  it('cuts a huge diff in a summary that otherwise fits, with a note', async () => {
    const report = failingReport();
    report.findings[0]!.detail = 'x'.repeat(3 * MiB);
    const root = makeRepo({ 'r.json': renderJson(report) });
    const run = await runSourceAction({ 'merge-reports': 'r.json' }, { workspace: root });
    expect(run.code, run.stderr).toBe(1);
    expect(bytes(run.summary)).toBeLessThan(MiB);
    expect(run.summary).toContain('… (truncated)');
  });

  it('exits 2 naming the pattern when a shard report is missing', async () => {
    const root = makeRepo({ 'reports/shard-1.json': renderJson(failingReport()) });
    const run = await runSourceAction({ 'merge-reports': 'reports/shard-1.json\nreports/shard-2.json' }, { workspace: root });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('::error::migration-ci: merge-reports: reports/shard-2.json matches no report file');
  });
});

describe('resolveReportFiles', () => {
  it('expands *, ? and ** per line, in a stable order, and refuses a line that matches nothing', () => {
    const root = makeRepo({
      'reports/shard-1/report.json': '{}',
      'reports/shard-2/report.json': '{}',
      'reports/shard-10/report.json': '{}',
      'reports/shard-2/other.txt': '',
      'reports/.hidden/report.json': '{}',
      'single.json': '{}',
    });
    const rel = (files: string[]) => files.map((f) => path.relative(root, f));
    expect(rel(resolveReportFiles(root, ['reports/*/report.json']))).toEqual(['reports/shard-1/report.json', 'reports/shard-10/report.json', 'reports/shard-2/report.json']);
    expect(rel(resolveReportFiles(root, ['reports/**/*.json', 'single.json', '']))).toEqual([
      'reports/shard-1/report.json',
      'reports/shard-10/report.json',
      'reports/shard-2/report.json',
      'single.json',
    ]);
    expect(rel(resolveReportFiles(root, ['reports/shard-?/report.json']))).toEqual(['reports/shard-1/report.json', 'reports/shard-2/report.json']);
    expect(rel(resolveReportFiles(root, [path.join(root, 'single.json')]))).toEqual(['single.json']);
    expect(() => resolveReportFiles(root, ['reports/*.json'])).toThrow('merge-reports: reports/*.json matches no report file');
    expect(() => resolveReportFiles(root, ['  '])).toThrow('merge-reports names no report file');
  });
});
