/**
 * Which tables a migration's statements touch, read from the Postgres parse tree: the tables it
 * creates, alters, renames, indexes, writes, drops, truncates, locks, references through a
 * foreign key, puts triggers, policies or comments on. Used to limit expensive checks to the
 * migrations that touch a list of tables, and to know which tables a statement works on.
 *
 * Names are as written (unquoted identifiers already folded to lower case by the parser); a name
 * written without a schema has `schema: undefined`, since the search_path decides it at run time.
 */

import { isNode, list, routineSource, type Node } from './nodes.js';
import { parseSql, plpgsqlTrees, readPlpgsqlBody, readPlpgsqlFunction, type PlpgsqlBody } from './plpgsql.js';

/** The parse tree root of one statement: `{ AlterTableStmt: {...} }` (what `parseSource` gives). */
export interface ParsedStatementLike {
  node: Record<string, unknown>;
  /** The statement's text, when at hand: a CREATE FUNCTION is then read as written (arguments, return type). */
  sql?: string;
}

export type TouchAction =
  | 'create'
  | 'alter'
  | 'rename'
  | 'index'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | 'drop'
  | 'truncate'
  /** The table is the target of a foreign key being created (it is locked and scanned). */
  | 'reference'
  | 'trigger'
  | 'comment'
  | 'lock'
  /** VACUUM, ANALYZE, CLUSTER, REINDEX, REFRESH. */
  | 'maintain'
  | 'copy'
  | 'policy'
  | 'rule'
  | 'grant'
  | 'statistics'
  /** Attached or detached as a partition, or made a child or parent through INHERITS / PARTITION OF. */
  | 'partition'
  /** Rows are read (FROM, JOIN, USING, subqueries of a statement that runs a query). */
  | 'read';

export interface TableTouch {
  schema: string | undefined;
  name: string;
  action: TouchAction;
  /** Index of the statement in the list given. */
  statement: number;
}

export interface TouchAnalysis {
  touches: TableTouch[];
  /**
   * Statements whose effect on tables cannot be read from the parse tree: DO blocks, CALL,
   * EXECUTE, and queries calling functions that may write. Callers that must not miss a table
   * should treat these as touching anything.
   */
  opaque: number[];
}

/** A RangeVar, given bare (`relation: {...}`) or wrapped (`{ RangeVar: {...} }`). */
function rangeVar(v: unknown): { schema: string | undefined; name: string; temp: boolean } | undefined {
  if (!isNode(v)) return undefined;
  const rv = isNode(v.RangeVar) ? v.RangeVar : v;
  if (typeof rv.relname !== 'string') return undefined;
  return {
    schema: typeof rv.schemaname === 'string' ? rv.schemaname : undefined,
    name: rv.relname,
    temp: rv.relpersistence === 't',
  };
}

/** `{ String: { sval } }` items of a name list (`List` wrapper or plain array). */
function nameList(v: unknown): string[] {
  const items = isNode(v) && isNode(v.List) ? v.List.items : v;
  if (!Array.isArray(items)) return [];
  return items.map((i) => (isNode(i) && isNode(i.String) && typeof i.String.sval === 'string' ? i.String.sval : '')).filter((s) => s !== '');
}

/** Functions a migration commonly calls in a bare SELECT that change no table. */
const HARMLESS_FUNCTIONS = new Set([
  'setval',
  'nextval',
  'currval',
  'set_config',
  'current_setting',
  'pg_advisory_lock',
  'pg_advisory_xact_lock',
  'pg_advisory_unlock',
  'pg_try_advisory_lock',
  'pg_try_advisory_xact_lock',
  'pg_notify',
  'pg_sleep',
  'now',
  'count',
  'max',
  'min',
  'sum',
  'avg',
  'coalesce',
  'lower',
  'upper',
  'length',
  'format',
  'concat',
  'pg_get_serial_sequence',
  'gen_random_uuid',
  'md5',
]);

