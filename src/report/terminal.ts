import { STAGE_NAMES, type StageName } from '../config.js';
import { formatLocation } from './annotations.js';
import {
  countBySeverity,
  sortFindings,
  stageStatusWords,
  type Finding,
  type Report,
  type Severity,
  type StageStatus,
  type StatementMeasure,
} from './model.js';

/** One line of progress while the pipeline runs (the CLI prints them as they come). */
export type ProgressEvent =
  | {
      kind: 'migration';
      stage: StageName;
      version: string;
      name: string;
      status: 'pass' | 'fail' | 'warn' | 'skip' | 'baseline';
      durationMs: number;
      note?: string;
    }
  | { kind: 'stage'; stage: StageName; status: StageStatus; durationMs: number }
  | { kind: 'info'; message: string }
  /** Long work begins (filling tables, starting a server): a front end may keep a live line for it until the next event. */
  | { kind: 'working'; message: string; rows?: { filled: number; asked: number } };

export interface TerminalOptions {
  color: boolean;
  /** Terminal width: lines wrap at word boundaries with a hanging indent; unset, lines stay whole (for pipes and logs). */
  width?: number;
}

// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[\d;]*m/g;

/** Characters a line shows (colour codes take no room). */
export function visibleLength(s: string): number {
  return [...s.replace(SGR, '')].length;
}

/**
 * One line wrapped to `width` at spaces, every continuation indented by `hang` (or by the
 * line's own indent plus `hang` when that is longer); a word longer than the room is cut.
 */
export function wrapLine(line: string, width: number | undefined, hang = 4): string {
  if (width === undefined || width < 20 || visibleLength(line) <= width) return line;
  const own = /^ */.exec(line)![0].length;
  const prefix = ' '.repeat(Math.min(own + hang, Math.floor(width / 2)));
  // A number and its unit stay together: `63 ms`, `500,000 rows`.
  const words = line.slice(own).split(/(?<= )(?!(?:ms|s|min|rows)\b)/);
  const out: string[] = [];
  let current = ' '.repeat(own);
  let currentLen = own;
  const room = () => width - currentLen;
  for (let w of words) {
    let len = visibleLength(w);
    while (len > room() && currentLen > (out.length === 0 ? own : prefix.length)) {
      out.push(current.replace(/ +$/, ''));
      current = prefix;
      currentLen = prefix.length;
    }
    // A word longer than a whole line: cut it (colour codes are never inside a word we cut).
    while (len > room()) {
      const cut = Math.max(1, room());
      out.push(current + [...w].slice(0, cut).join(''));
      w = [...w].slice(cut).join('');
      len = visibleLength(w);
      current = prefix;
      currentLen = prefix.length;
    }
    current += w;
    currentLen += len;
  }
  out.push(current.replace(/ +$/, ''));
  return out.join('\n');
}

function wrapText(text: string, width: number | undefined, hang = 4): string {
  return width === undefined ? text : text.split('\n').map((l) => wrapLine(l, width, hang)).join('\n');
}

/** How many of the slowest statements the end-of-run text lists. */
const SLOWEST_STATEMENTS = 10;

// ---------------------------------------------------------------------------------------------
// Small shared helpers

/** `0.4 ms`, `12.4 ms`, `41 ms`, `1.25 s`, `12.3 s`, `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10) return `${trimZero(ms.toFixed(1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${trimZero((ms / 1000).toFixed(2))} s`;
  if (ms < 60_000) return `${trimZero((ms / 1000).toFixed(1))} s`;
  const totalS = Math.round(ms / 1000);
  const min = Math.floor(totalS / 60);
  const s = totalS % 60;
  return `${min} min ${String(s).padStart(2, '0')} s`;
}

/** `812 kB`, `1.4 MB`, `12 GB`: a relation's size as people say it (powers of 1024, as pg_size_pretty). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} bytes` : `${v < 10 ? trimZero(v.toFixed(1)) : Math.round(v)} ${units[i]}`;
}

function trimZero(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * User text (messages, SQL, file names) must not drive the terminal: control characters other
 * than newline and tab become visible `\u001b`-style escapes.
 */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\r') return '';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

type Paint = (s: string) => string;
interface Palette {
  red: Paint;
  yellow: Paint;
  cyan: Paint;
  green: Paint;
  dim: Paint;
  bold: Paint;
}

