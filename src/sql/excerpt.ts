import fs from 'node:fs';
import path from 'node:path';
import type { Finding } from '../report/model.js';
import type { ParsedSource, ParseResult, Statement } from './parse.js';

/** Longest excerpt shown beside a finding; the link leads to the rest. */
export const MAX_EXCERPT_LINES = 8;
/** Lines shown before and after a position that is not on a statement (a parse error). */
const CONTEXT_LINES = 2;

/** Where a statement starts (its first token) and ends (its last non-blank character), 1-based lines. */
export function statementLines(parsed: ParsedSource, stmt: Statement): { start: number; end: number } {
  const end = stmt.start + stmt.sql.replace(/\s+$/, '').length - 1;
  return { start: stmt.line, end: Math.max(stmt.line, parsed.positions.lineColumnAt(Math.max(stmt.tokenStart, end)).line) };
}

/** The statement that covers `line`: the last one starting at or before it, if it reaches that far. */
export function statementAt(parsed: ParsedSource, line: number): Statement | undefined {
  let found: Statement | undefined;
  for (const s of parsed.statements) {
    if (s.line > line) break;
    found = s;
  }
  if (found === undefined) return undefined;
  return statementLines(parsed, found).end >= line ? found : undefined;
}

/** One file of the run: its text as written, and its statements when it parses. */
export interface SourceFile {
  text: string;
  parsed?: ParsedSource;
}

/**
 * Gives each finding with a file and a line the lines it is about: the whole statement (up to
 * `MAX_EXCERPT_LINES`, from the finding's line on when it is longer) and its last line as
 * `endLine`; without a statement there (a parse error), a few lines either side.
 */
export function attachExcerpts(findings: Finding[], files: ReadonlyMap<string, SourceFile>): void {
  for (const f of findings) {
    if (f.file === undefined || f.line === undefined || f.excerpt !== undefined) continue;
    const source = files.get(f.file);
    if (source === undefined) continue;
    const lines = source.text.replace(/\r\n?/g, '\n').split('\n');
    if (f.line < 1 || f.line > lines.length) continue;
    const stmt = source.parsed ? statementAt(source.parsed, f.line) : undefined;
    let from: number;
    let to: number;
    if (stmt !== undefined && f.rule !== 'parse-error') {
      const span = statementLines(source.parsed!, stmt);
      if (span.end > span.start) f.endLine ??= span.end;
      from = span.end - span.start + 1 > MAX_EXCERPT_LINES ? f.line : span.start;
      to = Math.min(span.end, from + MAX_EXCERPT_LINES - 1);
    } else {
      from = Math.max(1, f.line - CONTEXT_LINES);
      to = Math.min(lines.length, f.line + CONTEXT_LINES);
    }
    // Blank lines at either edge say nothing.
    while (from < f.line && lines[from - 1]!.trim() === '') from++;
    while (to > f.line && lines[to - 1]!.trim() === '') to--;
    const text = lines.slice(from - 1, to).join('\n');
    if (text.trim() === '') continue;
    f.excerpt = { line: from, text };
  }
}

/**
 * The files of the run as written on disk (what a link to the commit shows; the parsed text may
 * have had placeholders replaced), with their statements; a file that cannot be read is left out.
 */
export function readSourceFiles(root: string, results: ReadonlyArray<ParseResult | undefined>): Map<string, SourceFile> {
  const out = new Map<string, SourceFile>();
  for (const r of results) {
    if (r === undefined) continue;
    const source = r.ok ? r.parsed.source : r.source;
    if (out.has(source.file) && !r.ok) continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join(root, source.file), 'utf8');
    } catch {
      continue;
    }
    // One file may hold several parts (up and down sections): each part's statements count.
    const have = out.get(source.file);
    if (have?.parsed && r.ok) {
      const statements = [...have.parsed.statements, ...r.parsed.statements].sort((a, b) => a.start - b.start);
      out.set(source.file, { text, parsed: { ...have.parsed, statements } });
    } else {
      out.set(source.file, r.ok ? { text, parsed: r.parsed } : { text });
    }
  }
  return out;
}