class Collector {
  readonly touches: TableTouch[] = [];
  readonly opaque = new Set<number>();
  private index = 0;
  private cteNames = new Set<string>();
  /**
   * Functions and procedures these statements define: the SQL of their bodies, undefined when it
   * cannot be read; `complete` false when the body also runs dynamic SQL or calls what cannot be followed.
   */
  private readonly routines = new Map<string, { trees: Node[]; complete: boolean } | undefined>();
  private sql: string | undefined;

  statement(index: number, root: Node, sql?: string): void {
    this.index = index;
    // Only a CREATE FUNCTION is read from its text: a body nested in a DO block is not that text.
    this.sql = root.CreateFunctionStmt !== undefined ? sql : undefined;
    this.cteNames = new Set();
    collectCteNames(root, this.cteNames);
    const kind = Object.keys(root)[0] ?? '';
    const body = root[kind];
    if (!isNode(body)) return;
    this.dispatch(kind, body, true);
  }

  private add(schema: string | undefined, name: string, action: TouchAction): void {
    this.touches.push({ schema, name, action, statement: this.index });
  }

  /** The statements of a body, each as if it stood here; false when the reach stays open (dynamic SQL, a call). */
  private body(read: { trees: Node[]; dynamic: boolean } | undefined): boolean {
    if (!read) return false;
    for (const n of read.trees) {
      const k = Object.keys(n)[0];
      if (k !== undefined && isNode(n[k])) this.dispatch(k, n[k] as Node, false);
    }
    return !read.dynamic && !read.trees.some((n) => opaqueStatement(n));
  }

  private addVar(v: unknown, action: TouchAction): void {
    const r = rangeVar(v);
    if (r) this.add(r.schema, r.name, action);
  }

  /** `[schema.]table` from a name list whose last `drop` items name something on the table. */
  private addFromNames(names: string[], drop: number, action: TouchAction): void {
    const parts = names.slice(0, names.length - drop);
    if (parts.length === 0) return;
    const name = parts[parts.length - 1]!;
    const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    this.add(schema, name, action);
  }

