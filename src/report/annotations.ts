import { countBySeverity, sortFindings, type Finding, type Report, type Severity } from './model.js';
import { describeRule } from './rules.js';

/** One GitHub annotation, in the shape `@actions/core`'s `error`/`warning`/`notice` take. */
export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  title: string;
  file?: string;
  startLine?: number;
  /** Last line of a statement over several lines (GitHub then ignores the column). */
  endLine?: number;
  startColumn?: number;
  /** How many findings this annotation says (those on one line are merged); 0 for a pointer. */
  findings?: number;
}

export type AnnotationCounts = Record<Severity, number>;

/** GitHub displays at most this many annotations of each level per step. */
export const MAX_ANNOTATIONS_PER_LEVEL = 10;

/**
 * The annotations worth sending: at most 10 errors (less the `closingErrors` lines the front end
 * prints itself) and 10 warnings (GitHub drops the rest anyway), the most severe and earliest
 * first, plus how many findings of each level were left
 * out. The front end counts those in one notice, so when anything is left out notices are not
 * annotated one by one: that notice must not be the eleventh, which GitHub would drop.
 */
export function selectAnnotations(
  report: Report,
  opts: { closingErrors?: number } = {},
): {
  annotations: Annotation[];
  omitted: AnnotationCounts;
} {
  const total = countBySeverity(report.findings);
  const groups = byLine(sortFindings(report.findings));
  const perLevel = { error: 0, warning: 0, notice: 0 };
  for (const g of groups) perLevel[g[0]!.severity] += 1;
  // Error lines the front end prints after the annotations (the action's setFailed) count too.
  const errorCap = Math.max(0, MAX_ANNOTATIONS_PER_LEVEL - (opts.closingErrors ?? 0));
  const overflow = perLevel.error > errorCap || perLevel.warning > MAX_ANNOTATIONS_PER_LEVEL || perLevel.notice > MAX_ANNOTATIONS_PER_LEVEL;
  const cap: AnnotationCounts = { error: errorCap, warning: MAX_ANNOTATIONS_PER_LEVEL, notice: overflow ? 0 : MAX_ANNOTATIONS_PER_LEVEL };
  const kept: AnnotationCounts = { error: 0, warning: 0, notice: 0 };
  const said: AnnotationCounts = { error: 0, warning: 0, notice: 0 };
  const annotations: Annotation[] = [];
  const chosen: Finding[] = [];
  for (const g of groups) {
    const level = g[0]!.severity;
    if (kept[level] >= cap[level]) continue;
    kept[level] += 1;
    for (const f of g) said[f.severity] += 1;
    chosen.push(...g);
    annotations.push(annotationOf(g));
  }
  // Pointers from an up statement to the down finding about it, while notices have room.
  for (const f of chosen) {
    if (!f.related || kept.notice >= cap.notice) continue;
    kept.notice += 1;
    const title = f.migration !== undefined ? `Not undone by the down (${f.migration})` : 'Not undone by the down';
    annotations.push({ level: 'notice', title, message: `${f.related.message}: see ${formatLocation(f) ?? 'the down'}`, file: f.related.file, startLine: f.related.line, findings: 0 });
  }
  return {
    annotations,
    omitted: {
      error: total.error - said.error,
      warning: total.warning - said.warning,
      notice: total.notice - said.notice,
    },
  };
}

/** Findings on the same line of the same file as one group (most severe first); the rest alone. */
function byLine(findings: readonly Finding[]): Finding[][] {
  const groups: Finding[][] = [];
  const at = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = f.file !== undefined && f.file !== '' && f.line !== undefined ? `${f.file}\u0000${f.line}` : undefined;
    const g = key !== undefined ? at.get(key) : undefined;
    if (g) {
      g.push(f);
      continue;
    }
    const fresh = [f];
    groups.push(fresh);
    if (key !== undefined) at.set(key, fresh);
  }
  return groups;
}

/** `The migration fails to apply (0002)`: what is wrong, in a few words. */
export function findingTitle(f: Finding): string {
  return `${describeRule(f.rule, f.stage, f.severity).title}${f.migration !== undefined ? ` (${f.migration})` : ''}`;
}

function annotationOf(group: readonly Finding[]): Annotation {
  const f = group[0]!;
  const lines: string[] = [];
  const seen = new Set<string>();
  const add = (text: string | undefined, prefix = '') => {
    if (text === undefined || text.trim() === '' || seen.has(text)) return;
    seen.add(text);
    lines.push(`${prefix}${text}`);
  };
  for (const x of group) add(x.message, group.length > 1 ? `${x.severity}: ` : '');
  for (const x of group) add(x.detail);
  for (const x of group) add(x.fix, 'Fix: ');
  for (const x of group) add(x.hint, 'Hint: ');
  const title = findingTitle(f) + (group.length > 1 ? ` and ${group.length - 1} more` : '');
  const a: Annotation = { level: f.severity, message: lines.join('\n'), title, findings: group.length };
  if (f.file !== undefined && f.file !== '') {
    a.file = f.file;
    // A line only means something with a file, a column only with a line (and only on one line).
    if (f.line !== undefined) {
      a.startLine = f.line;
      const end = Math.max(f.line, ...group.map((x) => x.endLine ?? x.line ?? f.line!));
      if (end > f.line) a.endLine = end;
      else if (f.column !== undefined) a.startColumn = f.column;
    }
  }
  return a;
}

/** `file:line:column`, as much of it as the finding has; undefined without a file. */
export function formatLocation(f: { file?: string; line?: number; column?: number }): string | undefined {
  if (f.file === undefined || f.file === '') return undefined;
  if (f.line === undefined) return f.file;
  if (f.column === undefined) return `${f.file}:${f.line}`;
  return `${f.file}:${f.line}:${f.column}`;
}

/** The runner's escaping of a command's message. */
export function escapeCommandData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The runner's escaping of a command property value. */
export function escapeCommandProperty(s: string): string {
  return escapeCommandData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * The workflow command the runner turns into an annotation, exactly as `@actions/core` would
 * print it: `::error file=F,line=L,col=C,title=T::MESSAGE`. Properties that are not set are left
 * out; with none, the command is `::error::MESSAGE`.
 */
export function formatWorkflowCommand(a: Annotation): string {
  const props: string[] = [];
  if (a.file !== undefined) props.push(`file=${escapeCommandProperty(a.file)}`);
  if (a.startLine !== undefined) props.push(`line=${a.startLine}`);
  if (a.endLine !== undefined) props.push(`endLine=${a.endLine}`);
  if (a.startColumn !== undefined) props.push(`col=${a.startColumn}`);
  if (a.title !== '') props.push(`title=${escapeCommandProperty(a.title)}`);
  const head = props.length > 0 ? `${a.level} ${props.join(',')}` : a.level;
  return `::${head}::${escapeCommandData(a.message)}`;
}
