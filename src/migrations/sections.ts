import { InputError } from '../errors.js';
import type { SqlSource } from './types.js';

/**
 * One part of a file as SQL text of the same shape: characters outside lines [from, to) become
 * spaces, newlines stay, so positions found in the part are positions in the real file.
 */
export function keepLines(text: string, from: number, to: number): string {
  const lines = text.split('\n');
  return lines
    .map((line, i) => (i >= from && i < to ? line : line.replace(/[^\r]/g, ' ')))
    .join('\n');
}

/** A line that is nothing but a `--` comment, for marker scanning. */
export function commentBody(line: string): string | undefined {
  const m = /^\s*--\s?(.*?)\s*$/.exec(line);
  return m ? m[1] : undefined;
}

export interface SectionMark {
  /** 0-based line of the marker. */
  line: number;
  direction: 'up' | 'down';
  noTransaction?: boolean;
}

/**
 * Up and down sections of a file from its marker lines: each runs from the line after its marker
 * to the next marker. `upFromTop` when the tool treats text before any marker as the up.
 */
export function sectionsFromMarks(
  file: string,
  text: string,
  marks: SectionMark[],
  opts: { tool: string; upMarker: string; upFromTop?: boolean; noTransaction?: boolean },
): { up: SqlSource; down: SqlSource | undefined } {
  const lineCount = text.split('\n').length;
  const ups = marks.filter((m) => m.direction === 'up');
  const downs = marks.filter((m) => m.direction === 'down');
  if (ups.length > 1 || (ups.length === 0 && !opts.upFromTop)) {
    throw new InputError('input', `${file} must have exactly one "${opts.upMarker}" line, found ${ups.length}`, { file, line: ups[1] ? ups[1].line + 1 : 1 });
  }
  if (downs.length > 1) throw new InputError('input', `${file} has more than one ${opts.tool} down marker`, { file, line: downs[1]!.line + 1 });
  const end = (from: number) => {
    const next = marks.filter((x) => x.line > from).map((x) => x.line);
    return next.length > 0 ? Math.min(...next) : lineCount;
  };
  const section = (from: number, noTx: boolean | undefined): SqlSource => ({
    file,
    text: keepLines(text, from, end(from - 1)),
    ...(noTx || opts.noTransaction ? { noTransaction: true } : {}),
  });
  const up = ups[0] ? section(ups[0].line + 1, ups[0].noTransaction) : section(0, false);
  return { up, down: downs[0] ? section(downs[0].line + 1, downs[0].noTransaction) : undefined };
}
