import { findStatementNaming } from '../sql/names.js';
import { kindOf, list, rangeVarName, str, tableKey, unwrap } from '../sql/nodes.js';
import type { ParsedSource, Statement } from '../sql/parse.js';

/** What a failing statement says is missing: `column "status" of relation "user_audit" does not exist`. */
export interface MissingObject {
  /** The last part of the name, as the parser folds it: what migration statements mention. */
  name: string;
  /** The table of a missing column, when the message names it. */
  table?: string;
  kind: 'column' | 'relation' | 'function' | 'type' | 'object';
}

export function missingObjectOf(message: string): MissingObject | undefined {
  let m = /column "([^"]+)" of relation "([^"]+)" does not exist/.exec(message);
  if (m) return { kind: 'column', name: m[1]!, table: m[2]! };
  m = /column "?([^"\s]+?)"? does not exist/.exec(message);
  if (m) {
    const parts = m[1]!.split('.');
    return { kind: 'column', name: parts[parts.length - 1]!, ...(parts.length > 1 ? { table: parts.slice(0, -1).join('.') } : {}) };
  }
  m = /relation "([^"]+)" does not exist/.exec(message);
  if (m) return { kind: 'relation', name: m[1]!.split('.').pop()! };
  m = /function ([^\s(]+)\(.*\) does not exist/.exec(message);
  if (m) return { kind: 'function', name: m[1]!.split('.').pop()!.replace(/"/g, '') };
  m = /type "([^"]+)" does not exist/.exec(message);
  if (m) return { kind: 'type', name: m[1]!.split('.').pop()! };
  m = /"([^"]+)"/.exec(message);
  if (m) return { kind: 'object', name: m[1]!.split('.').pop()! };
  return undefined;
}

export interface Blame {
  statement: Statement;
  /** `dropped`, `renamed`, `changed`. */
  verb: string;
  /** `users.full_name`, `user_audit`, `function user_name`. */
  object: string;
}

/**
 * The statement of a migration that took away what a failing statement misses: the one that
 * renames or drops it, else any that names it.
 */
export function blameStatement(parsed: ParsedSource, missing: MissingObject): Blame | undefined {
  const n = missing.name;
  const statement = findStatementNaming(parsed, [[n, '@RenameStmt'], [n, '@DropStmt'], [n, '@AlterTableCmd'], [n]]);
  if (!statement) return undefined;
  const [kind, body] = kindOf(statement.node) ?? ['', {}];
  let verb = 'changed';
  // The statement's table over the message's: a message names a column by the alias the query gave its table.
  let table = missing.table;
  if (kind === 'RenameStmt') {
    verb = 'renamed';
    table = rangeVarName(body.relation) ?? table;
  } else if (kind === 'DropStmt') {
    verb = 'dropped';
  } else if (kind === 'AlterTableStmt') {
    table = rangeVarName(body.relation) ?? table;
    for (const cmd of list(body.cmds)) {
      const c = unwrap(cmd, 'AlterTableCmd');
      if (str(c?.name) !== n) continue;
      const subtype = str(c?.subtype);
      if (subtype === 'AT_DropColumn') verb = 'dropped';
      else if (subtype === 'AT_AlterColumnType') verb = 'changed the type of';
    }
  }
  const object =
    missing.kind === 'column' && table !== undefined
      ? `${tableKey(table)}.${n}`
      : missing.kind === 'function'
        ? `function ${n}`
        : missing.kind === 'type'
          ? `type ${n}`
          : n;
  return { statement, verb, object };
}
