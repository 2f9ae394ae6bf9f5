/**
 * A statement of a PL/pgSQL body made plannable on its own: references to the body's variables
 * become numbered parameters (the dependencies stage PREPAREs it with their types).
 */
import { parseSync, scanSync } from 'libpg-query';
import { isNode, list, stringList, unwrap, walk } from './nodes.js';

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
    const end = identifierEnd(sql, ref.location, skip + 1);
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

/** The byte offset just past `count` dot-separated identifiers starting at byte `start`, read with the SQL scanner. */
function identifierEnd(sql: string, start: number, count: number): number | undefined {
  let tokens: Array<{ start: number; end: number; text: string }>;
  try {
    tokens = (scanSync(sql) as { tokens: Array<{ start: number; end: number; text: string }> }).tokens;
  } catch {
    return undefined;
  }
  let i = tokens.findIndex((t) => t.start === start);
  if (i < 0) return undefined;
  let end = tokens[i]!.end;
  for (let n = 1; n < count; n++) {
    if (tokens[i + 1]?.text !== '.' || tokens[i + 2] === undefined) return undefined;
    i += 2;
    end = tokens[i]!.end;
  }
  return end;
}
