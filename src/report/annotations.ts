import { countBySeverity, sortFindings, type Finding, type Report, type Severity } from './model.js';

/** One GitHub annotation, in the shape `@actions/core`'s `error`/`warning`/`notice` take. */
export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  title: string;
  file?: string;
  startLine?: number;
  startColumn?: number;
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
  // Error lines the front end prints after the annotations (the action's setFailed) count too.
  const errorCap = Math.max(0, MAX_ANNOTATIONS_PER_LEVEL - (opts.closingErrors ?? 0));
  const overflow = total.error > errorCap || total.warning > MAX_ANNOTATIONS_PER_LEVEL || total.notice > MAX_ANNOTATIONS_PER_LEVEL;
  const cap: AnnotationCounts = { error: errorCap, warning: MAX_ANNOTATIONS_PER_LEVEL, notice: overflow ? 0 : MAX_ANNOTATIONS_PER_LEVEL };
  const kept: AnnotationCounts = { error: 0, warning: 0, notice: 0 };
  const annotations: Annotation[] = [];
  for (const f of sortFindings(report.findings)) {
    if (kept[f.severity] >= cap[f.severity]) continue;
    kept[f.severity] += 1;
    annotations.push(annotationOf(f));
  }
  return {
    annotations,
    omitted: {
      error: total.error - kept.error,
      warning: total.warning - kept.warning,
      notice: total.notice - kept.notice,
    },
  };
}

/** `migration-ci · syntax · apply-failed (0002)` */
export function findingTitle(f: Finding): string {
  return `migration-ci · ${f.stage} · ${f.rule}${f.migration !== undefined ? ` (${f.migration})` : ''}`;
}

function annotationOf(f: Finding): Annotation {
  const lines = [f.message];
  if (f.detail !== undefined && f.detail !== '') lines.push(f.detail);
  if (f.hint !== undefined && f.hint !== '') lines.push(`Hint: ${f.hint}`);
  const a: Annotation = { level: f.severity, message: lines.join('\n'), title: findingTitle(f) };
  if (f.file !== undefined && f.file !== '') {
    a.file = f.file;
    // A line only means something with a file, a column only with a line.
    if (f.line !== undefined) {
      a.startLine = f.line;
      if (f.column !== undefined) a.startColumn = f.column;
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
  if (a.startColumn !== undefined) props.push(`col=${a.startColumn}`);
  if (a.title !== '') props.push(`title=${escapeCommandProperty(a.title)}`);
  const head = props.length > 0 ? `${a.level} ${props.join(',')}` : a.level;
  return `::${head}::${escapeCommandData(a.message)}`;
}
