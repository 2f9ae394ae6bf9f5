import { STAGE_NAMES, type StageName } from '../config.js';
import { formatLocation, type AnnotationCounts } from './annotations.js';
import {
  countBySeverity,
  sortFindings,
  type Finding,
  type Report,
  type ReportMigration,
  type Severity,
  type StageStatus,
  type StatementMeasure,
} from './model.js';
import { formatDuration, plural } from './terminal.js';

export interface SummaryOptions {
  /** Shown in the heading; default `migration-ci`. */
  title?: string;
  /** Findings that got no annotation because GitHub caps them per level (see `selectAnnotations`). */
  annotationsOmitted?: AnnotationCounts;
  /** Upper bound of the whole summary in UTF-8 bytes; default `DEFAULT_SUMMARY_MAX_BYTES`. */
  maxBytes?: number;
}

/** GitHub refuses a job summary over 1 MiB; this leaves a margin for whatever else a step writes. */
export const DEFAULT_SUMMARY_MAX_BYTES = 1_000_000;

/** Longest message/name shown inline; the JSON report has the full text. */
const MAX_INLINE_CHARS = 1_000;
/** Longest detail or hint block shown. */
const MAX_BLOCK_CHARS = 20_000;

export const STATUS_MARK: Record<StageStatus, string> = { pass: '✅', fail: '❌', warn: '⚠️', skip: '➖' };
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
export function fenced(text: string, indent: string): string {
  const body = truncate(text.replace(CONTROL, '').replace(/\r\n?/g, '\n').replace(/\s+$/, ''), MAX_BLOCK_CHARS);
  const longestRun = Math.max(2, ...(body.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longestRun + 1);
  const language = /^--- .*\n\+\+\+ /.test(body) ? 'diff' : 'text';
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
  const seen = new Set<StageName>(report.stages.map((s) => s.name));
  for (const m of report.migrations) for (const k of Object.keys(m.stages)) seen.add(k as StageName);
  const ordered = report.stages.map((s) => s.name).filter((n, i, a) => a.indexOf(n) === i);
  for (const n of STAGE_NAMES) if (seen.has(n) && !ordered.includes(n)) ordered.push(n);
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

function stagesSection(report: Report): string {
  if (report.stages.length === 0) return '';
  const rows = report.stages.map(
    (s) =>
      `| ${s.name} | ${STATUS_MARK[s.status]} ${s.status} | ${s.status === 'skip' && s.durationMs === 0 ? '—' : formatDuration(s.durationMs)} |\n`,
  );
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
  const names = ['Version', 'Name', 'Role', ...columns];
  const align = ['---', '---', '---', ...columns.map(() => ':-:')];
  return `| ${names.join(' | ')} |\n| ${align.join(' | ')} |\n`;
}

function findingHead(f: Finding): string {
  const loc = formatLocation(f);
  const where: string[] = [];
  if (loc !== undefined) where.push(code(loc, false));
  if (f.migration !== undefined && (loc === undefined || !loc.includes(f.migration))) {
    where.push(`migration ${code(f.migration, false)}`);
  }
  where.push(code(`${f.stage}/${f.rule}`, false));
  return `- ${where.join(' · ')} — ${escapeMarkdown(f.message)}\n`;
}

function findingExtra(label: string, text: string | undefined): string {
  if (text === undefined || text.trim() === '') return '';
  const t = text.replace(/\s+$/, '').replace(/^\s*\n/, '');
  if (!t.includes('\n')) return `  - **${label}:** ${escapeMarkdown(t)}\n`;
  return `\n  <details><summary>${label}</summary>\n\n${fenced(t, '  ')}\n\n  </details>\n\n`;
}

export function findingBlock(f: Finding, withDetails: boolean): string {
  if (!withDetails) return findingHead(f);
  return findingHead(f) + findingExtra('Detail', f.detail) + findingExtra('Hint', f.hint);
}

export function hasExtra(f: Finding): boolean {
  return (f.detail !== undefined && f.detail.trim() !== '') || (f.hint !== undefined && f.hint.trim() !== '');
}

interface StatementColumns {
  head: boolean;
  projected: boolean;
}

function statementColumns(statements: readonly StatementMeasure[]): StatementColumns {
  return {
    head: statements.some((s) => s.head !== undefined),
    projected: statements.some((s) => s.projectedMs !== undefined),
  };
}

function statementsTableHeader(c: StatementColumns): string {
  const names = ['Statement', ...(c.head ? ['SQL'] : []), 'Time', 'Locks', 'Rewrites', ...(c.projected ? ['Projected'] : [])];
  const align = ['---', ...(c.head ? ['---'] : []), '---:', '---', '---', ...(c.projected ? ['---:'] : [])];
  return `| ${names.join(' | ')} |\n| ${align.join(' | ')} |\n`;
}

function statementRow(s: StatementMeasure, c: StatementColumns): string {
  const outside = s.outsideTransaction ? ' (outside a transaction)' : '';
  const locks =
    s.locks.length > 0 ? s.locks.map((l) => `${escapeMarkdown(l.mode)} on ${code(l.relation, true)}${outside}`).join('<br>') : '—';
  const rebuilt = s.rebuiltIndexes ?? [];
  const rewrites =
    s.rewrites.length > 0
      ? s.rewrites.map((r) => code(r, true)).join(', ')
      : rebuilt.length > 0
        ? `${rebuilt.map((r) => code(r, true)).join(', ')} rebuilt`
        : '—';
  const cells = [code(`${s.file}:${s.line}`, true)];
  if (c.head) cells.push(s.head !== undefined ? code(s.head, true) : '—');
  cells.push(formatDuration(s.durationMs), locks, rewrites);
  if (c.projected) {
    const projected = s.projectedMs !== undefined ? formatDuration(s.projectedMs) : '—';
    cells.push(s.productionRows !== undefined && s.projectedMs !== undefined ? `${projected} at ${s.productionRows.toLocaleString('en-US')} rows` : projected);
  }
  return `| ${cells.join(' | ')} |\n`;
}

/** Rows of the lock holds table: how long each migration keeps which table from being written (or read). */
function lockHoldRows(statements: readonly StatementMeasure[]): { rows: string[]; projected: boolean } {
  const rows: string[] = [];
  const projected = statements.some((s) => (s.holds ?? []).some((h) => h.projectedMs !== undefined));
  for (const s of statements) {
    for (const h of s.holds ?? []) {
      const blocks = h.blocks === 'reads' ? 'reads and writes' : 'writes';
      const span = h.untilLine === s.line ? `line ${s.line}` : `line ${s.line} to ${h.untilLine}`;
      const cells = [code(s.migration, true), code(h.relation, true), `${blocks} (${escapeMarkdown(h.mode)})`, span, formatDuration(h.ms)];
      if (projected) cells.push(h.projectedMs !== undefined ? formatDuration(h.projectedMs) : '—');
      rows.push(`| ${cells.join(' | ')} |\n`);
    }
  }
  return { rows, projected };
}

function lockHoldsHeader(projected: boolean): string {
  const names = ['Migration', 'Table', 'Blocks', 'Statements', 'Held', ...(projected ? ['Projected'] : [])];
  const align = ['---', '---', '---', '---', '---:', ...(projected ? ['---:'] : [])];
  return (
    '### Lock holds\n\n' +
    'How long each migration keeps a table from being written (ShareLock and stronger) or even read ' +
    '(AccessExclusiveLock): from the statement that takes the lock to the commit that releases it.\n\n' +
    `| ${names.join(' | ')} |\n| ${align.join(' | ')} |\n`
  );
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
 * The job summary as GitHub-flavoured markdown: verdict heading, stage table, migration table
 * (one mark per stage), findings grouped by severity, per-statement measurements.
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

  const head = headSection(report, title, opts.annotationsOmitted) + stagesSection(report);
  const migRows = report.migrations.map((m) => migrationRow(m, columns));
  const notPassingRows = migRows.filter((r) => !r.passing);
  const fullBlocks = findings.map((f) => findingBlock(f, true));
  const shortBlocks = findings.map((f) => findingBlock(f, false));
  const stmtColumns = statementColumns(report.statements);
  const stmtRows = report.statements.map((st) => statementRow(st, stmtColumns));
  const holds = lockHoldRows(report.statements);
  const perSeverity = countBySeverity(findings);

  const build = (plan: Plan): string => {
    let out = head;

    // Migrations
    out += '### Migrations\n\n';
    if (migRows.length === 0) {
      out += 'No migrations found.\n\n';
    } else {
      const rows = plan.fold ? notPassingRows : migRows;
      const shown = rows.slice(0, plan.migrationRows);
      if (shown.length > 0) out += migrationsTableHeader(columns) + shown.map((r) => r.text).join('') + '\n';
      if (plan.fold) {
        const folded = migRows.filter((r) => r.passing);
        if (folded.length > 0) {
          const ut = folded.filter((r) => r.underTest).length;
          out +=
            `✅ ${plural(folded.length, 'more migration')} without failures or warnings not listed ` +
            `(${ut.toLocaleString('en-US')} under test, ${(folded.length - ut).toLocaleString('en-US')} baseline).\n\n`;
        }
      }
      if (shown.length < rows.length) {
        out += `${plural(rows.length - shown.length, 'more migration')} not shown; see the JSON report.\n\n`;
      }
    }

    // Findings
    if (findings.length > 0) {
      out += '### Findings\n\n';
      // `findings` is sorted most severe first, so each severity is one contiguous run.
      let start = 0;
      for (const sev of SEVERITIES) {
        const end = start + perSeverity[sev];
        const shownEnd = Math.min(end, plan.findings);
        if (shownEnd > start) {
          out += `#### ${SEVERITY_HEADING[sev]} (${perSeverity[sev].toLocaleString('en-US')})\n\n`;
          for (let i = start; i < shownEnd; i++) out += (i < plan.detailsFor ? fullBlocks[i] : shortBlocks[i]) ?? '';
          out += '\n';
        }
        start = end;
      }
      const cutDetails = findings.slice(plan.detailsFor, plan.findings).some(hasExtra);
      if (cutDetails) {
        out += `_Details and hints of ${plural(findings.slice(plan.detailsFor, plan.findings).filter(hasExtra).length, 'finding')} not shown to keep this summary under GitHub's size limit; see the JSON report._\n\n`;
      }
      if (plan.findings < findings.length) {
        out += `**${plural(findings.length - plan.findings, 'more finding')} not shown; see the JSON report.**\n\n`;
      }
    } else {
      out += 'No findings.\n\n';
    }

    // Lock holds, then statements
    if (holds.rows.length > 0 && plan.holds > 0) {
      out += lockHoldsHeader(holds.projected) + holds.rows.slice(0, plan.holds).join('') + '\n';
      if (plan.holds < holds.rows.length) out += `${plural(holds.rows.length - plan.holds, 'more lock hold')} not shown; see the JSON report.\n\n`;
    }
    if (stmtRows.length > 0) {
      out += '### Statements\n\n';
      const shown = stmtRows.slice(0, plan.statements);
      if (shown.length > 0) out += `${statementsTableHeader(stmtColumns)}${shown.join('')}\n`;
      if (shown.length < stmtRows.length) {
        out += `${plural(stmtRows.length - shown.length, 'more statement')} not shown; see the JSON report.\n\n`;
      }
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
