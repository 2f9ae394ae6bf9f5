/**
 * The one reader of PL/pgSQL bodies: libpg-query's PL/pgSQL parser (parsePlPgSQL) gives the
 * function's declared variables and every SQL statement and expression it runs, with its line.
 * Its users sit on top: the reach of a DO block or a routine a migration defines (touched.ts,
 * which parses each statement again as SQL) and the dependencies stage (which plans each one).
 * Dynamic SQL (EXECUTE, OPEN ... FOR EXECUTE, FOR ... IN EXECUTE) is only known at run time: it is
 * left out, and the body says it has some.
 */
import * as libpgQuery from 'libpg-query';
import { isNode, list, str, unwrap, type Node } from './nodes.js';

/** One SQL statement or expression of a PL/pgSQL body, as the PL/pgSQL parser found it. */
export interface PlpgsqlStatement {
  /** Line in the function body (1 = the line of the opening dollar quote). */
  lineno: number;
  /** A whole statement (SELECT, INSERT...), or what goes into `SELECT <expression>`. */
  sql: string;
}

export interface PlpgsqlBody {
  /** Declared variables (lower case) with their declared type as written: `bigint`, `users%rowtype`. */
  variables: Map<string, string>;
  /** The statements and expressions it runs, declarations (defaults, cursor queries) first. */
  statements: PlpgsqlStatement[];
  /** It runs SQL built at run time, which no reader can see. */
  dynamic: boolean;
}

type PlParser = (sql: string) => unknown;

/** The PL/pgSQL parser of the bundled libpg-query (looked up, so a build without one leaves bodies unread). */
function plParser(): PlParser | undefined {
  const fn = (libpgQuery as unknown as Record<string, unknown>).parsePlPgSQLSync;
  return typeof fn === 'function' ? (fn as PlParser) : undefined;
}

export function plpgsqlAvailable(): boolean {
  return plParser() !== undefined;
}

// Parse modes of PLpgSQL_expr (RawParseMode in the server's parser.h).
const RAW_PARSE_DEFAULT = 0;
const RAW_PARSE_PLPGSQL_EXPR = 2;
const RAW_PARSE_PLPGSQL_ASSIGN1 = 3;
const RAW_PARSE_PLPGSQL_ASSIGN3 = 5;

const DYNAMIC = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);

/**
 * The variables and statements of a PL/pgSQL function, from its whole `CREATE FUNCTION` text (a
 * migration's statement, or pg_get_functiondef). Throws when the parser refuses it.
 */
export function readPlpgsqlFunction(createFunction: string): PlpgsqlBody {
  const parse = plParser();
  if (!parse) throw new Error('this build of libpg-query has no PL/pgSQL parser');
  const tree: unknown = parse(createFunction);
  const fn = unwrap(list(isNode(tree) ? tree.plpgsql_funcs : undefined)[0], 'PLpgSQL_function');
  if (!fn) throw new Error('no PL/pgSQL function found');
  const variables = new Map<string, string>();
  const out: Collected = { statements: [], dynamic: false };
  for (const d of list(fn.datums)) {
    const v = unwrap(d, 'PLpgSQL_var') ?? unwrap(d, 'PLpgSQL_rec');
    const name = str(v?.refname);
    if (!v || name === undefined) continue;
    variables.set(name.toLowerCase(), str(unwrap(v.datatype, 'PLpgSQL_type')?.typname) ?? 'record');
    // A default value or a cursor's query runs too.
    collect([v.default_val, v.cursor_explicit_expr], typeof v.lineno === 'number' ? v.lineno : 0, false, out);
  }
  collect(fn.action, 0, false, out);
  return { variables, ...out };
}

/** A dollar quote that does not occur in the body. */
function quoteTag(body: string): string {
  let tag = 'mci';
  while (body.includes(`$${tag}$`)) tag += '_';
  return `$${tag}$`;
}

/**
 * The same from a body alone (a DO block's, or a routine's when its statement text is not at
 * hand), read as the body of a function returning `returns`. Undefined when the parser refuses it.
 */
