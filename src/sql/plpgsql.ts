/**
 * The SQL inside a PL/pgSQL body, read with libpg-query's PL/pgSQL parser: every embedded
 * statement and expression parsed again as SQL, so the tables a DO block touches are known from
 * its body. Undefined when the body cannot be read that way: dynamic SQL (EXECUTE, OPEN ...
 * FOR EXECUTE), a part the SQL parser rejects, or a parser build without PL/pgSQL support.
 */
import * as libpgQuery from 'libpg-query';
import { isNode, kindOf, str, walk, type Node } from './nodes.js';

type PlParser = (sql: string) => unknown;

/** The PL/pgSQL parser of the bundled libpg-query (looked up, so a build without one degrades to the text scan). */
function plParser(): PlParser | undefined {
  const fn = (libpgQuery as unknown as Record<string, unknown>).parsePlPgSQLSync;
  return typeof fn === 'function' ? (fn as PlParser) : undefined;
}

export function plpgsqlAvailable(): boolean {
  return plParser() !== undefined;
}

const DYNAMIC = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);

/** A dollar quote that does not occur in the body. */
function quoteTag(body: string): string {
  let tag = 'mci';
  while (body.includes(`$${tag}$`)) tag += '_';
  return `$${tag}$`;
}

/** Parse trees of plain SQL text (a SQL function's body), or undefined when it does not parse. */
export function parseSql(text: string): Node[] | undefined {
  try {
    const r = libpgQuery.parseSync(text) as { stmts?: Array<{ stmt?: Node }> };
    return (r.stmts ?? []).flatMap((s) => (s.stmt ? [s.stmt] : []));
  } catch {
    return undefined;
  }
}

/** Parse trees (`{ UpdateStmt: {...} }`) of the SQL a PL/pgSQL body runs, or undefined when they cannot all be read. */
export function plpgsqlStatements(body: string): Node[] | undefined {
  const parse = plParser();
  if (!parse) return undefined;
  const q = quoteTag(body);
  let tree: unknown;
  try {
    tree = parse(`CREATE FUNCTION pg_temp.migration_ci_body() RETURNS void LANGUAGE plpgsql AS ${q}${body}${q}`);
  } catch {
    return undefined;
  }
  const out: Node[] = [];
  for (const node of walk(tree)) {
    const k = kindOf(node);
    if (k && DYNAMIC.has(k[0])) return undefined;
    if (k && k[0] === 'PLpgSQL_stmt_open' && isNode(k[1].dynquery)) return undefined;
    if (!k || k[0] !== 'PLpgSQL_expr') continue;
    const query = str(k[1].query);
    if (query === undefined) continue;
    // A whole statement, or an expression / assignment (`n > 0`, `n := (SELECT ...)`).
    const assigned = /^\s*[A-Za-z_][\w.]*\s*(?::=|=)\s*/.exec(query);
    const parsed = parseSql(query) ?? parseSql(`SELECT ${assigned ? query.slice(assigned[0].length) : query}`);
    if (!parsed) return undefined;
    out.push(...parsed);
  }
  return out;
}
