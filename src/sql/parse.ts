import { loadModule, parseSync } from 'libpg-query';
import type { SqlSource } from '../migrations/types.js';
import { classifyStatement, type StatementClass } from './classify.js';
import { skipTrivia, TextPositions, type LineColumn } from './positions.js';

/** One statement of a file, with where it stands in that file. */
export interface Statement extends StatementClass {
  /** Text as sent to the server: from just after the previous `;` to this statement's `;` (excluded). */
  sql: string;
  /** String index in the source text where `sql` starts. */
  start: number;
  /** String index of the first token (after leading comments). */
  tokenStart: number;
  /** Position of the first token in the file. */
  line: number;
  column: number;
  /** Parse tree root of this statement: `{ CreateStmt: {...} }`. */
  node: Record<string, unknown>;
}

export interface ParsedSource {
  source: SqlSource;
  statements: Statement[];
  positions: TextPositions;
}

export interface SqlParseError extends LineColumn {
  message: string;
}

export type ParseResult = { ok: true; parsed: ParsedSource } | { ok: false; error: SqlParseError; source: SqlSource };

let loaded: Promise<void> | undefined;

/** The parser is WebAssembly: load it once before the first parse. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

interface RawStmt {
  stmt?: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

/** Splits a file into statements with the real Postgres parser; a syntax error comes back with its position. */
export function parseSource(source: SqlSource): ParseResult {
  const positions = new TextPositions(source.text);
  // The parser refuses an empty string; an empty file simply has no statements.
  if (source.text.trim() === '') return { ok: true, parsed: { source, statements: [], positions } };
  let tree: { stmts?: RawStmt[] };
  try {
    tree = parseSync(source.text) as { stmts?: RawStmt[] };
  } catch (e) {
    const err = e as Error & { sqlDetails?: { cursorPosition?: number } };
    // The cursor is a 0-based character (code point) count into the text.
    const cursor = err.sqlDetails?.cursorPosition ?? 0;
    const index = positions.indexAfterCodePoints(0, Math.max(0, cursor));
    return { ok: false, source, error: { message: err.message, ...positions.lineColumnAt(index) } };
  }
  const raw = tree.stmts ?? [];
  const total = positions.byteLength;
  // Zero-valued fields are omitted by the parser: no location means 0, no length means "to the end".
  const byteStarts = raw.map((s) => s.stmt_location ?? 0);
  const byteEnds = raw.map((s, i) => (s.stmt_len ? byteStarts[i]! + s.stmt_len : total));
  const idx = positions.indexesOfByteOffsets([...byteStarts, ...byteEnds]);
  const statements: Statement[] = [];
  raw.forEach((s, i) => {
    const start = idx[i]!;
    const end = idx[raw.length + i]!;
    const tokenStart = skipTrivia(source.text, start, end);
    const node = s.stmt ?? {};
    statements.push({
      sql: source.text.slice(start, end),
      start,
      tokenStart,
      ...positions.lineColumnAt(tokenStart),
      node,
      ...classifyStatement(node),
    });
  });
  return { ok: true, parsed: { source, statements, positions } };
}

/** File position of a Postgres error `position` (1-based characters into `stmt.sql`). */
export function positionInStatement(parsed: ParsedSource, stmt: Statement, position: number | undefined): LineColumn {
  if (!position || position < 1) return { line: stmt.line, column: stmt.column };
  const index = parsed.positions.indexAfterCodePoints(stmt.start, position - 1);
  return parsed.positions.lineColumnAt(index);
}

/** First line of a statement, shortened, for tables and progress lines. */
export function statementHead(stmt: Statement, max = 80): string {
  const text = stmt.sql.slice(stmt.tokenStart - stmt.start).replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
