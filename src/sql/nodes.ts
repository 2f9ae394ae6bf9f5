/**
 * Small readers for libpg-query parse trees. The parser omits fields that hold their zero
 * value (false, 0, empty lists), so every reader tolerates a missing field.
 */

export type Node = Record<string, unknown>;

export function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The body of a wrapped node: `{ RangeVar: {...} }` -> `{...}` for kind `RangeVar`. */
export function unwrap(v: unknown, kind: string): Node | undefined {
  if (!isNode(v)) return undefined;
  const inner = v[kind];
  return isNode(inner) ? inner : undefined;
}

/** The one kind and body of a wrapped node: `{ IndexStmt: {...} }` -> ['IndexStmt', {...}]. */
export function kindOf(v: unknown): [string, Node] | undefined {
  if (!isNode(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const body = v[keys[0]!];
  return isNode(body) ? [keys[0]!, body] : undefined;
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** `[{ String: { sval: 'a' } }, ...]` -> ['a', ...]. */
export function stringList(v: unknown): string[] {
  return list(v)
    .map((item) => str(unwrap(item, 'String')?.sval))
    .filter((s): s is string => s !== undefined);
}

/** A table name as written: "schema.table" or "table" (identifiers already case-folded by the parser). */
export function rangeVarName(v: unknown): string | undefined {
  // Both the bare RangeVar body and the `{ RangeVar: ... }` wrapper occur in trees.
  const rv = unwrap(v, 'RangeVar') ?? (isNode(v) ? v : undefined);
  const rel = str(rv?.relname);
  if (rel === undefined) return undefined;
  const schema = str(rv?.schemaname);
  return schema !== undefined ? `${schema}.${rel}` : rel;
}

/** Every node of a subtree, depth first (the root included). */
export function* walk(v: unknown): Generator<Node> {
  if (Array.isArray(v)) {
    for (const item of v) yield* walk(item);
    return;
  }
  if (!isNode(v)) return;
  yield v;
  for (const child of Object.values(v)) {
    if (typeof child === 'object' && child !== null) yield* walk(child);
  }
}

/**
 * A table name as migrations write it, for comparing: "public.users" and "users" name the same
 * table under the default search path; "billing.users" is another one.
 */
export function tableKey(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name;
}

/** The argument of the option `name` in a list of DefElem nodes (a statement's options). */
export function defElemArg(options: unknown, name: string): unknown {
  for (const o of list(options)) {
    const d = unwrap(o, 'DefElem');
    if (d && d.defname === name) return d.arg;
  }
  return undefined;
}

/**
 * The body text and language (lower case) of a DO block or of a function given as a string;
 * undefined for other nodes and for a SQL-standard body, which is already part of the tree. A DO
 * block's language is plpgsql unless it says otherwise; a function's is what it declares.
 */
export function routineSource(kind: string, body: Node): { text: string; language: string | undefined } | undefined {
  if (kind === 'DoStmt') {
    const text = str(unwrap(defElemArg(body.args, 'as'), 'String')?.sval);
    const language = str(unwrap(defElemArg(body.args, 'language'), 'String')?.sval)?.toLowerCase() ?? 'plpgsql';
    return text === undefined ? undefined : { text, language };
  }
  if (kind === 'CreateFunctionStmt') {
    const text = str(unwrap(list(unwrap(defElemArg(body.options, 'as'), 'List')?.items)[0], 'String')?.sval);
    const language = str(unwrap(defElemArg(body.options, 'language'), 'String')?.sval)?.toLowerCase();
    return text === undefined ? undefined : { text, language };
  }
  return undefined;
}
