/**
 * Which existing tables a migration works on, read from the parse trees: the tables it alters,
 * indexes, writes to, drops, truncates, locks, maintains, references from a foreign key or hangs
 * a trigger, rule or policy on. Tables a statement only reads (a view's query, a SELECT) are
 * not touched. A table the migration creates is not touched by its CREATE (it does not exist
 * before), but is by a later statement that works on it.
 */
import type { Statement } from './parse.js';
import { kindOf, list, rangeVarName, stringList, unwrap, type Node } from './nodes.js';

/** Object types whose RENAME / SET SCHEMA / ALTER work on a table. */
const TABLE_OBJECTS = new Set(['OBJECT_TABLE', 'OBJECT_FOREIGN_TABLE', 'OBJECT_MATVIEW']);
/** Objects that live on a table: renaming or dropping them locks the table. */
const ON_TABLE_OBJECTS = new Set(['OBJECT_TABCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE']);

/** Table names as written ("schema.table" or "table") that the statements touch. */
export function touchedTables(statements: Statement[]): Set<string> {
  const out = new Set<string>();
  for (const s of statements) collect(s.node, out);
  return out;
}

function add(out: Set<string>, rv: unknown): void {
  const name = rangeVarName(rv);
  if (name !== undefined) out.add(name);
}

/** Parent tables named by foreign keys among column definitions and table constraints. */
function addReferences(out: Set<string>, elements: unknown): void {
  for (const el of list(elements)) {
    const constraints = [unwrap(el, 'Constraint'), ...list(unwrap(el, 'ColumnDef')?.constraints).map((c) => unwrap(c, 'Constraint'))];
    for (const c of constraints) {
      if (c?.contype === 'CONSTR_FOREIGN') add(out, c.pktable);
    }
  }
}

/** DML hidden in WITH clauses: `WITH d AS (DELETE FROM a RETURNING *) ...`. */
function addWith(out: Set<string>, body: Node): void {
  for (const cte of list(unwrap(body.withClause, 'WithClause')?.ctes ?? (body.withClause as Node | undefined)?.ctes)) {
    collect((unwrap(cte, 'CommonTableExpr') ?? {}).ctequery, out);
  }
}

function collect(root: unknown, out: Set<string>): void {
  const k = kindOf(root);
  if (!k) return;
  const [kind, body] = k;
  switch (kind) {
    case 'AlterTableStmt': {
      if (!TABLE_OBJECTS.has(String(body.objtype ?? 'OBJECT_TABLE'))) return;
      add(out, body.relation);
      for (const c of list(body.cmds)) {
        const cmd = unwrap(c, 'AlterTableCmd');
        if (!cmd) continue;
        addReferences(out, [cmd.def]);
        // ATTACH / DETACH PARTITION lock the partition as well.
        const part = unwrap(cmd.def, 'PartitionCmd');
        if (part) add(out, part.name);
      }
      return;
    }
    case 'RenameStmt': {
      const type = String(body.renameType ?? '');
      const onTable =
        TABLE_OBJECTS.has(type) ||
        ON_TABLE_OBJECTS.has(type) ||
        (type === 'OBJECT_COLUMN' && TABLE_OBJECTS.has(String(body.relationType ?? '')));
      if (onTable) add(out, body.relation);
      return;
    }
    case 'AlterObjectSchemaStmt':
      if (TABLE_OBJECTS.has(String(body.objectType ?? ''))) add(out, body.relation);
      return;
    case 'IndexStmt':
    case 'ClusterStmt':
    case 'RuleStmt':
      add(out, body.relation);
      return;
    case 'CreateTrigStmt':
      add(out, body.relation);
      add(out, body.constrrel);
      return;
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      add(out, body.table);
      return;
    case 'CreateStatsStmt':
      for (const r of list(body.relations)) add(out, r);
      return;
    case 'ReindexStmt':
      if (body.kind === 'REINDEX_OBJECT_TABLE') add(out, body.relation);
      return;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      add(out, body.relation);
      addWith(out, body);
      return;
    case 'SelectStmt':
      addWith(out, body);
      return;
    case 'CopyStmt':
      if (body.is_from === true) add(out, body.relation);
      return;
    case 'ExplainStmt':
      collect(body.query, out);
      return;
    case 'TruncateStmt':
    case 'LockStmt':
      for (const r of list(body.relations)) add(out, r);
      return;
    case 'VacuumStmt':
      for (const r of list(body.rels)) add(out, unwrap(r, 'VacuumRelation')?.relation);
      return;
    case 'DropStmt': {
      const type = String(body.removeType ?? '');
      for (const o of list(body.objects)) {
        const names = stringList(unwrap(o, 'List')?.items);
        // DROP TABLE a.b -> [a, b]; DROP TRIGGER t ON a.b -> [a, b, t].
        const table = TABLE_OBJECTS.has(type) ? names : ON_TABLE_OBJECTS.has(type) ? names.slice(0, -1) : [];
        if (table.length > 0) out.add(table.join('.'));
      }
      return;
    }
    case 'CreateStmt':
      // The new table is not touched; its foreign key parents and its parent (INHERITS, PARTITION OF) are.
      addReferences(out, body.tableElts);
      for (const r of list(body.inhRelations)) add(out, r);
      return;
    default:
      return;
  }
}
