import { STAGE_NAMES, type StageName } from '../config.js';
import { formatLocation, type AnnotationCounts } from './annotations.js';
import {
  countBySeverity,
  sortFindings,
  stageStatusWords,
  type Finding,
  type StageResult,
  type Report,
  type ReportMigration,
  type Severity,
  type StageStatus,
  type StatementMeasure,
} from './model.js';
import { formatBytes, formatDuration, plural } from './terminal.js';

export interface SummaryOptions {
  /** Shown in the heading; default `migration-ci`. */
  title?: string;
  /** Findings that got no annotation because GitHub caps them per level (see `selectAnnotations`). */
  annotationsOmitted?: AnnotationCounts;
  /** Upper bound of the whole summary in UTF-8 bytes; default `DEFAULT_SUMMARY_MAX_BYTES`. */
  maxBytes?: number;
  /** Where the files are at the commit under test; without it, locations are not links. */
  links?: SourceLinks;
}

/** The commit the run tested, on its server: `https://github.com`, `org/repo`, a sha. */
export interface SourceLinks {
  serverUrl: string;
  repository: string;
  sha: string;
}

/** GitHub refuses a job summary over 1 MiB; this leaves a margin for whatever else a step writes. */
export const DEFAULT_SUMMARY_MAX_BYTES = 1_000_000;

/** Longest message/name shown inline; the JSON report has the full text. */
const MAX_INLINE_CHARS = 1_000;
/** Longest detail or hint block shown. */
const MAX_BLOCK_CHARS = 20_000;

export const STATUS_MARK: Record<StageStatus, string> = { pass: '✅', fail: '❌', warn: '⚠️', skip: '➖' };
const PARTIAL_MARK = '◑';
/** Under the tables that use the marks. */
export const STATUS_LEGEND = `${STATUS_MARK.pass} passed · ${STATUS_MARK.warn} passed with warnings · ${STATUS_MARK.fail} failed · ${PARTIAL_MARK} reached only some migrations under test · ${STATUS_MARK.skip} not run or not reached`;
const SEVERITY_HEADING: Record<Severity, string> = {
  error: '❌ Errors',
  warning: '⚠️ Warnings',
  notice: 'ℹ️ Notices',
};
const SEVERITIES: Severity[] = ['error', 'warning', 'notice'];

// ---------------------------------------------------------------------------------------------
// Markdown escaping

/** Control characters other than tab and newline; they have no business in a summary. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max;
  // Do not split a surrogate pair.
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${s.slice(0, cut)}… (truncated)`;
}

/**
 * User text as inline markdown: one line, every character markdown or HTML would act on
 * escaped, so a message can neither break a table nor inject HTML, links or emphasis.
 * Safe both in table cells and in running text.
 */
export function escapeMarkdown(s: string): string {
  return truncate(s.replace(CONTROL, '').replace(/\s*[\r\n]+\s*/g, ' ').trim(), MAX_INLINE_CHARS)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~$]/g, '\\$&');
}

/** Markdown and HTML characters escaped, spacing kept as is (one line). */
function escapeRun(s: string): string {
  return s
    .replace(CONTROL, '')
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~$]/g, '\\$&');
}

/**
 * User text that may quote SQL between backticks, as inline markdown: the quoted parts as code
 * spans, the rest escaped. A message never shows a literal backslash-backtick.
 */
export function inlineText(s: string): string {
  const text = truncate(s.replace(CONTROL, '').replace(/\s*[\r\n]+\s*/g, ' ').trim(), MAX_INLINE_CHARS);
  const parts = text.split(/(`[^`]+`)/);
  return parts.map((p, i) => (i % 2 === 1 ? code(p.slice(1, -1), false) : escapeRun(p.replace(/`/g, "'")))).join('');
}

/**
 * User text as an inline code span: as many backticks around it as it needs, and in a table
 * `|` escaped (GFM splits cells before it parses code spans).
 */
export function code(s: string, inTable: boolean): string {
  let text = truncate(s.replace(CONTROL, '').replace(/\s*[\r\n]+\s*/g, ' ').trim(), MAX_INLINE_CHARS);
  if (text === '') return '';
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longestRun + 1);
  if (text.startsWith('`') || text.endsWith('`')) text = ` ${text} `;
  if (inTable) text = text.replace(/\|/g, '\\|');
  return `${fence}${text}${fence}`;
}

