/**
 * The joins a migration writes: equalities between columns of two tables, in `UPDATE ... FROM`,
 * correlated subqueries, `JOIN ... ON` / `USING` and `WHERE` clauses. Generated rows follow them
 * (both columns drawn from one key space), so a backfill from a sibling table finds partners also
 * where no foreign key declares the relation.
 */
import { isNode, kindOf, list, rangeVarName, str, stringList, unwrap, type Node } from './nodes.js';

export interface ColumnName {
  /** Table as written: "schema.table" or "table". */
  table: string;
  column: string;
}

export interface JoinPair {
  left: ColumnName;
  right: ColumnName;
}

/** A name a query can use for a relation, and the table behind it (undefined: a subquery, a CTE, a function). */
interface Range {
  alias: string;
  table: string | undefined;
}

type Scopes = Range[][];

/** The relations of a FROM list, and the equalities of each USING between two plain tables. */
function rangesOf(items: unknown[], ctes: Set<string>, out: JoinPair[]): Range[] {
  const ranges: Range[] = [];
  const add = (item: unknown): Range[] => {
    const k = kindOf(item);
    if (!k) return [];
    const [kind, body] = k;
    if (kind === 'RangeVar') {
      const name = rangeVarName(body);
      const relname = str(body.relname);
      if (name === undefined || relname === undefined) return [];
      const alias = str(unwrap(body.alias, 'Alias')?.aliasname) ?? str((body.alias as Node | undefined)?.aliasname) ?? relname;
      const isCte = body.schemaname === undefined && ctes.has(relname);
      return [{ alias, table: isCte ? undefined : name }];
    }
    if (kind === 'JoinExpr') {
      const left = add(body.larg);
      const right = add(body.rarg);
      const using = stringList(body.usingClause);
      const l = left.filter((r) => r.table !== undefined);
      const r = right.filter((x) => x.table !== undefined);
      if (using.length > 0 && l.length === 1 && r.length === 1) {
        for (const column of using) out.push({ left: { table: l[0]!.table!, column }, right: { table: r[0]!.table!, column } });
      }
      return [...left, ...right];
    }
    const alias = str((body.alias as Node | undefined)?.aliasname);
    return alias !== undefined ? [{ alias, table: undefined }] : [];
  };
  for (const item of items) ranges.push(...add(item));
  return ranges;
}

/** The table and column a column reference names, looked up innermost scope first. */
function resolve(ref: Node, scopes: Scopes): ColumnName | undefined {
  const fields = list(ref.fields).map((f) => str(unwrap(f, 'String')?.sval));
  if (fields.some((f) => f === undefined)) return undefined; // a `*`
  const names = fields as string[];
  const column = names[names.length - 1]!;
  if (names.length === 1) {
    // Unqualified: only when the innermost query reads one relation.
    const inner = scopes[0] ?? [];
    return inner.length === 1 && inner[0]!.table !== undefined ? { table: inner[0]!.table, column } : undefined;
  }
  const qualifier = names.slice(0, -1).join('.');
  for (const scope of scopes) {
    const hit = scope.find((r) => r.alias === qualifier || r.table === qualifier);
    if (hit) return hit.table !== undefined ? { table: hit.table, column } : undefined;
  }
  return undefined;
}

function cteNames(withClause: unknown): string[] {
  const w = unwrap(withClause, 'WithClause') ?? (isNode(withClause) ? withClause : undefined);
  return list(w?.ctes).flatMap((c) => {
    const name = str(unwrap(c, 'CommonTableExpr')?.ctename);
    return name !== undefined ? [name] : [];
  });
}

function visit(v: unknown, scopes: Scopes, ctes: Set<string>, out: JoinPair[]): void {
  if (Array.isArray(v)) {
    for (const item of v) visit(item, scopes, ctes, out);
    return;
  }
  if (!isNode(v)) return;
  const k = kindOf(v);
  if (k) {
    const [kind, body] = k;
    const withNames = cteNames(body.withClause);
    const inner = withNames.length > 0 ? new Set([...ctes, ...withNames]) : ctes;
    let scope: Range[] | undefined;
    if (kind === 'SelectStmt') scope = rangesOf(list(body.fromClause), inner, out);
    else if (kind === 'UpdateStmt') scope = rangesOf([{ RangeVar: body.relation }, ...list(body.fromClause)], inner, out);
    else if (kind === 'DeleteStmt') scope = rangesOf([{ RangeVar: body.relation }, ...list(body.usingClause)], inner, out);
    else if (kind === 'A_Expr' && body.kind === 'AEXPR_OP' && stringList(body.name).join('.') === '=') {
      const l = unwrap(body.lexpr, 'ColumnRef');
      const r = unwrap(body.rexpr, 'ColumnRef');
      if (l && r) {
        const left = resolve(l, scopes);
        const right = resolve(r, scopes);
        if (left && right && left.table !== right.table) out.push({ left, right });
      }
    }
    const next = scope ? [scope, ...scopes] : scopes;
    for (const child of Object.values(body)) visit(child, next, inner, out);
    return;
  }
  for (const child of Object.values(v)) visit(child, scopes, ctes, out);
}

/** Column equalities between two tables in these statements, each pair once. */
export function joinPairs(statements: ReadonlyArray<{ node: Record<string, unknown> }>): JoinPair[] {
  const out: JoinPair[] = [];
  for (const s of statements) visit(s.node, [], new Set(), out);
  const seen = new Set<string>();
  return out.filter((p) => {
    const a = `${p.left.table}.${p.left.column}`;
    const b = `${p.right.table}.${p.right.column}`;
    const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