function palette(color: boolean): Palette {
  const sgr =
    (open: number, close: number): Paint =>
    (s) =>
      color ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
    green: sgr(32, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}

function severityPaint(p: Palette, s: Severity): Paint {
  return s === 'error' ? (x) => p.bold(p.red(x)) : s === 'warning' ? p.yellow : p.cyan;
}

function statusPaint(p: Palette, s: StageStatus | 'baseline'): Paint {
  switch (s) {
    case 'pass':
      return p.green;
    case 'fail':
      return p.red;
    case 'warn':
      return p.yellow;
    default:
      return p.dim;
  }
}

const STATUS_SYMBOL: Record<StageStatus | 'baseline', string> = {
  pass: '✔',
  fail: '✖',
  warn: '⚠',
  skip: '–',
  baseline: '·',
};

/** The longest stage name: every stage's lines start their columns at the same place. */
const STAGE_WIDTH = Math.max(...STAGE_NAMES.map((s) => s.length));
/** `2 min 05 s`, the widest duration. */
const DURATION_WIDTH = 10;

/** Pads to `width` visible characters (the padding goes outside any colour codes). */
function pad(visible: string, width: number, painted = visible): string {
  return painted + ' '.repeat(Math.max(0, width - [...visible].length));
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? '' : prefix + l))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Progress

/** One progress line (no trailing newline). */
export function formatProgress(event: ProgressEvent, opts: TerminalOptions): string {
  const p = palette(opts.color);
  switch (event.kind) {
    case 'migration': {
      const paint = statusPaint(p, event.status);
      const sym = paint(STATUS_SYMBOL[event.status]);
      const status = pad(event.status, 8, paint(event.status));
      const what = `${clean(event.version)} ${clean(event.name)}`;
      const note = event.note !== undefined && event.note !== '' ? `  ${p.dim(clean(oneLine(event.note)))}` : '';
      // The duration in a column of its own, before the name: lines up whatever the names.
      const duration = formatDuration(event.durationMs).padStart(DURATION_WIDTH);
      return neutralizeCommands(wrapLine(`  ${pad(event.stage, STAGE_WIDTH)}  ${sym} ${status} ${p.dim(duration)}  ${what}${note}`, opts.width, 4 + STAGE_WIDTH + 2 + 2 + 9 + DURATION_WIDTH));
    }
    case 'stage': {
      const paint = statusPaint(p, event.status);
      return `${p.bold(`▸ ${event.stage}`)}: ${paint(`${STATUS_SYMBOL[event.status]} ${event.status}`)} ${p.dim(`in ${formatDuration(event.durationMs)}`)}`;
    }
    case 'info':
      return neutralizeCommands(wrapLine(p.dim(clean(oneLine(event.message))), opts.width));
    case 'working': {
      const rows = formatWorkingRows(event);
      return neutralizeCommands(p.dim(`${clean(oneLine(event.message))}…${rows ? ` ${rows}` : ''}`));
    }
  }
}

