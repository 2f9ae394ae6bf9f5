import type { ParsedSource, Statement } from './parse.js';

/** Parse-tree fields that hold the name of a relation, column, index, constraint, trigger, type... */
const NAME_FIELDS = new Set([
  'relname',
  'idxname',
  'conname',
  'colname',
  'name',
  'newname',
  'subname',
  'trigname',
  'policy_name',
  'schemaname',
  'extname',
  'sval',
  'str',
]);

const cache = new WeakMap<Statement, Set<string>>();

/**
 * Every identifier a statement mentions (already case-folded by the parser, as the server would),
 * and, prefixed with `@`, every parse node type in it (`@Constraint`, `@ColumnDef`, `@IndexStmt`).
 */
export function statementNames(stmt: Statement): Set<string> {
  let names = cache.get(stmt);
  if (names) return names;
  names = new Set();
  const stack: unknown[] = [stmt.node];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (/^[A-Z]/.test(k)) names.add(`@${k}`);
        if (typeof child === 'string') {
          if (NAME_FIELDS.has(k)) names.add(child);
        } else {
          stack.push(child);
        }
      }
    }
  }
  cache.set(stmt, names);
  return names;
}

/**
 * The first statement that mentions every name of one of the sets, trying the sets in order
 * (most specific first): where a migration creates, drops or alters an object.
 */
export function findStatementNaming(parsed: ParsedSource, nameSets: readonly (readonly string[])[]): Statement | undefined {
  for (const set of nameSets) {
    if (set.length === 0) continue;
    const found = parsed.statements.find((s) => {
      const names = statementNames(s);
      return set.every((n) => names.has(n));
    });
    if (found) return found;
  }
  return undefined;
}