export function readPlpgsqlBody(body: string, returns = 'void'): PlpgsqlBody | undefined {
  if (!plParser()) return undefined;
  const q = quoteTag(body);
  try {
    return readPlpgsqlFunction(`CREATE FUNCTION pg_temp.migration_ci_body() RETURNS ${returns} LANGUAGE plpgsql AS ${q}${body}${q}`);
  } catch {
    return undefined;
  }
}

interface Collected {
  statements: PlpgsqlStatement[];
  dynamic: boolean;
}

/** Every PLpgSQL_expr under a node, with the line of the PL/pgSQL statement holding it; dynamic SQL left out. */
function collect(v: unknown, lineno: number, dynamic: boolean, out: Collected): void {
  if (Array.isArray(v)) {
    for (const item of v) collect(item, lineno, dynamic, out);
    return;
  }
  if (!isNode(v)) return;
  for (const [kind, body] of Object.entries(v)) {
    if (!isNode(body)) {
      if (Array.isArray(body)) collect(body, lineno, dynamic, out);
      continue;
    }
    const line = typeof body.lineno === 'number' ? body.lineno : lineno;
    if (kind === 'PLpgSQL_expr') {
      if (!dynamic) {
        const s = statementOf(body);
        if (s !== undefined) out.statements.push({ lineno: line, sql: s });
      }
      continue;
    }
    // EXECUTE's string is built at run time; its USING arguments are still expressions, but rarely worth it.
    const isDynamic = DYNAMIC.has(kind) || (kind === 'PLpgSQL_stmt_open' && isNode(body.dynquery));
    if (isDynamic) out.dynamic = true;
    for (const child of Object.values(body)) collect(child, line, dynamic || isDynamic, out);
  }
}

function statementOf(expr: Node): string | undefined {
  const query = str(expr.query);
  if (query === undefined) return undefined;
  const mode = typeof expr.parseMode === 'number' ? expr.parseMode : RAW_PARSE_DEFAULT;
  if (mode === RAW_PARSE_DEFAULT) return query;
  if (mode === RAW_PARSE_PLPGSQL_EXPR) return `SELECT ${query}`;
  if (mode >= RAW_PARSE_PLPGSQL_ASSIGN1 && mode <= RAW_PARSE_PLPGSQL_ASSIGN3) {
    // `target := expression` (or `=`): the target is a variable, the expression is what reads the schema.
    const at = assignmentEnd(query);
    return at === undefined ? undefined : `SELECT ${Buffer.from(query, 'utf8').subarray(at).toString('utf8').trimStart()}`;
  }
  return undefined;
}

/** Byte offset just past the `:=` or `=` of an assignment, found with the SQL scanner outside brackets (`a[i] := ...`). */
function assignmentEnd(query: string): number | undefined {
  let tokens: Array<{ start: number; end: number; text: string }>;
  try {
    tokens = (libpgQuery.scanSync(query) as { tokens: Array<{ start: number; end: number; text: string }> }).tokens;
  } catch {
    return undefined;
  }
  let depth = 0;
  for (const t of tokens) {
    if (t.text === '(' || t.text === '[') depth++;
    else if (t.text === ')' || t.text === ']') depth--;
    else if (depth === 0 && (t.text === ':=' || t.text === '=')) return t.end;
  }
  return undefined;
}

/** Parse trees of plain SQL text (a SQL function's body, a statement of a PL/pgSQL body), or undefined when it does not parse. */
export function parseSql(text: string): Node[] | undefined {
  try {
    const r = libpgQuery.parseSync(text) as { stmts?: Array<{ stmt?: Node }> };
    return (r.stmts ?? []).flatMap((s) => (s.stmt ? [s.stmt] : []));
  } catch {
    return undefined;
  }
}

/**
 * The parse trees (`{ UpdateStmt: {...} }`) of the SQL a PL/pgSQL body runs, and whether it also
 * runs dynamic SQL. Undefined when the body, or one of its statements, cannot be read.
 */
export function plpgsqlTrees(body: PlpgsqlBody | undefined): { trees: Node[]; dynamic: boolean } | undefined {
  if (!body) return undefined;
  const trees: Node[] = [];
  for (const s of body.statements) {
    const parsed = parseSql(s.sql);
    if (!parsed) return undefined;
    trees.push(...parsed);
  }
  return { trees, dynamic: body.dynamic };
}

