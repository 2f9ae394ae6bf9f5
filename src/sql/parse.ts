import { loadModule, parseSync, scanSync } from 'libpg-query';
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
  /** Parse tree root of this statement: `{ CreateStmt: {...} }`; empty when the parser refused it. */
  node: Record<string, unknown>;
  /** The bundled parser's refusal, for a statement sent to the server on the server's word. */
  unparsed?: SqlParseError;
}

export interface ParsedSource {
  source: SqlSource;
  statements: Statement[];
  positions: TextPositions;
}

export interface SqlParseError extends LineColumn {
  message: string;
}

export type ParseResult =
  | { ok: true; parsed: ParsedSource }
  /**
   * `lenient` splits the file by its tokens alone, the refused statements without a tree: what
   * runs when the server's grammar (older or newer than the parser's) accepts them.
   */
  | { ok: false; error: SqlParseError; source: SqlSource; lenient?: ParsedSource };

/** The Postgres major whose grammar the bundled parser (libpg-query) speaks. */
export const PARSER_MAJOR = 18;

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

/** Files larger than this are parsed in pieces: the WebAssembly parser runs out of memory near 50 MB. */
const CHUNK_CHARS = 2_000_000;

interface RawRange {
  start: number;
  end: number;
  node: Record<string, unknown>;
}

type RawParse = { ok: true; ranges: RawRange[] } | { ok: false; index: number; message: string };

/** One parser call; statement ranges as string indexes into `text`. */
function parseOnce(text: string): RawParse {
  const positions = new TextPositions(text);
  let tree: { stmts?: RawStmt[] };
  try {
    tree = parseSync(text) as { stmts?: RawStmt[] };
  } catch (e) {
    const err = e as Error & { sqlDetails?: { cursorPosition?: number } };
    // The cursor is a 0-based character (code point) count into the text.
    const cursor = err.sqlDetails?.cursorPosition ?? 0;
    return { ok: false, index: positions.indexAfterCodePoints(0, Math.max(0, cursor)), message: err.message };
  }
  const raw = tree.stmts ?? [];
  const total = positions.byteLength;
  // Zero-valued fields are omitted by the parser: no location means 0, no length means "to the end".
  // The location is the statement's first token (before 18: just after the previous `;`); the
  // length ends at the statement's own `;`.
  const byteStarts = raw.map((s) => s.stmt_location ?? 0);
  const byteEnds = raw.map((s, i) => (s.stmt_len ? byteStarts[i]! + s.stmt_len : total));
  const idx = positions.indexesOfByteOffsets([...byteStarts, ...byteEnds]);
  const ranges: RawRange[] = [];
  for (let i = 0; i < raw.length; i++) {
    const end = idx[raw.length + i]!;
    const start = afterSeparators(text, i === 0 ? 0 : idx[raw.length + i - 1]!, idx[i]!);
    ranges.push({ start, end, node: raw[i]!.stmt ?? {} });
  }
  return { ok: true, ranges };
}

/**
 * Where a statement's text starts: just after the last `;` between the previous statement's end
 * and this statement's first token (only blanks, comments and empty statements lie between).
 */
function afterSeparators(text: string, from: number, token: number): number {
  let start = from;
  let i = from;
  for (;;) {
    const j = skipTrivia(text, i, token);
    if (j < token && text[j] === ';') {
      start = i = j + 1;
      continue;
    }
    return start;
  }
}

/** Index just past the first `;` that ends a line at or after `from`; the text's end if none. */
function nextLineEndingSemicolon(text: string, from: number): number {
  const re = /;[ \t]*\r?\n/g;
  re.lastIndex = from;
  const m = re.exec(text);
  return m ? m.index + 1 : text.length;
}

/**
 * A cut after a `;` can fall inside a string, a quoted identifier, a comment, a dollar-quoted
 * body or a `BEGIN ATOMIC` body; the parser then says so at the end of the piece in these words.
 */
function cutShort(message: string): boolean {
  return /^unterminated |at end of input/.test(message);
}

/**
 * Parses a large text in pieces cut after a `;` that ends a line. A piece the cut left unfinished
 * is parsed again, longer; any other error is the file's own.
 */