  private dispatch(kind: string, b: Node, top: boolean): void {
    switch (kind) {
      case 'CreateStmt':
        this.addVar(b.relation, 'create');
        for (const parent of list(b.inhRelations)) this.addVar(parent, 'partition');
        for (const el of list(b.tableElts)) this.foreignKeysOf(el);
        return;
      case 'AlterTableStmt':
        if (b.objtype !== undefined && b.objtype !== 'OBJECT_TABLE' && b.objtype !== 'OBJECT_FOREIGN_TABLE') return;
        this.addVar(b.relation, 'alter');
        for (const c of list(b.cmds)) {
          const cmd = isNode(c) && isNode(c.AlterTableCmd) ? c.AlterTableCmd : undefined;
          if (!cmd) continue;
          this.foreignKeysOf(cmd.def);
          const part = isNode(cmd.def) && isNode(cmd.def.PartitionCmd) ? cmd.def.PartitionCmd : undefined;
          if (part) this.addVar(part.name, 'partition');
          if (cmd.subtype === 'AT_AddInherit' || cmd.subtype === 'AT_DropInherit') this.addVar(cmd.def, 'partition');
        }
        return;
      case 'RenameStmt': {
        const t = b.renameType;
        if (t === 'OBJECT_TABLE' || t === 'OBJECT_FOREIGN_TABLE') {
          const r = rangeVar(b.relation);
          if (!r) return;
          this.add(r.schema, r.name, 'rename');
          if (typeof b.newname === 'string') this.add(r.schema, b.newname, 'rename');
          return;
        }
        // Columns, constraints, triggers, policies and rules are renamed on their table.
        if (t === 'OBJECT_COLUMN' && (b.relationType === 'OBJECT_TABLE' || b.relationType === 'OBJECT_FOREIGN_TABLE')) {
          this.addVar(b.relation, 'rename');
        } else if (t === 'OBJECT_TABCONSTRAINT' || t === 'OBJECT_TRIGGER' || t === 'OBJECT_POLICY' || t === 'OBJECT_RULE') {
          this.addVar(b.relation, 'rename');
        }
        return;
      }
      case 'AlterObjectSchemaStmt': {
        if (b.objectType !== 'OBJECT_TABLE' && b.objectType !== 'OBJECT_FOREIGN_TABLE') return;
        const r = rangeVar(b.relation);
        if (!r) return;
        this.add(r.schema, r.name, 'alter');
        if (typeof b.newschema === 'string') this.add(b.newschema, r.name, 'alter');
        return;
      }
      case 'IndexStmt':
        this.addVar(b.relation, 'index');
        return;
      case 'DropStmt': {
        const t = b.removeType;
        for (const o of list(b.objects)) {
          const names = nameList(o);
          if (t === 'OBJECT_TABLE' || t === 'OBJECT_FOREIGN_TABLE') this.addFromNames(names, 0, 'drop');
          else if (t === 'OBJECT_TRIGGER') this.addFromNames(names, 1, 'trigger');
          else if (t === 'OBJECT_POLICY') this.addFromNames(names, 1, 'policy');
          else if (t === 'OBJECT_RULE') this.addFromNames(names, 1, 'rule');
        }
        return;
      }
      case 'TruncateStmt':
        for (const r of list(b.relations)) this.addVar(r, 'truncate');
        return;
      case 'CreateTrigStmt':
        this.addVar(b.relation, 'trigger');
        return;
      case 'CommentStmt': {
        const names = nameList(b.object);
        if (b.objtype === 'OBJECT_TABLE' || b.objtype === 'OBJECT_FOREIGN_TABLE') this.addFromNames(names, 0, 'comment');
        else if (
          b.objtype === 'OBJECT_COLUMN' ||
          b.objtype === 'OBJECT_TABCONSTRAINT' ||
          b.objtype === 'OBJECT_TRIGGER' ||
          b.objtype === 'OBJECT_POLICY' ||
          b.objtype === 'OBJECT_RULE'
        ) {
          this.addFromNames(names, 1, 'comment');
        }
        return;
      }
      case 'LockStmt':
        for (const r of list(b.relations)) this.addVar(r, 'lock');
        return;
      case 'VacuumStmt':
        for (const r of list(b.rels)) {
          const rel = isNode(r) && isNode(r.VacuumRelation) ? r.VacuumRelation.relation : undefined;
          this.addVar(rel, 'maintain');
        }
        return;
      case 'ClusterStmt':
        this.addVar(b.relation, 'maintain');
        return;
      case 'ReindexStmt':
        if (b.kind === 'REINDEX_OBJECT_TABLE') this.addVar(b.relation, 'maintain');
        return;
      case 'RefreshMatViewStmt':
        this.addVar(b.relation, 'maintain');
        return;
      case 'CopyStmt':
        this.addVar(b.relation, 'copy');
        if (isNode(b.query)) this.queries(b.query);
        return;
      case 'CreatePolicyStmt':
      case 'AlterPolicyStmt':
        this.addVar(b.table, 'policy');
        return;
      case 'RuleStmt':
        this.addVar(b.relation, 'rule');
        return;
      case 'GrantStmt':
        if (b.objtype === 'OBJECT_TABLE' && b.targtype === 'ACL_TARGET_OBJECT') {
          for (const r of list(b.objects)) this.addVar(r, 'grant');
        }
        return;
      case 'CreateStatsStmt':
        for (const r of list(b.relations)) this.addVar(r, 'statistics');
        return;
      case 'CreateTableAsStmt': {
        const into = isNode(b.into) ? b.into : undefined;
        if (b.objtype === undefined || b.objtype === 'OBJECT_TABLE') this.addVar(into?.rel, 'create');
        this.queries(b.query);
        return;
      }
      case 'ExplainStmt': {
        // EXPLAIN ANALYZE runs the statement.
        const analyze = list(b.options).some((o) => isNode(o) && isNode(o.DefElem) && o.DefElem.defname === 'analyze');
        const q = isNode(b.query) ? b.query : undefined;
        const qk = q ? Object.keys(q)[0] : undefined;
        if (analyze && q && qk && isNode(q[qk])) this.dispatch(qk, q[qk] as Node, false);
        return;
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
      case 'SelectStmt':
        this.queries({ [kind]: b });
        if (top && kind === 'SelectStmt') {
          // A call of a function these statements define reaches what its body reaches.
          const unknown = unknownCalls(b);
          if (unknown.length > 0 && !this.runRoutines(unknown)) this.opaque.add(this.index);
        }
        return;
      case 'DoStmt': {
        const source = routineSource(kind, b);
        if (!source) return;
        // Read from the body's own parse; what it cannot see (dynamic SQL, a call, a body it refuses) leaves the reach open.
        const read = source.language === 'plpgsql' ? plpgsqlTrees(readPlpgsqlBody(source.text)) : undefined;
        if (!this.body(read)) this.opaque.add(this.index);
        return;
      }
      case 'CreateFunctionStmt': {
        const names = nameList(b.funcname);
        const name = names[names.length - 1];
        if (name === undefined) return;
        const source = routineSource(kind, b);
        const body = source?.text;
        const language = source?.language ?? '';
        let read: { trees: Node[]; dynamic: boolean } | undefined;
        if (body !== undefined && language === 'plpgsql') read = plpgsqlTrees(this.plpgsqlRoutine(b, body));
        else if (body !== undefined && language === 'sql') {
          const trees = parseSql(body);
          read = trees && { trees, dynamic: false };
        }
        this.routines.set(name, read && { trees: read.trees, complete: !read.dynamic && !read.trees.some((n) => opaqueStatement(n)) });
        return;
      }
      case 'CallStmt': {
        const names = nameList(isNode(b.funccall) ? b.funccall.funcname : undefined);
        if (!this.runRoutines(names.length === 1 ? [names[0]!] : [])) this.opaque.add(this.index);
        return;
      }
      case 'ExecuteStmt':
        this.opaque.add(this.index);
        return;
      default:
        return;
    }
  }

  /** Touches of the bodies of these routines, when every one is defined here with a body that can be read. */
  private runRoutines(names: string[]): boolean {
    if (names.length === 0) return false;
    const bodies = names.map((n) => this.routines.get(n));
    let complete = true;
    for (const body of bodies) {
      if (!body) {
        complete = false;
        continue;
      }
      if (!this.body({ trees: body.trees, dynamic: !body.complete })) complete = false;
    }
    return complete;
  }

  /** A PL/pgSQL routine this statement defines: read from its own text when at hand, else its body in a function of the same return kind. */
  private plpgsqlRoutine(stmt: Node, body: string): PlpgsqlBody | undefined {
    if (this.sql !== undefined) {
      try {
        return readPlpgsqlFunction(this.sql);
      } catch {
        // Fall through to the body alone.
      }
    }
    const type = isNode(stmt.returnType) ? stmt.returnType : undefined;
    const names = nameList(type?.names);
    const last = names[names.length - 1];
    const returns = type === undefined ? 'void' : last === 'trigger' || last === 'event_trigger' || last === 'void' ? last : 'record';
    return readPlpgsqlBody(body, type?.setof === true ? `SETOF ${returns}` : returns);
  }

  /** Foreign keys declared by a column definition or a table constraint. */
  private foreignKeysOf(el: unknown): void {
    if (!isNode(el)) return;
    if (isNode(el.ColumnDef)) {
      for (const c of list(el.ColumnDef.constraints)) this.foreignKeysOf(c);
      return;
    }
    const con = isNode(el.Constraint) ? el.Constraint : undefined;
    if (con?.contype === 'CONSTR_FOREIGN') this.addVar(con.pktable, 'reference');
  }

  /** Writes (DML targets, also inside CTEs) and reads (every other relation) of a query tree. */
  private queries(tree: unknown): void {
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) {
        for (const x of v) walk(x);
        return;
      }
      if (!isNode(v)) return;
      for (const [k, x] of Object.entries(v)) {
        if (!isNode(x)) {
          if (Array.isArray(x)) walk(x);
          continue;
        }
        switch (k) {
          case 'InsertStmt':
          case 'UpdateStmt':
          case 'DeleteStmt':
          case 'MergeStmt': {
            const action: TouchAction = k === 'InsertStmt' ? 'insert' : k === 'UpdateStmt' ? 'update' : k === 'DeleteStmt' ? 'delete' : 'merge';
            this.addVar(x.relation, action);
            const { relation: _target, ...rest } = x;
            walk(rest);
            break;
          }
          case 'RangeVar': {
            const r = rangeVar(x);
            if (r && !(r.schema === undefined && this.cteNames.has(r.name))) this.add(r.schema, r.name, 'read');
            break;
          }
          case 'intoClause':
            // SELECT ... INTO creates a table.
            this.addVar(x.rel, 'create');
            break;
          default:
            walk(x);
        }
      }
    };
    walk(tree);
  }
}