/** "125,000/500,000 rows": how far the work of a `working` event has come, when it is known. */
export function formatWorkingRows(event: Extract<ProgressEvent, { kind: 'working' }>): string | undefined {
  if (!event.rows) return undefined;
  return `${event.rows.filled.toLocaleString('en-US')}/${event.rows.asked.toLocaleString('en-US')} rows`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// End of run

/**
 * The end-of-run text: every finding compiler-style (`file:line:column: severity [stage/rule]
 * message`, detail and hint indented below), a stage table, the slowest statements when the
 * performance stage measured any, and a verdict line. Ends with a newline.
 */
export function renderTerminal(report: Report, opts: TerminalOptions): string {
  const p = palette(opts.color);
  const out: string[] = [];

  const findings = sortFindings(report.findings);
  for (const f of findings) out.push(findingText(f, p, opts.width));
  if (findings.length > 0) out.push('');

  if (report.stages.length > 0) {
    const rows = report.stages.map((s) => {
      const { status, words } = stageStatusWords(report, s);
      const shown: StageStatus = status === 'partial' ? 'warn' : status;
      return {
        name: s.name,
        text: `${status === 'partial' ? '◑' : STATUS_SYMBOL[shown]} ${words}`,
        paint: statusPaint(p, status === 'partial' ? 'skip' : shown),
        duration: status === 'skip' && s.durationMs === 0 ? '–' : formatDuration(s.durationMs),
      };
    });
    const nameWidth = Math.max(STAGE_WIDTH, ...rows.map((r) => [...r.name].length));
    const statusWidth = Math.max('status'.length, ...rows.map((r) => [...r.text].length));
    const durWidth = Math.max('duration'.length, ...rows.map((r) => r.duration.length));
    out.push(p.dim(`${pad('stage', nameWidth)}  ${pad('status', statusWidth)}  ${'duration'.padStart(durWidth)}`));
    for (const r of rows) out.push(`${pad(clean(r.name), nameWidth)}  ${pad(r.text, statusWidth, r.paint(r.text))}  ${r.duration.padStart(durWidth)}`);
    out.push('');
  }

  if (report.statements.length > 0) {
    out.push(...slowestStatements(report.statements, p).map((l) => wrapLine(l, opts.width, 2)));
    out.push('');
  }

  out.push(wrapLine(verdictLine(report, p), opts.width, 2));
  return neutralizeCommands(out.join('\n')) + '\n';
}

/**
 * The Actions runner treats any output line that starts with `::` (after leading spaces) as a
 * workflow command. User text (a detail quoting SQL, say) must not issue one when the CLI runs in
 * a workflow: such a line gets a space between the colons.
 */
function neutralizeCommands(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/^((?:[ \t]|\u001b\[[\d;]*m)*):(?=:)/gm, '$1: ');
}

function findingText(f: Finding, p: Palette, width: number | undefined): string {
  const loc =
    formatLocation(f) ?? (f.migration !== undefined ? `migration ${f.migration}` : 'migration-ci');
  const head = `${p.bold(clean(loc))}: ${severityPaint(p, f.severity)(f.severity)} ${p.dim(`[${f.stage}/${clean(f.rule)}]`)} ${clean(f.message)}`;
  const lines = [wrapLine(head, width)];
  if (f.detail !== undefined && f.detail !== '') lines.push(wrapText(indent(clean(f.detail.replace(/\s+$/, '')), '    '), width, 2));
  if (f.fix !== undefined && f.fix !== '') lines.push(wrapText(indent(`${p.cyan('fix:')} ${clean(f.fix.trim()).replace(/\n/g, '\n     ')}`, '    '), width, 5));
  if (f.hint !== undefined && f.hint !== '') lines.push(wrapText(indent(`${p.cyan('hint:')} ${clean(f.hint.trim())}`, '    '), width, 6));
  return lines.join('\n');
}

function slowestStatements(statements: readonly StatementMeasure[], p: Palette): string[] {
  const slowest = [...statements]
    .sort((a, b) => b.durationMs - a.durationMs || a.file.localeCompare(b.file) || a.line - b.line)
    .slice(0, SLOWEST_STATEMENTS);
  const title =
    statements.length > slowest.length
      ? `slowest ${slowest.length} of ${plural(statements.length, 'statement')}`
      : `${plural(statements.length, 'statement')}, slowest first`;
  const out = [p.dim(title)];
  const locs = slowest.map((s) => clean(`${s.file}:${s.line}`));
  const durs = slowest.map((s) => formatDuration(s.durationMs));
  const locWidth = Math.max(...locs.map((l) => [...l].length));
  const durWidth = Math.max(...durs.map((d) => d.length));
  slowest.forEach((s, i) => {
    const extra: string[] = [];
    if (s.locks.length > 0) extra.push(`locks ${s.locks.map((l) => clean(`${l.mode} on ${l.relation}`)).join(', ')}`);
    if (s.rewrites.length > 0) extra.push(p.yellow(`rewrites ${s.rewrites.map(clean).join(', ')}`));
    if (s.projectedMs !== undefined) {
      const at = s.productionRows !== undefined ? ` at ${s.productionRows.toLocaleString('en-US')} rows${s.productionBytes !== undefined ? ` (${formatBytes(s.productionBytes)})` : ''}` : '';
      extra.push(`projected ${formatDuration(s.projectedMs)}${at}`);
    }
    out.push(`${pad(locs[i] ?? '', locWidth)}  ${(durs[i] ?? '').padStart(durWidth)}${extra.length > 0 ? `  ${extra.join('; ')}` : ''}`);
  });
  return out;
}

function verdictLine(report: Report, p: Palette): string {
  const c = countBySeverity(report.findings);
  const underTest = report.migrations.filter((m) => m.underTest).length;
  const counts = `${plural(c.error, 'error')}, ${plural(c.warning, 'warning')}, ${plural(c.notice, 'notice')}`;
  const context = `Postgres ${clean(report.postgres)}, ${plural(report.migrations.length, 'migration')} (${underTest.toLocaleString('en-US')} under test)`;
  const verdict =
    report.verdict === 'pass' ? p.bold(p.green('✔ migration-ci: pass')) : p.bold(p.red('✖ migration-ci: fail'));
  return `${verdict} — ${counts} · ${p.dim(context)}`;
}