function parseInPieces(text: string, chunkChars: number): RawParse {
  const ranges: RawRange[] = [];
  let from = 0;
  while (from < text.length) {
    let to = nextLineEndingSemicolon(text, from + chunkChars);
    for (;;) {
      const piece = text.slice(from, to);
      const r = piece.trim() === '' ? ({ ok: true, ranges: [] } as RawParse) : parseOnce(piece);
      if (!r.ok) {
        if (to < text.length && cutShort(r.message)) {
          // Grow the piece: at least one more statement end, and twice as long.
          to = nextLineEndingSemicolon(text, Math.max(to, from + 2 * (to - from)));
          continue;
        }
        return { ok: false, index: from + r.index, message: r.message };
      }
      for (const range of r.ranges) ranges.push({ start: from + range.start, end: from + range.end, node: range.node });
      from = to;
      break;
    }
  }
  return { ok: true, ranges };
}

/** Splits a file into statements with the real Postgres parser; a syntax error comes back with its position. */
export function parseSource(source: SqlSource, opts: { chunkChars?: number } = {}): ParseResult {
  const chunkChars = opts.chunkChars ?? CHUNK_CHARS;
  const positions = new TextPositions(source.text);
  // The parser refuses an empty string; an empty file simply has no statements.
  if (source.text.trim() === '') return { ok: true, parsed: { source, statements: [], positions } };
  const r = source.text.length > chunkChars ? parseInPieces(source.text, chunkChars) : parseOnce(source.text);
  if (!r.ok) {
    const lenient = splitByTokens(source, positions);
    return { ok: false, source, error: { message: r.message, ...positions.lineColumnAt(r.index) }, ...(lenient ? { lenient } : {}) };
  }
  const statements: Statement[] = r.ranges.map(({ start, end, node }) => {
    const tokenStart = skipTrivia(source.text, start, end);
    return {
      sql: source.text.slice(start, end),
      start,
      tokenStart,
      ...positions.lineColumnAt(tokenStart),
      node,
      ...classifyStatement(node),
    };
  });
  return { ok: true, parsed: { source, statements, positions } };
}

/**
 * Splits a file the parser refused at its top-level semicolons (the scanner knows strings,
 * comments and dollar quotes; `BEGIN ATOMIC ... END` bodies are counted) and parses each
 * statement alone. Undefined when even the scanner fails (an unterminated string).
 */
function splitByTokens(source: SqlSource, positions: TextPositions): ParsedSource | undefined {
  const text = source.text;
  let tokens: Array<{ start: number; end: number; text: string }>;
  try {
    tokens = scanSync(text).tokens;
  } catch {
    return undefined;
  }
  const byteEnds: number[] = [];
  let atomic = 0;
  let cases = 0;
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i]!.text.toUpperCase();
    if (word === 'BEGIN' && tokens[i + 1]?.text.toUpperCase() === 'ATOMIC') atomic++;
    else if (atomic > 0 && word === 'CASE') cases++;
    else if (atomic > 0 && word === 'END') {
      if (cases > 0) cases--;
      else atomic--;
    } else if (atomic === 0 && word === ';') byteEnds.push(tokens[i]!.start);
  }
  const ends = [...positions.indexesOfByteOffsets(byteEnds), text.length];
  const statements: Statement[] = [];
  let start = 0;
  for (const end of ends) {
    const piece = text.slice(start, end);
    const tokenStart = skipTrivia(text, start, end);
    if (tokenStart < end) {
      const alone = parseOnce(piece);
      const node = alone.ok && alone.ranges.length === 1 ? alone.ranges[0]!.node : {};
      const unparsed = alone.ok ? undefined : { message: alone.message, ...positions.lineColumnAt(start + alone.index) };
      statements.push({
        sql: piece,
        start,
        tokenStart,
        ...positions.lineColumnAt(tokenStart),
        node,
        ...classifyStatement(node),
        ...(unparsed ? { unparsed, kind: 'Unknown' } : {}),
      });
    }
    start = end + 1;
  }
  return { source, statements, positions };
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
