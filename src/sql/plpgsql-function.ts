import { parsePlPgSQLSync, parseSync } from 'libpg-query';
import { isNode, list, str, stringList, unwrap, walk, type Node } from './nodes.js';

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
  statements: PlpgsqlStatement[];
}

// Parse modes of PLpgSQL_expr (RawParseMode in the server's parser.h).
const RAW_PARSE_DEFAULT = 0;
const RAW_PARSE_PLPGSQL_EXPR = 2;
const RAW_PARSE_PLPGSQL_ASSIGN1 = 3;
const RAW_PARSE_PLPGSQL_ASSIGN3 = 5;

/**
 * The statements and expressions of a PL/pgSQL function, from its `CREATE FUNCTION` text
 * (pg_get_functiondef). Dynamic SQL (`EXECUTE`) is left out: its text is only known at run time.
 * Throws when the body does not parse.
 */
export async function parsePlpgsqlFunction(createFunction: string): Promise<PlpgsqlBody> {
  // The parser is loaded once per run (loadParser) before any stage starts.
  const tree: unknown = parsePlPgSQLSync(createFunction);
  const fn = unwrap(list(isNode(tree) ? tree.plpgsql_funcs : undefined)[0], 'PLpgSQL_function');
  if (!fn) throw new Error('no PL/pgSQL function found');
  const variables = new Map<string, string>();
  for (const d of list(fn.datums)) {
    const v = unwrap(d, 'PLpgSQL_var') ?? unwrap(d, 'PLpgSQL_rec');
    const name = str(v?.refname);
    if (!v || name === undefined) continue;
    variables.set(name.toLowerCase(), str(unwrap(v.datatype, 'PLpgSQL_type')?.typname) ?? 'record');
  }
  const statements: PlpgsqlStatement[] = [];
  collect(fn.action, 0, false, statements);
  return { variables, statements };
}

/** Every PLpgSQL_expr under a node, with the line of the PL/pgSQL statement holding it. */
function collect(v: unknown, lineno: number, dynamic: boolean, out: PlpgsqlStatement[]): void {
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
        if (s !== undefined) out.push({ lineno: line, sql: s });
      }
      continue;
    }
    // EXECUTE's string is built at run time; its USING arguments are still expressions, but rarely worth it.
    const isDynamic = kind === 'PLpgSQL_stmt_dynexecute' || kind === 'PLpgSQL_stmt_dynfors' || kind === 'PLpgSQL_stmt_open';
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
    const m = /^\s*[^:=]*?(:=|=)/.exec(query);
    return m ? `SELECT ${query.slice(m[0].length)}` : undefined;
  }
  return undefined;
}

/** Statement kinds PREPARE accepts: the ones planning can check. */
const PREPARABLE = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

export interface BoundStatement {
  /** The statement with each variable reference replaced by `$n`. */
  sql: string;
  /** Name of the variable behind `$1`, `$2`, ... */
  params: string[];
  /** Variables whose fields the statement reads (`rec.id`): a record of unknown type cannot be planned. */
  fieldsOf: Set<string>;
  kind: string;
}

/**
 * Replaces references to PL/pgSQL variables (and `fn.arg` qualified ones) by numbered parameters
 * so that the statement can be planned on its own. Undefined when it is not one plannable
 * statement (utility commands, syntax the SQL parser refuses).
 */
export function bindVariables(
  sql: string,
  variables: ReadonlySet<string>,
  options: { functionName?: string; leading?: readonly string[] } = {},
): BoundStatement | undefined {
  const { functionName, leading = [] } = options;
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch {
    return undefined;
  }
  const stmts = list(isNode(tree) ? tree.stmts : undefined);
  if (stmts.length !== 1) return undefined;
  const root = unwrap(stmts[0], 'RawStmt')?.stmt ?? (isNode(stmts[0]) ? stmts[0].stmt : undefined);
  const kind = isNode(root) ? Object.keys(root)[0] : undefined;
  if (kind === undefined || !PREPARABLE.has(kind)) return undefined;
  // A statement of variables and constants alone reads nothing a migration can take away.
  if (![...walk(root)].some((n) => 'relname' in n || 'RangeVar' in n || 'FuncCall' in n || 'TypeCast' in n)) return undefined;
  const bytes = Buffer.from(sql, 'utf8');
  const edits: Array<{ start: number; end: number; name: string; wrap: boolean }> = [];
  for (const node of walk(root)) {
    const ref = unwrap(node, 'ColumnRef');
    if (!ref || typeof ref.location !== 'number') continue;
    const fields = stringList(ref.fields);
    const starred = list(ref.fields).length > fields.length;
    let skip = 0;
    if (functionName && fields.length >= 2 && fields[0] === functionName.toLowerCase() && variables.has(fields[1]!)) skip = 1;
    const name = fields[skip];
    if (name === undefined || !variables.has(name)) continue;
    const end = identifierEnd(bytes, ref.location, skip + 1);
    if (end === undefined) return undefined;
    edits.push({ start: ref.location, end, name, wrap: fields.length > skip + 1 || starred });
  }
  edits.sort((a, b) => b.start - a.start);
  // `$1`..`$k` written in the body are the function's arguments: they keep their numbers.
  const numbers = new Map<string, number>(leading.map((name, i) => [name, i + 1]));
  for (const e of [...edits].reverse()) if (!numbers.has(e.name)) numbers.set(e.name, numbers.size + 1);
  const params = [...numbers.keys()];
  let out = bytes;
  for (const e of edits) {
    const p = `$${numbers.get(e.name)}`;
    out = Buffer.concat([out.subarray(0, e.start), Buffer.from(e.wrap ? `(${p})` : p), out.subarray(e.end)]);
  }
  const fieldsOf = new Set(edits.filter((e) => e.wrap).map((e) => e.name));
  return { sql: out.toString('utf8'), params, fieldsOf, kind };
}

const IDENT = /^(?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*)/u;

/** The byte offset just past `count` dot-separated identifiers starting at `start`. */
function identifierEnd(bytes: Buffer, start: number, count: number): number | undefined {
  let pos = start;
  for (let i = 0; i < count; i++) {
    if (i > 0) {
      const rest = bytes.subarray(pos).toString('utf8');
      const dot = /^\s*\.\s*/.exec(rest);
      if (!dot) return undefined;
      pos += Buffer.byteLength(dot[0]);
    }
    const rest = bytes.subarray(pos).toString('utf8');
    const m = IDENT.exec(rest);
    if (!m) return undefined;
    pos += Buffer.byteLength(m[0]);
  }
  return pos;
}
