import { describe, expect, it } from 'vitest';
import {
  formatProgress,
  visibleLength,
  formatWorkflowCommand,
  renderJson,
  renderSummary,
  renderTerminal,
  selectAnnotations,
  type Annotation,
  type Report,
} from '../src/report/index.js';
import { bigReport, failingReport, manyFindings, passingReport, statementsReport } from './report-fixtures.js';

const MiB = 1_048_576;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
/** `|` that GFM treats as a cell separator (not backslash-escaped). */
const cellPipes = (line: string) => (line.match(/(?<!\\)\|/g) ?? []).length;

describe('file snapshots', () => {
  const cases: Array<[string, () => Report]> = [
    ['pass', passingReport],
    ['fail', failingReport],
    ['statements', statementsReport],
  ];
  it.each(cases)('summary %s', async (name, make) => {
    await expect(renderSummary(make())).toMatchFileSnapshot(`./__snapshots__/summary-${name}.md`);
  });
  it.each(cases)('terminal %s', async (name, make) => {
    await expect(renderTerminal(make(), { color: false })).toMatchFileSnapshot(`./__snapshots__/terminal-${name}.txt`);
  });
  it.each(cases)('json %s', async (name, make) => {
    await expect(renderJson(make())).toMatchFileSnapshot(`./__snapshots__/report-${name}.json`);
  });
  it('summary with capped annotations', async () => {
    const report = failingReport();
    const text = renderSummary(report, {
      title: 'migrations (pg 17)',
      annotationsOmitted: { error: 3, warning: 1, notice: 0 },
    });
    expect(text).toContain('3 errors and 1 warning were not annotated');
    await expect(text).toMatchFileSnapshot('./__snapshots__/summary-annotations-capped.md');
  });
});

describe('renderJson', () => {
  it('follows the version 1 contract', () => {
    const text = renderJson(failingReport());
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "verdict": "fail"'); // 2-space indent
    const j = JSON.parse(text);
    expect(Object.keys(j)).toEqual(['version', 'verdict', 'postgres', 'migrations', 'stages', 'findings', 'statements']);
    expect(j.version).toBe(1);
    expect(j.postgres).toBe('17.10');
    expect(j.migrations[1]).toEqual({
      version: '0002',
      name: 'add_status',
      up: 'db/migrations/0002_add_status.up.sql',
      down: 'db/migrations/0002_add_status.down.sql',
      underTest: true,
      stages: { syntax: 'pass', rollback: 'warn', data: 'pass', performance: 'skip' },
    });
    expect('down' in j.migrations[3]).toBe(false);
    expect(j.stages[0]).toEqual({ name: 'syntax', status: 'fail', durationMs: 41 });
    // Sorted: errors first; keys in contract order; undefined fields omitted.
    expect(j.findings[0]).toEqual({
      stage: 'syntax',
      severity: 'error',
      rule: 'apply-failed',
      migration: '0003',
      file: 'db/migrations/0003_add_bio.up.sql',
      line: 4,
      column: 19,
      message: 'syntax error at or near "AERT"',
      hint: 'did you mean ALTER?',
      excerpt: { line: 2, text: "ALTER TABLE users ADD COLUMN bio text;\n\nALTER TABLE users AERT COLUMN bio SET DEFAULT '';" },
    });
    expect(Object.keys(j.findings[0])).toEqual(['stage', 'severity', 'rule', 'migration', 'file', 'line', 'column', 'message', 'hint', 'excerpt']);
    expect(j.findings.map((f: { severity: string }) => f.severity)).toEqual(['error', 'error', 'warning', 'notice']);
    expect(j.statements).toEqual([]);
  });

  it('key order does not depend on how the model was built', () => {
    const a = statementsReport();
    const b = JSON.parse(JSON.stringify(a)) as Report;
    // Every key of every statement (and of its locks and holds) in reverse order.
    const reversed = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    b.statements = b.statements.map((s) =>
      reversed({
        ...s,
        locks: s.locks.map(reversed),
        ...(s.holds ? { holds: s.holds.map(reversed) } : {}),
      }),
    );
    expect(Object.keys(b.statements[1]!)[0]).not.toBe('migration');
    expect(renderJson(b)).toBe(renderJson(a));
    const j = JSON.parse(renderJson(a));
    expect(j.statements[1]).toEqual({
      migration: '20240301090000',
      file: 'db/migrations/20240301090000_orders_add_total.up.sql',
      line: 3,
      column: 1,
      head: 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2)',
      durationMs: 6112.7,
      locks: [{ relation: 'orders', mode: 'AccessExclusiveLock' }],
      rewrites: ['orders'],
      rebuiltIndexes: ['orders_pkey'],
      rows: 500_000,
      projectedMs: 122_254,
      productionRows: 10_000_000,
      holds: [{ relation: 'orders', mode: 'AccessExclusiveLock', blocks: 'reads', ms: 6924.7, projectedMs: 138_494, untilLine: 5 }],
    });
    expect(Object.keys(j.statements[1])).toEqual([
      'migration',
      'file',
      'line',
      'column',
      'head',
      'durationMs',
      'locks',
      'rewrites',
      'rebuiltIndexes',
      'rows',
      'projectedMs',
      'productionRows',
      'holds',
    ]);
    expect(Object.keys(j.statements[1].holds[0])).toEqual(['relation', 'mode', 'blocks', 'ms', 'projectedMs', 'untilLine']);
    // Fields the model leaves out stay out.
    expect(Object.keys(j.statements[0])).toEqual(['migration', 'file', 'line', 'column', 'head', 'durationMs', 'locks', 'rewrites']);
    expect(Object.keys(j.statements[1].locks[0])).toEqual(['relation', 'mode']);
  });
});

