/**
 * The running release's queries (`queries`): `.sql` files, one query a statement, and exports of
 * pg_stat_statements as CSV or JSON with a `query` column. Only statements that can be planned
 * (SELECT, INSERT, UPDATE, DELETE, MERGE) are kept; a folder is read file by file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { InputError, errorMessage } from '../errors.js';
import { parseSource } from '../sql/parse.js';

export interface AppQuery {
  file: string;
  /** 1-based line of the query in its file, when the file tells lines. */
  line?: number;
  sql: string;
}

const PLANNABLE = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
const EXTENSIONS = ['.sql', '.csv', '.json'];

export interface LoadedQueries {
  queries: AppQuery[];
  /** Entries left out: utility statements (BEGIN, SET...) or text that does not parse. */
  skipped: number;
}

export function loadQueries(root: string, target: string): LoadedQueries {
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (e) {
    throw new InputError('input', `cannot read queries ${rel(target)}: ${errorMessage(e)}`);
  }
  const files = stat.isDirectory()
    ? fs
        .readdirSync(target)
        .filter((f) => EXTENSIONS.includes(path.extname(f).toLowerCase()))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  if (files.length === 0) throw new InputError('input', `queries folder ${rel(target)} holds no .sql, .csv or .json file`);
  const out: LoadedQueries = { queries: [], skipped: 0 };
  for (const file of files) {
    const ext = path.extname(file).toLowerCase();
    if (!EXTENSIONS.includes(ext)) throw new InputError('input', `queries file ${rel(file)} is not .sql, .csv or .json`);
    const text = fs.readFileSync(file, 'utf8');
    const entries = ext === '.sql' ? sqlFile(rel(file), text) : ext === '.csv' ? csvFile(rel(file), text) : jsonFile(rel(file), text);
    for (const e of entries) {
      const parsed = parseSource({ file: e.file, text: e.sql });
      const kind = parsed.ok && parsed.parsed.statements.length === 1 ? parsed.parsed.statements[0]!.kind : undefined;
      if (kind === undefined || !PLANNABLE.has(kind)) {
        out.skipped++;
        continue;
      }
      out.queries.push(e);
    }
  }
  return out;
}

function sqlFile(file: string, text: string): AppQuery[] {
  const parsed = parseSource({ file, text });
  if (!parsed.ok) throw new InputError('input', `${file}:${parsed.error.line}:${parsed.error.column}: ${parsed.error.message}`);
  return parsed.parsed.statements.map((s) => ({ file, line: s.line, sql: s.sql.slice(s.tokenStart - s.start).trim() }));
}

function csvFile(file: string, text: string): AppQuery[] {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(text, { columns: true, info: true, skip_empty_lines: true, relax_column_count: true, bom: true });
  } catch (e) {
    throw new InputError('input', `${file} is not valid CSV: ${errorMessage(e)}`);
  }
  if (records.length > 0 && !('query' in records[0]!.record)) {
    throw new InputError('input', `${file} has no "query" column (columns: ${Object.keys(records[0]!.record).join(', ')})`);
  }
  // A record's line is where it ends; a query spanning lines is found by its first.
  return records.map(({ record, info }) => ({ file, line: info.lines - (record.query!.match(/\n/g)?.length ?? 0), sql: record.query! }));
}

function jsonFile(file: string, text: string): AppQuery[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError('input', `${file} is not valid JSON: ${errorMessage(e)}`);
  }
  if (!Array.isArray(data)) throw new InputError('input', `${file} must hold an array of objects with a "query" field`);
  return data.map((row, i) => {
    const q = typeof row === 'object' && row !== null ? (row as Record<string, unknown>).query : undefined;
    if (typeof q !== 'string') throw new InputError('input', `${file}: entry ${i + 1} has no "query" string`);
    return { file, sql: q };
  });
}