function collectCteNames(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collectCteNames(x, out);
    return;
  }
  if (!isNode(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'CommonTableExpr' && isNode(x) && typeof x.ctename === 'string') out.add(x.ctename);
    if (typeof x === 'object' && x !== null) collectCteNames(x, out);
  }
}

/** A statement inside a procedural body whose reach cannot be told: a call, a nested DO, a query calling an unknown function. */
function opaqueStatement(n: Node): boolean {
  const k = Object.keys(n)[0];
  if (k === 'CallStmt' || k === 'DoStmt' || k === 'ExecuteStmt') return true;
  return callsUnknownFunction(n);
}

/** Names of the called functions not known to be harmless; a schema-qualified one as `schema.name`. */
function unknownCalls(tree: unknown, out: string[] = []): string[] {
  if (Array.isArray(tree)) {
    for (const x of tree) unknownCalls(x, out);
    return out;
  }
  if (!isNode(tree)) return out;
  for (const [k, x] of Object.entries(tree)) {
    if (k === 'FuncCall' && isNode(x)) {
      const names = nameList(x.funcname);
      const name = names[names.length - 1];
      const schema = names.length > 1 ? names[0] : undefined;
      if (name === undefined) out.push('');
      else if (!(HARMLESS_FUNCTIONS.has(name) && (schema === undefined || schema === 'pg_catalog'))) out.push(names.join('.'));
    }
    if (typeof x === 'object' && x !== null) unknownCalls(x, out);
  }
  return out;
}