describe('renderSummary', () => {
  it('has the verdict heading, stage table and one mark per stage', () => {
    const text = renderSummary(failingReport());
    expect(text.startsWith('## ❌ migration-ci: fail\n')).toBe(true);
    expect(text).toContain('PostgreSQL 17.10');
    expect(text).toContain('| syntax | ❌ fail (2 of 3 reached) | 41 ms |');
    // A stage that reached only some migrations under test does not say pass.
    expect(text).toContain('| data | ◑ partial (1 of 3) | 310 ms |');
    expect(text).toContain('| performance | ➖ not run | — |');
    expect(text).toContain('| `0003` | add\\_bio | under test | ❌ | ➖ | ➖ | ➖ |');
    expect(text).toContain('| `0002` | add\\_status | under test | ✅ | ⚠️ | ✅ | ➖ |');
    expect(text.indexOf('### ❌ Errors (2)')).toBeLessThan(text.indexOf('### ⚠️ Warnings (1)'));
    // Findings come before every table; notices are folded.
    expect(text.indexOf('### ⚠️ Warnings (1)')).toBeLessThan(text.indexOf('| Stage |'));
    expect(text).toContain('<details><summary>ℹ️ Notices (1)</summary>');
    expect(text).toContain('`db/migrations/0003_add_bio.up.sql:4:19`');
    expect(renderSummary(passingReport()).startsWith('## ✅ migration-ci: pass\n')).toBe(true);
  });

  it('escapes user text so it can neither break a table nor inject HTML', () => {
    const report = failingReport();
    const evil = 'bad | name <script>alert(1)</script> `x` ';
    report.migrations[1]!.name = evil;
    report.findings[1]!.message = `near "|": <script>alert('x')</script> | <img src=x onerror=alert(1)>`;
    report.findings[1]!.hint = '</details><script>alert(2)</script>';
    report.findings[0]!.detail = '```\n</details>\n<script>alert(3)</script>\n```';
    report.statements = [
      { migration: '0002', file: 'a|b.sql', line: 1, durationMs: 1, head: 'UPDATE "x|y" SET a = 1', locks: [{ relation: 'x|y', mode: 'Share|Lock' }], rewrites: ['r|s'] },
    ];
    const text = renderSummary(report);

    // Outside fenced code blocks there is no raw HTML from user text.
    const outsideFences = text.replace(/^( *)(`{3,})text\n[\s\S]*?^\1\2$/gm, '');
    expect(outsideFences).not.toMatch(/<script|<img|<\/details><script/);
    expect(text).toContain('&lt;script&gt;');

    // Table rows keep their column count.
    const migRow = text.split('\n').find((l) => l.startsWith('| `0002`'))!;
    expect(migRow).toBeDefined();
    expect(cellPipes(migRow)).toBe(8); // Version, Name, Role + 4 stages
    const stmtRow = text.split('\n').find((l) => l.includes('a\\|b.sql'))!;
    expect(cellPipes(stmtRow)).toBe(4);

    // The detail holding ``` and </details> gets a longer fence, so it cannot close it.
    expect(text).toContain('  ````text\n  ```\n  </details>\n  <script>alert(3)</script>\n  ```\n  ````');
  });

  it('lists the statements worth a look, within GitHub\'s width', () => {
    const text = renderSummary(statementsReport());
    expect(text).toContain('| Statement | Time | Locks and rewrites | At production size |');
    expect(text).toContain(
      '| `20240301090000_orders_add_total.up.sql:3`<br>`ALTER TABLE orders ALTER COLUMN total T…` | 6.11 s | AccessExclusive on `orders`<br>rewrites `orders`<br>rebuilds `orders_pkey` | 2 min 02 s<br>10,000,000 rows |',
    );
    // Which migration keeps which table from being read or written, and for how long.
    expect(text).toContain('| `20240301090000` | `orders` | reads, writes (AccessExclusive) | lines 3–5 | 6.92 s | 2 min 18 s |');
    // Locks of a statement run outside a transaction are known, not observed.
    expect(text).toContain('ShareUpdateExclusive on `orders` (no transaction)');
    // A quick statement that rewrites nothing is counted, not listed.
    expect(text).toContain('1 statement took under 100 ms, rewrote nothing and held no blocking lock for long');
    // Without heads and projections, those columns are left out.
    const plain = statementsReport();
    plain.statements = plain.statements.map(({ head: _h, projectedMs: _p, productionRows: _r, holds: _x, ...rest }) => rest);
    const plainText = renderSummary(plain);
    expect(plainText).toContain('| Statement | Time | Locks and rewrites |\n| --- | ---: | --- |');
    expect(plainText).not.toContain('### Lock holds');
    expect(renderSummary(failingReport())).not.toContain('### Statements');
  });

  it('leaves out lock holds and statements that are quick, and folds long tables', () => {
    const report = statementsReport();
    const quick = { migration: '0002', file: 'db/0002.up.sql', line: 1, durationMs: 1.2, locks: [{ relation: 'users', mode: 'AccessExclusiveLock' }], rewrites: [], holds: [{ relation: 'users', mode: 'AccessExclusiveLock', blocks: 'reads' as const, ms: 1.2, untilLine: 1 }] };
    report.statements = Array.from({ length: 15 }, (_, i) => ({ ...quick, line: i + 1 }));
    const text = renderSummary(report);
    expect(text).not.toContain('### Statements');
    expect(text).not.toContain('### Lock holds');
    expect(text).toContain('15 statements took each under 100 ms');
    const slow = statementsReport();
    slow.statements = Array.from({ length: 15 }, (_, i) => ({ ...slow.statements.find((x) => x.rewrites.length > 0)!, line: i + 1 }));
    expect(renderSummary(slow)).toContain('<details><summary>15 statements</summary>');
  });

  it('shares the budget between findings, lock holds and statements when all are large', () => {
    const report = bigReport(2_000);
    const measured = statementsReport().statements[1]!;
    report.statements = Array.from({ length: 20_000 }, (_, i) => ({ ...measured, line: i + 1 }));
    for (const maxBytes of [1_000_000, 50_000]) {
      const text = renderSummary(report, { maxBytes });
      expect(bytes(text)).toBeLessThanOrEqual(maxBytes);
      const holdRows = (text.match(/^\| `20240301090000` \| `orders` \|/gm) ?? []).length;
      const stmtRows = (text.match(/^\| `20240301090000_orders_add_total\.up\.sql:\d+`<br>/gm) ?? []).length;
      expect(holdRows).toBeGreaterThan(0);
      expect(stmtRows).toBeGreaterThan(0);
      expect(text).toContain(`${(20_000 - holdRows).toLocaleString('en-US')} more lock holds not shown; see the JSON report.`);
      expect(text).toContain(`${(20_000 - stmtRows).toLocaleString('en-US')} more statements not shown; see the JSON report.`);
    }
  });

  it('stays under 1 MiB with 5,000 findings with 2 KB details and says how many details are not shown', () => {
    const report = bigReport(5_000);
    const text = renderSummary(report);
    expect(bytes(text)).toBeLessThan(MiB);
    expect(bytes(text)).toBeLessThanOrEqual(1_000_000);
    // Passing migrations are folded into one line, failing ones stay.
    expect(text).toContain('✅ 294 more migrations without failures or warnings not listed (196 under test, 98 baseline).');
    expect(text).toContain('| `0007` | migration\\_7 | baseline | ❌ |');
    // Short findings all fit once details are gone; details go from the least severe backwards.
    expect(text.split('\n').filter((l) => l.startsWith('- `db/migrations/')).length).toBe(5_000);
    const m = /_Details and hints of ([\d,]+) findings not shown to keep this summary under GitHub's size limit; see the JSON report\._/.exec(text);
    expect(m).not.toBeNull();
    const withDetails = (text.match(/<summary>Detail<\/summary>/g) ?? []).length;
    expect(withDetails).toBeGreaterThan(0);
    expect(withDetails + Number(m![1]!.replace(/,/g, ''))).toBe(2_500);
    expect(text).not.toContain('more findings not shown');
    expect(text).toContain('### ❌ Errors (1,000)');
  });

  it('cuts the findings list when even short findings do not fit, and says how many are not shown', () => {
    const report = bigReport(5_000);
    for (const f of report.findings) f.message += ` ${'long message text '.repeat(15)}`;
    const text = renderSummary(report);
    expect(bytes(text)).toBeLessThan(MiB);
    expect(bytes(text)).toBeLessThanOrEqual(1_000_000);
    const m = /\*\*([\d,]+) more findings not shown; see the JSON report\.\*\*/.exec(text);
    expect(m).not.toBeNull();
    const notShown = Number(m![1]!.replace(/,/g, ''));
    const shown = text.split('\n').filter((l) => l.startsWith('- `db/migrations/')).length;
    expect(shown).toBeGreaterThan(1_000);
    expect(notShown).toBeGreaterThan(0);
    expect(shown + notShown).toBe(5_000);
    // Most severe first: every error is listed before the cut.
    expect(text.indexOf('### ❌ Errors (1,000)')).toBeLessThan(text.indexOf('### ⚠️ Warnings (2,000)'));
    expect(bytes(text)).toBeGreaterThan(900_000); // the budget is used, not wasted
  });

  it('cuts details before findings, keeping details of the most severe first', () => {
    const report = bigReport(200, 10);
    const full = renderSummary(report, { maxBytes: 10_000_000 });
    expect(full).not.toContain('not shown');
    const budget = Math.floor(bytes(full) / 2);
    const text = renderSummary(report, { maxBytes: budget });
    expect(bytes(text)).toBeLessThanOrEqual(budget);
    expect(text).not.toContain('more findings not shown');
    expect(text).toMatch(/_Details and hints of [\d,]+ findings not shown/);
    // The first error keeps its detail; the last notice has none.
    const firstError = text.indexOf('- `db/migrations/0000_m.up.sql:1:1`');
    expect(text.slice(firstError, firstError + 400)).toContain('<details><summary>Detail</summary>');
    expect(text.indexOf('see the JSON report._')).toBeLessThan(text.indexOf('### Stages'));
  });

  it('never exceeds a small budget', () => {
    for (const maxBytes of [200, 2_000, 20_000, 200_000]) {
      const report = bigReport(2_000);
      report.statements = statementsReport().statements;
      expect(bytes(renderSummary(report, { maxBytes }))).toBeLessThanOrEqual(maxBytes);
    }
  });
});

describe('selectAnnotations', () => {
  it('keeps 10 errors and 10 warnings, most severe and earliest first, and counts the rest', () => {
    const report = bigReport(5_000);
    const { annotations, omitted } = selectAnnotations(report);
    const count = (level: Annotation['level']) => annotations.filter((a) => a.level === level).length;
    expect(count('error')).toBe(10);
    expect(count('warning')).toBe(10);
    // The rest is counted in one notice, which must not be an eleventh notice GitHub drops.
    expect(count('notice')).toBe(0);
    expect(annotations.length).toBe(20);
    // Findings on one line are one annotation: every finding is said once, or counted as left out.
    const said = annotations.reduce((n, a) => n + (a.findings ?? 0), 0);
    expect(said).toBeGreaterThan(20);
    expect(omitted.notice).toBe(2_000);
    expect(said + omitted.error + omitted.warning + omitted.notice).toBe(5_000);
    const lines = annotations.map((a) => `${a.file}:${a.startLine}`);
    expect(new Set(lines).size).toBe(lines.length);
    expect(annotations.slice(0, 10).every((a) => a.level === 'error')).toBe(true);
    // Earliest first: the errors are the ones in the first file, by line.
    expect(annotations[0]!.file).toBe('db/migrations/0000_m.up.sql');
    expect(annotations[0]!.startLine).toBe(1);
  });

  it('returns fewer notices when there are fewer, and nothing omitted then', () => {
    const report = passingReport();
    report.findings = manyFindings(25).filter((f) => f.severity !== 'notice').concat(manyFindings(10).filter((f) => f.severity === 'notice'));
    const { annotations, omitted } = selectAnnotations(report);
    expect(annotations.filter((a) => a.level === 'notice').length).toBe(4);
    expect(omitted).toEqual({ error: 0, warning: 0, notice: 0 });
  });

  it('builds title and message from the finding', () => {
    const { annotations } = selectAnnotations(failingReport());
    expect(annotations[0]).toEqual({
      level: 'error',
      title: 'The migration fails to apply (0003)',
      message: 'syntax error at or near "AERT"\nHint: did you mean ALTER?',
      file: 'db/migrations/0003_add_bio.up.sql',
      startLine: 4,
      startColumn: 19,
      findings: 1,
    });
    const warning = annotations.find((a) => a.level === 'warning')!;
    expect(warning.message.split('\n')).toEqual([
      'index users_status_idx is left behind',
      'schema before up:',
      '  (no index users_status_idx)',
      'schema after up + down:',
      '  CREATE INDEX users_status_idx ON public.users USING btree (status)',
      'Fix: DROP INDEX users_status_idx;',
      'Hint: add `DROP INDEX users_status_idx;` to the down migration',
    ]);
    // A finding without line has no line or column.
    const missingDown = annotations.find((a) => a.title.startsWith('The migration has no down migration'))!;
    expect(missingDown.file).toBe('db/migrations/0004_backfill_bio.up.sql');
    expect('startLine' in missingDown).toBe(false);
    expect('startColumn' in missingDown).toBe(false);
  });
});

describe('annotations of statements over several lines and stacked findings', () => {
  it('spans the statement with endLine, merges findings on one line, and points from the up to the down', () => {
    const report = failingReport();
    report.findings = [
      { stage: 'performance', severity: 'error', rule: 'too-slow', migration: '0002', file: 'db/0002.up.sql', line: 2, endLine: 5, column: 1, message: 'slow', detail: 'measured 12 s' },
      { stage: 'performance', severity: 'warning', rule: 'table-rewrite', migration: '0002', file: 'db/0002.up.sql', line: 2, endLine: 5, message: 'rewrites users', detail: 'measured 12 s' },
      { stage: 'rollback', severity: 'error', rule: 'down-not-restoring', migration: '0002', file: 'db/0002.down.sql', line: 1, message: 'index i is left behind', fix: 'DROP INDEX i;', related: { file: 'db/0002.up.sql', line: 7, message: 'the down of 0002 does not undo this' } },
    ];
    const { annotations, omitted } = selectAnnotations(report);
    expect(omitted).toEqual({ error: 0, warning: 0, notice: 0 });
    const up = annotations.find((a) => a.file === 'db/0002.up.sql' && a.startLine === 2)!;
    expect(up).toMatchObject({ level: 'error', endLine: 5, findings: 2, title: expect.stringMatching(/ \(0002\) and 1 more$/) });
    expect('startColumn' in up).toBe(false);
    // The measured number once, though both findings carry it.
    expect(up.message.split('\n')).toEqual(['error: slow', 'warning: rewrites users', 'measured 12 s']);
    expect(formatWorkflowCommand(up)).toMatch(/^::error file=db\/0002\.up\.sql,line=2,endLine=5,title=/);
    const down = annotations.find((a) => a.file === 'db/0002.down.sql')!;
    expect(down.message).toBe('index i is left behind\nFix: DROP INDEX i;');
    expect(annotations.find((a) => a.startLine === 7)).toEqual({ level: 'notice', title: 'Not undone by the down (0002)', message: 'the down of 0002 does not undo this: see db/0002.down.sql:1', file: 'db/0002.up.sql', startLine: 7, findings: 0 });
  });
});

describe('formatWorkflowCommand', () => {
  it('prints the exact runner command', () => {
    const { annotations } = selectAnnotations(failingReport());
    expect(formatWorkflowCommand(annotations[0]!)).toBe(
      '::error file=db/migrations/0003_add_bio.up.sql,line=4,col=19,title=The migration fails to apply (0003)::syntax error at or near "AERT"%0AHint: did you mean ALTER?',
    );
  });

  it('escapes properties and data like the runner', () => {
    expect(
      formatWorkflowCommand({
        level: 'warning',
        file: 'dir,with:odd%name.sql',
        startLine: 3,
        startColumn: 7,
        title: 'a: b, c 100%',
        message: 'x: 50%, y\r\nz,: done',
      }),
    ).toBe('::warning file=dir%2Cwith%3Aodd%25name.sql,line=3,col=7,title=a%3A b%2C c 100%25::x: 50%25, y%0D%0Az,: done');
    expect(formatWorkflowCommand({ level: 'notice', title: '', message: '100%' })).toBe('::notice::100%25');
    expect(formatWorkflowCommand({ level: 'error', title: 't', message: 'm', file: 'f.sql' })).toBe('::error file=f.sql,title=t::m');
  });
});

describe('terminal', () => {
  it('prints findings compiler-style, a stage table and a verdict line', () => {
    const text = renderTerminal(failingReport(), { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toBe('db/migrations/0003_add_bio.up.sql:4:19: error [syntax/apply-failed] syntax error at or near "AERT"');
    expect(lines[1]).toBe('    hint: did you mean ALTER?');
    expect(text).toContain('db/migrations/0002_add_status.down.sql:1:1: warning [rollback/schema-drift] index users_status_idx is left behind\n    schema before up:\n      (no index users_status_idx)\n');
    expect(text).toMatch(/^syntax {8}✖ fail \(2 of 3 reached\) +41 ms$/m);
    // Work a stage did not do is not called a pass.
    expect(text).toMatch(/^data {10}◑ partial \(1 of 3\) +310 ms$/m);
    expect(text).toMatch(/^performance   – not run +–$/m);
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '✖ migration-ci: fail — 2 errors, 1 warning, 1 notice · Postgres 17.10, 4 migrations (3 under test)',
    );
    expect(text).not.toContain('\u001b');
  });

  it('colours only when asked, and never lets user text drive the terminal', () => {
    const report = failingReport();
    report.findings[1]!.message = 'evil \u001b[2J\u001b]0;title\u0007 text';
    const plain = renderTerminal(report, { color: false });
    expect(plain).not.toContain('\u001b');
    expect(plain).toContain('evil \\u001b[2J\\u001b]0;title\\u0007 text');
    const colored = renderTerminal(report, { color: true });
    expect(colored).toContain('\u001b[31m');
    expect(colored).not.toContain('\u001b[2J');
  });

  it('does not let user text issue workflow commands when the CLI runs in a workflow', () => {
    const report = failingReport();
    report.findings[0]!.detail = 'ok\n::add-mask::secret\n  ::error::fake';
    const text = renderTerminal(report, { color: false });
    expect(text).toContain('    : :add-mask::secret\n      : :error::fake\n');
    expect(text.split('\n').some((l) => l.trimStart().startsWith('::'))).toBe(false);
    for (const color of [false, true]) {
      const line = formatProgress({ kind: 'info', message: '::stop-commands::x' }, { color });
      expect(line.replace(/\u001b\[[\d;]*m/g, '')).toBe(': :stop-commands::x');
    }
  });

  it('formats progress lines', () => {
    const opts = { color: false };
    expect(
      formatProgress({ kind: 'migration', stage: 'syntax', version: '0002', name: 'add_status', status: 'pass', durationMs: 12.34 }, opts),
    ).toBe('  syntax        ✔ pass          12 ms  0002 add_status');
    expect(
      formatProgress(
        { kind: 'migration', stage: 'performance', version: '0003', name: 'add_bio', status: 'fail', durationMs: 12_500, note: 'over 10 s' },
        opts,
      ),
    ).toBe('  performance   ✖ fail         12.5 s  0003 add_bio  over 10 s');
    expect(
      formatProgress({ kind: 'migration', stage: 'syntax', version: '0001', name: 'create_users', status: 'baseline', durationMs: 3 }, opts),
    ).toBe('  syntax        · baseline       3 ms  0001 create_users');
    expect(formatProgress({ kind: 'stage', stage: 'rollback', status: 'warn', durationMs: 1_250 }, opts)).toBe('▸ rollback: ⚠ warn in 1.25 s');
    expect(formatProgress({ kind: 'info', message: 'seeding 500,000 rows\ninto users' }, opts)).toBe('seeding 500,000 rows into users');
    const colored = formatProgress({ kind: 'stage', stage: 'syntax', status: 'fail', durationMs: 5 }, { color: true });
    expect(colored).toContain('\u001b[31m');
    // Wrapped to the terminal: continuation lines hang under the name.
    const narrow = formatProgress({ kind: 'migration', stage: 'performance', version: '0003', name: 'add_bio', status: 'pass', durationMs: 12, note: 'rows: users 500,000; fill 2,310 ms, first run 41 ms, timed run 160 ms' }, { color: false, width: 60 });
    for (const l of narrow.split('\n')) expect(l.length).toBeLessThanOrEqual(60);
    expect(narrow.split('\n')[1]).toMatch(/^ {15,}\S/);
  });

  it('wraps findings to the terminal width at words, with hanging indents, colour codes taking no room', () => {
    for (const width of [100, 60]) {
      for (const color of [false, true]) {
        const text = renderTerminal(failingReport(), { color, width });
        for (const line of text.split('\n')) expect(visibleLength(line), line).toBeLessThanOrEqual(width);
      }
    }
    const plain = renderTerminal(statementsReport(), { color: false, width: 60 }).split('\n');
    const head = plain.findIndex((l) => l.startsWith('db/migrations/20240301090000_orders_add_total.up.sql:3:1'));
    // The message goes on under the head, indented; no word is split.
    expect(plain[head + 1]).toMatch(/^ {4}\S/);
    expect(renderTerminal(statementsReport(), { color: false }).split('\n').some((l) => l.length > 100)).toBe(true);
  });
});