/** A fenced block whose fence no line of the text can close; a unified diff is highlighted as one. */
export function fenced(text: string, indent: string, lang?: string): string {
  const body = truncate(text.replace(CONTROL, '').replace(/\r\n?/g, '\n').replace(/\s+$/, ''), MAX_BLOCK_CHARS);
  const longestRun = Math.max(2, ...(body.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longestRun + 1);
  const language = lang ?? (/^--- .*\n\+\+\+ /.test(body) ? 'diff' : 'text');
  const lines = [fence + language, ...body.split('\n'), fence];
  return lines.map((l) => (l === '' ? '' : indent + l)).join('\n');
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function sum(xs: readonly number[], n = xs.length): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += xs[i] ?? 0;
  return t;
}

/** How many leading items fit in `budget` bytes. */
function fitting(sizes: readonly number[], budget: number): number {
  let used = 0;
  for (let i = 0; i < sizes.length; i++) {
    used += sizes[i] ?? 0;
    if (used > budget) return i;
  }
  return sizes.length;
}

// ---------------------------------------------------------------------------------------------
// Pieces

/** Stage columns of the migration table: the stages that ran, then any other a migration mentions. */
export function stageColumns(report: Report): StageName[] {
  const ordered: StageName[] = [];
  for (const s of report.stages) if (!ordered.includes(s.name)) ordered.push(s.name);
  const mentioned = new Set<StageName>();
  for (const m of report.migrations) for (const k of Object.keys(m.stages)) mentioned.add(k as StageName);
  for (const n of STAGE_NAMES) if (mentioned.has(n) && !ordered.includes(n)) ordered.push(n);
  // A stage this version does not know by name still gets its column.
  for (const n of mentioned) if (!ordered.includes(n)) ordered.push(n);
  return ordered;
}

function headSection(report: Report, title: string, omitted: AnnotationCounts | undefined): string {
  const mark = report.verdict === 'pass' ? '✅' : '❌';
  const c = countBySeverity(report.findings);
  const underTest = report.migrations.filter((m) => m.underTest).length;
  const otherShards = report.migrations.filter((m) => !m.underTest && m.shard !== undefined).length;
  const baseline = report.migrations.length - underTest - otherShards;
  const errors = plural(c.error, 'error');
  const roles = [
    `${underTest.toLocaleString('en-US')} under test${report.shard ? ` in shard ${report.shard.index}/${report.shard.total}` : ''}`,
    ...(otherShards > 0 ? [`${otherShards.toLocaleString('en-US')} tested by other shards`] : []),
    `${baseline.toLocaleString('en-US')} baseline`,
  ];
  const facts = [
    `PostgreSQL ${escapeMarkdown(report.postgres)}`,
    `${plural(report.migrations.length, 'migration')} (${roles.join(', ')})`,
    c.error > 0 ? `**${errors}**` : errors,
    plural(c.warning, 'warning'),
    plural(c.notice, 'notice'),
  ];
  let out = `## ${mark} ${escapeMarkdown(title)}: ${report.verdict}\n\n${facts.join(' · ')}\n\n`;
  if (omitted !== undefined) {
    const parts = SEVERITIES.filter((s) => omitted[s] > 0).map((s) => plural(omitted[s], s));
    const total = omitted.error + omitted.warning + omitted.notice;
    if (parts.length > 0) {
      out +=
        `> [!NOTE]\n> GitHub shows at most 10 annotations of each level per step: ` +
        `${joinAnd(parts)} ${total === 1 ? 'was' : 'were'} not annotated. ` +
        `All findings are listed below and in the JSON report.\n\n`;
    }
  }
  return out;
}

function joinAnd(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** What a stage did, said truthfully: `✅ pass`, `◑ partial (1 of 3)`, `➖ not run`. */
export function stageStatusText(report: Report, stage: StageResult): string {
  const { status, words } = stageStatusWords(report, stage);
  return `${status === 'partial' ? PARTIAL_MARK : STATUS_MARK[status]} ${words}`;
}

function stagesSection(report: Report): string {
  if (report.stages.length === 0) return '';
  const rows = report.stages.map((s) => {
    const text = stageStatusText(report, s);
    const notRun = text.startsWith(STATUS_MARK.skip) && s.durationMs === 0;
    return `| ${escapeMarkdown(s.name)} | ${text} | ${notRun ? '—' : formatDuration(s.durationMs)} |\n`;
  });
  return `### Stages\n\n| Stage | Status | Duration |\n| --- | --- | ---: |\n${rows.join('')}\n`;
}

export interface MigrationRow {
  text: string;
  passing: boolean;
  underTest: boolean;
}

export function migrationRow(m: ReportMigration, columns: readonly StageName[]): MigrationRow {
  const marks = columns.map((c) => STATUS_MARK[m.stages[c] ?? 'skip']);
  const passing = !columns.some((c) => m.stages[c] === 'fail' || m.stages[c] === 'warn');
  const role = m.underTest ? 'under test' : m.shard !== undefined ? `shard ${m.shard}` : 'baseline';
  const text = `| ${code(m.version, true)} | ${escapeMarkdown(m.name)} | ${role}${m.underTest && m.shard !== undefined ? ` (shard ${m.shard})` : ''} | ${marks.join(' | ')} |\n`;
  return { text, passing, underTest: m.underTest };
}

export function migrationsTableHeader(columns: readonly StageName[]): string {
  const names = ['Version', 'Name', 'Role', ...columns.map((c) => escapeMarkdown(c))];
  const align = ['---', '---', '---', ...columns.map(() => ':-:')];
  return `| ${names.join(' | ')} |\n| ${align.join(' | ')} |\n`;
}

/** `https://github.com/org/repo/blob/SHA/db/0002.up.sql#L2-L3`: the lines at the commit under test. */
export function sourceUrl(links: SourceLinks, file: string, line?: number, endLine?: number): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[()'!*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const server = links.serverUrl.replace(/\/+$/, '');
  const repo = links.repository.split('/').map(enc).join('/');
  const filePath = file.split('/').map(enc).join('/');
  const anchor = line === undefined ? '' : endLine !== undefined && endLine > line ? `#L${line}-L${endLine}` : `#L${line}`;
  return `${server}/${repo}/blob/${enc(links.sha)}/${filePath}${anchor}`;
}

/** How a finding renders: where links go, which excerpts were shown already. */
export interface FindingContext {
  links?: SourceLinks;
  /** `file:line` of excerpts already shown above: a later finding there does not repeat it. */
  shown?: Set<string>;
}

function locationText(f: Finding, ctx: FindingContext): string | undefined {
  const loc = formatLocation(f);
  if (loc === undefined) return undefined;
  const span = f.endLine !== undefined && f.line !== undefined && f.endLine > f.line ? `${f.file}:${f.line}-${f.endLine}` : loc;
  if (ctx.links === undefined || f.file === undefined) return code(span, false);
  return `[${code(span, false)}](${sourceUrl(ctx.links, f.file, f.line, f.endLine)})`;
}

function findingHead(f: Finding, ctx: FindingContext): string {
  const where: string[] = [];
  const loc = locationText(f, ctx);
  if (loc !== undefined) where.push(loc);
  if (f.migration !== undefined && (f.file === undefined || !f.file.includes(f.migration))) where.push(`migration ${code(f.migration, false)}`);
  where.push(code(`${f.stage}/${f.rule}`, false));
  return `- ${where.join(' · ')} — ${inlineText(f.message)}\n`;
}

/** A caret under `column` of the line it is on, in an excerpt with a line-number gutter. */
export function excerptBlock(f: Finding): string | undefined {
  const e = f.excerpt;
  if (e === undefined) return undefined;
  const lines = e.text.replace(CONTROL, '').split('\n');
  const last = e.line + lines.length - 1;
  const width = String(last).length;
  const out: string[] = [];
  lines.forEach((l, i) => {
    const n = e.line + i;
    out.push(`${String(n).padStart(width)} | ${l.replace(/\t/g, '    ')}`.trimEnd());
    if (n === f.line && f.column !== undefined && f.column > 1 && (f.rule === 'parse-error' || f.severity === 'error')) {
      // Columns count characters; tabs were widened above, so count them so too.
      const before = [...l].slice(0, f.column - 1).join('').replace(/\t/g, '    ');
      out.push(`${' '.repeat(width)} | ${' '.repeat([...before].length)}^`);
    }
  });
  return fenced(out.join('\n'), '  ', 'sql');
}

function findingExtra(label: string, text: string | undefined): string {
  if (text === undefined || text.trim() === '') return '';
  const t = text.replace(/\s+$/, '').replace(/^\s*\n/, '');
  if (!t.includes('\n')) return `  - **${label}:** ${inlineText(t)}\n`;
  return `\n  <details><summary>${label}</summary>\n\n${fenced(t, '  ')}\n\n  </details>\n\n`;
}

function fixBlock(f: Finding): string {
  if (f.fix === undefined || f.fix.trim() === '') return '';
  const where = f.file !== undefined ? ` (add to ${code(f.file.split('/').pop()!, false)})` : '';
  return `\n  **Fix**${where}:\n\n${fenced(f.fix, '  ', 'sql')}\n\n`;
}

function relatedLine(f: Finding, ctx: FindingContext): string {
  const r = f.related;
  if (r === undefined) return '';
  const loc = `${r.file}:${r.line}`;
  const link = ctx.links ? `[${code(loc, false)}](${sourceUrl(ctx.links, r.file, r.line)})` : code(loc, false);
  return `  - ${inlineText(r.message)}: ${link}\n`;
}

/**
 * One finding: what is wrong, where (a link to the lines at the commit), the statement, the fix;
 * with `withDetails`, also the detail and the hint.
 */
export function findingBlock(f: Finding, withDetails: boolean, ctx: FindingContext = {}): string {
  let out = findingHead(f, ctx);
  const key = f.file !== undefined && f.line !== undefined ? `${f.file}:${f.line}` : undefined;
  const excerpt = excerptBlock(f);
  if (excerpt !== undefined && (key === undefined || !ctx.shown?.has(key))) {
    out += `\n${excerpt}\n\n`;
    if (key !== undefined) ctx.shown?.add(key);
  }
  out += fixBlock(f) + relatedLine(f, ctx);
  if (!withDetails) return out;
  return out + findingExtra('Detail', f.detail) + findingExtra('Hint', f.hint);
}

export function hasExtra(f: Finding): boolean {
  return (f.detail !== undefined && f.detail.trim() !== '') || (f.hint !== undefined && f.hint.trim() !== '');
}

/** Below this, a statement or a lock is not worth a reviewer's look (unless it rewrites a table). */
export const WORTH_A_LOOK_MS = 100;

/** Slow, rewriting, or holding a blocking lock for a while: the statements the table lists. */
export function worthALook(s: StatementMeasure): boolean {
  if (s.rewrites.length > 0 || (s.rebuiltIndexes ?? []).length > 0) return true;
  if (Math.max(s.durationMs, s.projectedMs ?? 0) >= WORTH_A_LOOK_MS) return true;
  return (s.holds ?? []).some((h) => Math.max(h.ms, h.projectedMs ?? 0) >= WORTH_A_LOOK_MS);
}

function shortMode(mode: string): string {
  return mode.replace(/Lock$/, '');
}

function fileName(file: string): string {
  return file.split('/').pop() ?? file;
}

/** Longest SQL shown in a table cell: the column stays inside GitHub's content width. */
const MAX_HEAD_CHARS = 40;

function shortHead(head: string): string {
  return head.length > MAX_HEAD_CHARS ? `${head.slice(0, MAX_HEAD_CHARS - 1)}…` : head;
}

function statementsTableHeader(projected: boolean): string {
  const names = ['Statement', 'Time', 'Locks and rewrites', ...(projected ? ['At production size'] : [])];
  const align = ['---', '---:', '---', ...(projected ? ['---:'] : [])];
  return `| ${names.join(' | ')} |\n| ${align.join(' | ')} |\n`;
}

function statementRow(s: StatementMeasure, projected: boolean, links: SourceLinks | undefined): string {
  const outside = s.outsideTransaction ? ' (no transaction)' : '';
  const effects = [
    ...s.locks.map((l) => `${escapeMarkdown(shortMode(l.mode))} on ${code(l.relation, true)}${outside}`),
    ...(s.rewrites.length > 0 ? [`rewrites ${s.rewrites.map((r) => code(r, true)).join(', ')}`] : []),
    ...((s.rebuiltIndexes ?? []).length > 0 ? [`rebuilds ${s.rebuiltIndexes!.map((r) => code(r, true)).join(', ')}`] : []),
  ];
  const loc = code(`${fileName(s.file)}:${s.line}`, true);
  const where = links ? `[${loc}](${sourceUrl(links, s.file, s.line)})` : loc;
  const cells = [s.head !== undefined ? `${where}<br>${code(shortHead(s.head), true)}` : where, formatDuration(s.durationMs), effects.length > 0 ? effects.join('<br>') : '—'];
  if (projected) {
    const p = s.projectedMs !== undefined ? formatDuration(s.projectedMs) : '—';
    const size = s.productionBytes !== undefined ? `, ${formatBytes(s.productionBytes)}` : '';
    cells.push(s.productionRows !== undefined && s.projectedMs !== undefined ? `${p}<br>${s.productionRows.toLocaleString('en-US')} rows${size}` : p);
  }
  return `| ${cells.join(' | ')} |\n`;
}

/** Rows of the lock holds table: how long each migration keeps which table from being written (or read). */
function lockHoldRows(statements: readonly StatementMeasure[]): { rows: string[]; projected: boolean } {
  const rows: string[] = [];
  const worth = statements.flatMap((s) => (s.holds ?? []).filter((h) => Math.max(h.ms, h.projectedMs ?? 0) >= WORTH_A_LOOK_MS).map((h) => ({ s, h })));
  const projected = worth.some(({ h }) => h.projectedMs !== undefined);
  for (const { s, h } of worth) {
    const blocks = h.blocks === 'reads' ? 'reads, writes' : 'writes';
    const span = h.untilLine === s.line ? `line ${s.line}` : `lines ${s.line}–${h.untilLine}`;
    const cells = [code(s.migration, true), code(h.relation, true), `${blocks} (${escapeMarkdown(shortMode(h.mode))})`, span, formatDuration(h.ms)];
    if (projected) cells.push(h.projectedMs !== undefined ? formatDuration(h.projectedMs) : '—');
    rows.push(`| ${cells.join(' | ')} |\n`);
  }
  return { rows, projected };
}

const LOCK_HOLDS_INTRO =
  '### Lock holds\n\n' +
  'How long a table cannot be written (ShareLock and stronger) or even read (AccessExclusiveLock): ' +
  `from the statement that takes the lock to the commit that releases it; holds under ${WORTH_A_LOOK_MS} ms are not listed.\n\n`;

function lockHoldsHeader(projected: boolean): string {
  const names = ['Migration', 'Table', 'Blocks', 'Statements', 'Held', ...(projected ? ['At production size'] : [])];
  const align = ['---', '---', '---', '---', '---:', ...(projected ? ['---:'] : [])];
  return `| ${names.join(' | ')} |\n| ${align.join(' | ')} |\n`;
}

/** Tables longer than this many rows are folded. */
const OPEN_ROWS = 10;

function folded(summary: string, body: string, rows: number): string {
  return rows > OPEN_ROWS ? `<details><summary>${summary}</summary>\n\n${body}\n</details>\n\n` : `${body}\n`;
}

// ---------------------------------------------------------------------------------------------
// Assembly under a byte budget

interface Plan {
  /** Passing migration rows folded into one line. */
  fold: boolean;
  /** Migration rows shown (after folding). */
  migrationRows: number;
  /** Findings `[0, detailsFor)` show their detail and hint. */
  detailsFor: number;
  findings: number;
  /** Lock hold rows shown. */
  holds: number;
  statements: number;
}

/**
 * The job summary as GitHub-flavoured markdown: the verdict, then the findings (errors and
 * warnings, each with its statement, a link to it at the commit and the fix when one is known;
 * notices folded), then the stages, the migrations (one mark per stage), the lock holds and the
 * statements worth a look, long tables folded.
 *
 * Stays under `maxBytes` (UTF-8): when the full text is too big, passing migrations are folded
 * into one line first, then finding details are dropped (from the last finding backwards), then
 * the findings list is cut, with a note that points at the JSON report.
 */
export function renderSummary(report: Report, opts: SummaryOptions = {}): string {
  const maxBytes = opts.maxBytes ?? DEFAULT_SUMMARY_MAX_BYTES;
  const title = opts.title ?? 'migration-ci';
  const columns = stageColumns(report);
  const findings = sortFindings(report.findings);
  const links = opts.links;

  const head = headSection(report, title, opts.annotationsOmitted);
  const stages = stagesSection(report);
  const migRows = report.migrations.map((m) => migrationRow(m, columns));
  const notPassingRows = migRows.filter((r) => !r.passing);
  // Excerpts are shown once per line: the blocks are made in order, sharing what was shown.
  const shownFull = new Set<string>();
  const shownShort = new Set<string>();
  const fullBlocks = findings.map((f) => findingBlock(f, true, { links, shown: shownFull }));
  const shortBlocks = findings.map((f) => findingBlock(f, false, { links, shown: shownShort }));
  const worth = report.statements.filter(worthALook);
  const projected = worth.some((s) => s.projectedMs !== undefined);
  const stmtRows = worth.map((st) => statementRow(st, projected, links));
  const quiet = report.statements.length - worth.length;
  const holds = lockHoldRows(report.statements);
  const perSeverity = countBySeverity(findings);

  const build = (plan: Plan): string => {
    let out = head;

    // Findings, most severe first; notices folded.
    if (findings.length === 0) out += 'No findings.\n\n';
    let start = 0;
    for (const sev of SEVERITIES) {
      const end = start + perSeverity[sev];
      const shownEnd = Math.min(end, plan.findings);
      if (shownEnd > start) {
        let body = '';
        for (let i = start; i < shownEnd; i++) body += (i < plan.detailsFor ? fullBlocks[i] : shortBlocks[i]) ?? '';
        const heading = `${SEVERITY_HEADING[sev]} (${perSeverity[sev].toLocaleString('en-US')})`;
        out += sev === 'notice' ? `<details><summary>${heading}</summary>\n\n${body}\n</details>\n\n` : `### ${heading}\n\n${body}\n`;
      }
      start = end;
    }
    const cut = findings.slice(plan.detailsFor, plan.findings).filter(hasExtra).length;
    if (cut > 0) out += `_Details and hints of ${plural(cut, 'finding')} not shown to keep this summary under GitHub's size limit; see the JSON report._\n\n`;
    if (plan.findings < findings.length) out += `**${plural(findings.length - plan.findings, 'more finding')} not shown; see the JSON report.**\n\n`;

    out += stages;

    // Migrations
    out += '### Migrations\n\n';
    if (migRows.length === 0) {
      out += 'No migrations found.\n\n';
    } else {
      const rows = plan.fold ? notPassingRows : migRows;
      const shown = rows.slice(0, plan.migrationRows);
      if (shown.length > 0) out += folded(`${plural(shown.length, 'migration')}`, migrationsTableHeader(columns) + shown.map((r) => r.text).join(''), shown.length);
      if (plan.fold) {
        const passing = migRows.filter((r) => r.passing);
        if (passing.length > 0) {
          const ut = passing.filter((r) => r.underTest).length;
          out +=
            `✅ ${plural(passing.length, 'more migration')} without failures or warnings not listed ` +
            `(${ut.toLocaleString('en-US')} under test, ${(passing.length - ut).toLocaleString('en-US')} baseline).\n\n`;
        }
      }
      if (shown.length < rows.length) out += `${plural(rows.length - shown.length, 'more migration')} not shown; see the JSON report.\n\n`;
    }
    if (report.stages.length > 0 || migRows.length > 0) out += `<sub>${STATUS_LEGEND}</sub>\n\n`;

    // Lock holds, then statements
    if (holds.rows.length > 0 && plan.holds > 0) {
      const shown = holds.rows.slice(0, plan.holds);
      out += LOCK_HOLDS_INTRO + folded(plural(shown.length, 'lock hold'), lockHoldsHeader(holds.projected) + shown.join(''), shown.length);
      if (plan.holds < holds.rows.length) out += `${plural(holds.rows.length - plan.holds, 'more lock hold')} not shown; see the JSON report.\n\n`;
    }
    if (stmtRows.length > 0) {
      out += `### Statements\n\n`;
      const shown = stmtRows.slice(0, plan.statements);
      if (shown.length > 0) out += folded(plural(shown.length, 'statement'), statementsTableHeader(projected) + shown.join(''), shown.length);
      if (shown.length < stmtRows.length) out += `${plural(stmtRows.length - shown.length, 'more statement')} not shown; see the JSON report.\n\n`;
    }
    if (quiet > 0) {
      out += `${plural(quiet, 'statement')} ${quiet === 1 ? 'took' : 'took each'} under ${WORTH_A_LOOK_MS} ms, rewrote nothing and held no blocking lock for long: not listed (the JSON report has them).\n\n`;
    }
    return out.replace(/\n+$/, '\n');
  };

  const fits = (s: string): boolean => bytes(s) <= maxBytes;

  // 0. Everything.
  const plan: Plan = {
    fold: false,
    migrationRows: migRows.length,
    detailsFor: findings.length,
    findings: findings.length,
    holds: holds.rows.length,
    statements: stmtRows.length,
  };
  let text = build(plan);
  if (fits(text)) return text;

  // 1. Fold passing migrations into one line.
  plan.fold = true;
  plan.migrationRows = notPassingRows.length;
  text = build(plan);
  if (fits(text)) return text;

  // 2. Drop details: keep them for the leading (most severe) findings as long as they fit.
  plan.detailsFor = 0;
  text = build(plan);
  if (fits(text)) {
    let spare = maxBytes - bytes(text) - 256; // the details note may grow a few digits
    let n = 0;
    for (; n < findings.length; n++) {
      const extra = bytes(fullBlocks[n] ?? '') - bytes(shortBlocks[n] ?? '');
      if (extra > spare) break;
      spare -= extra;
    }
    plan.detailsFor = n;
    text = build(plan);
    while (!fits(text) && plan.detailsFor > 0) {
      plan.detailsFor = Math.floor(plan.detailsFor * 0.9);
      text = build(plan);
    }
    return text;
  }

  // 3. Cut the findings list (and, when even that is not enough, the statements and migrations).
  const findingSizes = shortBlocks.map(bytes);
  const stmtSizes = stmtRows.map(bytes);
  const reserve = 1_024; // group headings and notes whose digits change
  const holdSizes = holds.rows.map(bytes);
  const base = build({ ...plan, findings: 0, holds: 0, statements: 0 });
  let avail = maxBytes - bytes(base) - reserve;
  if (avail < 0) {
    // Not even the migration table fits: keep as many of its rows as we can, and nothing else.
    const bare = build({ ...plan, migrationRows: 0, findings: 0, holds: 0, statements: 0 });
    const rowSizes = notPassingRows.map((r) => bytes(r.text));
    plan.migrationRows = fitting(rowSizes, maxBytes - bytes(bare) - reserve);
    plan.findings = 0;
    plan.holds = 0;
    plan.statements = 0;
    avail = 0;
  } else {
    // Findings come first, but do not crowd the measurements out entirely when both are large;
    // of the measurements, the lock holds (one line per table and migration) before the statements.
    const findingsTotal = sum(findingSizes);
    const measuredTotal = sum(stmtSizes) + sum(holdSizes);
    const findingsBudget = Math.max(avail - measuredTotal, Math.min(findingsTotal, Math.floor(avail / 2)));
    plan.findings = fitting(findingSizes, findingsBudget);
    let rest = avail - sum(findingSizes, plan.findings);
    const holdsTotal = sum(holdSizes);
    plan.holds = fitting(holdSizes, Math.max(rest - sum(stmtSizes), Math.min(holdsTotal, Math.floor(rest / 2))));
    rest -= sum(holdSizes, plan.holds);
    plan.statements = fitting(stmtSizes, rest);
  }
  text = build(plan);
  while (!fits(text) && (plan.findings > 0 || plan.holds > 0 || plan.statements > 0 || plan.migrationRows > 0)) {
    if (plan.statements > 0) plan.statements = Math.floor(plan.statements * 0.9);
    else if (plan.holds > 0) plan.holds = Math.floor(plan.holds * 0.9);
    else if (plan.findings > 0) plan.findings = Math.floor(plan.findings * 0.9);
    else plan.migrationRows = Math.floor(plan.migrationRows * 0.9);
    text = build(plan);
  }
  return fits(text) ? text : hardCut(text, maxBytes);
}

/** Last resort for absurdly small budgets: whole lines up to the limit. */
function hardCut(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8').subarray(0, Math.max(0, maxBytes));
  const s = buf.toString('utf8');
  const nl = s.lastIndexOf('\n');
  const out = nl >= 0 ? s.slice(0, nl + 1) : '';
  return bytes(out) <= maxBytes ? out : '';
}