/** A function call that may write (anything not known to be harmless). */
function callsUnknownFunction(tree: unknown): boolean {
  if (Array.isArray(tree)) return tree.some(callsUnknownFunction);
  if (!isNode(tree)) return false;
  for (const [k, x] of Object.entries(tree)) {
    if (k === 'FuncCall' && isNode(x)) {
      const names = nameList(x.funcname);
      const name = names[names.length - 1];
      const schema = names.length > 1 ? names[0] : undefined;
      if (name === undefined || !(HARMLESS_FUNCTIONS.has(name) && (schema === undefined || schema === 'pg_catalog'))) return true;
    }
    if (typeof x === 'object' && x !== null && callsUnknownFunction(x)) return true;
  }
  return false;
}

/** Every table touch of the statements, in statement order, and the statements that hide theirs. */
export function tableTouches(statements: readonly ParsedStatementLike[]): TouchAnalysis {
  const c = new Collector();
  statements.forEach((s, i) => c.statement(i, s.node, s.sql));
  return { touches: c.touches, opaque: [...c.opaque] };
}

/** An identifier as SQL would need it written: bare when plain lower case, double-quoted otherwise. */
function sqlName(part: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(part) ? part : `"${part.replace(/"/g, '""')}"`;
}

/** `schema.name`, or `name` when written without a schema; parts that need it are double-quoted (`"Users"`). */
export function touchName(t: { schema: string | undefined; name: string }): string {
  return t.schema === undefined ? sqlName(t.name) : `${sqlName(t.schema)}.${sqlName(t.name)}`;
}

/**
 * Names of the tables the statements touch, as `touchName` writes them (`schema.name`, or `name`
 * when written without a schema). Reads are left out unless asked for: a table a migration only reads from is not
 * changed by it.
 */
export function touchedTables(statements: readonly ParsedStatementLike[], opts: { reads?: boolean } = {}): Set<string> {
  const out = new Set<string>();
  for (const t of tableTouches(statements).touches) {
    if (t.action === 'read' && !opts.reads) continue;
    out.add(touchName(t));
  }
  return out;
}

/** Touches that do not make a table's rows matter: a read, a comment, a grant. */
const ROW_NEUTRAL: ReadonlySet<TouchAction> = new Set(['read', 'comment', 'grant']);

/**
 * The tables that exist before the statements run and that they work on: what the performance
 * stage fills with rows before timing them. A table is left out while the statements have not
 * created it yet; the new name of a rename is not a table that exists; reads, comments, grants
 * and COPY ... TO do not count. Names are the parser's (unquoted, "schema.table" or "table").
 */
export function existingTablesTouched(statements: readonly ParsedStatementLike[]): Set<string> {
  const key = (t: { schema: string | undefined; name: string }) => (t.schema === undefined ? t.name : `${t.schema}.${t.name}`);
  const createdAt = new Map<string, number>();
  const out = new Set<string>();
  for (const t of tableTouches(statements).touches) {
    if (t.action === 'create') {
      if (!createdAt.has(key(t))) createdAt.set(key(t), t.statement);
      continue;
    }
    if (ROW_NEUTRAL.has(t.action)) continue;
    const node = statements[t.statement]?.node ?? {};
    const rename = node.RenameStmt as { newname?: string } | undefined;
    if (t.action === 'rename' && rename?.newname === t.name) continue;
    const move = node.AlterObjectSchemaStmt as { newschema?: string } | undefined;
    if (move?.newschema !== undefined && move.newschema === t.schema) continue;
    const copy = node.CopyStmt as { is_from?: boolean } | undefined;
    if (t.action === 'copy' && copy?.is_from !== true) continue;
    const created = createdAt.get(key(t));
    if (created !== undefined && created >= t.statement) continue;
    out.add(key(t));
  }
  return out;
}

/**
 * Statements whose effects reach past the tables they name: a DELETE through ON DELETE CASCADE
 * foreign keys, a DROP or TRUNCATE written with CASCADE. (Without CASCADE they fail instead.)
 */
function cascades(s: ParsedStatementLike & { kind: string }): boolean {
  if (s.kind === 'DeleteStmt') return true;
  const body = s.node[s.kind] as { behavior?: string } | undefined;
  return (s.kind === 'DropStmt' || s.kind === 'TruncateStmt') && body?.behavior === 'DROP_CASCADE';
}

/**
 * The tables the statements name (reads included when asked), or undefined when their reach
 * cannot be told from the parse tree: a DO block, a function call, or a delete, truncate or drop
 * that may cascade to tables it does not name.
 */
export function statementScope(
  statements: ReadonlyArray<ParsedStatementLike & { kind: string }>,
  opts: { reads: boolean },
): Array<{ schema: string | undefined; name: string }> | undefined {
  if (statements.length === 0 || statements.some(cascades)) return undefined;
  const analysis = tableTouches(statements);
  if (analysis.opaque.length > 0) return undefined;
  return analysis.touches.filter((t) => opts.reads || t.action !== 'read').map((t) => ({ schema: t.schema, name: t.name }));
}

/** Splits `schema.table` as people write it: unquoted parts fold to lower case, `"Quoted"` parts stay. */
export function parseTableName(text: string): { schema: string | undefined; name: string } | undefined {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^."\s]+))\s*(\.|$)/y;
  let pos = 0;
  const s = text.trim();
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    parts.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase());
    pos = re.lastIndex;
    if (m[3] === '') break;
  }
  if (parts.length === 0 || parts.length > 2) return undefined;
  return parts.length === 2 ? { schema: parts[0], name: parts[1]! } : { schema: undefined, name: parts[0]! };
}

/**
 * Could `touched` (as `touchedTables` names it) be the table `listed` names? Names without a
 * schema match any schema: which one the search_path picks is not known from the text.
 */
export function sameTable(touched: string | { schema: string | undefined; name: string }, listed: string | { schema: string | undefined; name: string }): boolean {
  const a = typeof touched === 'string' ? parseTableName(touched) : touched;
  const b = typeof listed === 'string' ? parseTableName(listed) : listed;
  if (!a || !b || a.name !== b.name) return false;
  return a.schema === undefined || b.schema === undefined || a.schema === b.schema;
}
