/**
 * What an up destroys on purpose, read from its parse tree: rows it deletes or truncates, tables
 * and columns it drops without reading them first, columns it overwrites with values that do not
 * derive from the old ones. That loss is the up's (one warning on its statement); data the up
 * keeps — moves, renames, transforms — and the down does not give back is the down's.
 */
import type { ParsedSource, Statement } from '../sql/parse.js';
import { kindOf, list, str, unwrap, walk } from '../sql/nodes.js';

export interface UpLosses {
  /** Table name -> the DELETE, TRUNCATE or DROP TABLE that removes its rows. */
  rows: Map<string, Statement>;
  /** "table.column" -> the DROP COLUMN or the UPDATE that overwrites it. */
  columns: Map<string, Statement>;
  /** Table name -> the DROP TABLE, when nothing else in the up reads the table. */
  tables: Map<string, Statement>;
}

function relname(v: unknown): string | undefined {
  const rv = unwrap(v, 'RangeVar') ?? (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);
  return str(rv?.relname);
}

/** Names the statement mentions as column or table references (not the DROP itself). */
function referencedNames(stmt: Statement): Set<string> {
  const out = new Set<string>();
  for (const n of walk(stmt.node)) {
    const col = unwrap(n, 'ColumnRef');
    if (col) for (const f of list(col.fields)) out.add(str(unwrap(f, 'String')?.sval) ?? '');
    const rv = unwrap(n, 'RangeVar');
    if (rv) out.add(str(rv.relname) ?? '');
  }
  return out;
}

function hasColumnRef(v: unknown): boolean {
  for (const n of walk(v)) if (unwrap(n, 'ColumnRef')) return true;
  return false;
}

export function upLosses(up: ParsedSource): UpLosses {
  const out: UpLosses = { rows: new Map(), columns: new Map(), tables: new Map() };
  const stmts = up.statements;
  /** Does a statement of the up other than `self` read the name? */
  const readElsewhere = (self: Statement, name: string) => stmts.some((s) => s !== self && referencedNames(s).has(name));
  for (const stmt of stmts) {
    const [kind, body] = kindOf(stmt.node) ?? ['', {}];
    if (kind === 'DeleteStmt') {
      const t = relname(body.relation);
      if (t && !out.rows.has(t)) out.rows.set(t, stmt);
    } else if (kind === 'TruncateStmt') {
      for (const r of list(body.relations)) {
        const t = relname(r);
        if (t && !out.rows.has(t)) out.rows.set(t, stmt);
      }
    } else if (kind === 'DropStmt' && str(body.removeType) === 'OBJECT_TABLE') {
      for (const obj of list(body.objects)) {
        const names = list(unwrap(obj, 'List')?.items).map((i) => str(unwrap(i, 'String')?.sval));
        const t = names[names.length - 1];
        if (!t || readElsewhere(stmt, t)) continue;
        out.tables.set(t, stmt);
        if (!out.rows.has(t)) out.rows.set(t, stmt);
      }
    } else if (kind === 'AlterTableStmt') {
      const t = relname(body.relation);
      if (!t) continue;
      for (const c of list(body.cmds)) {
        const cmd = unwrap(c, 'AlterTableCmd');
        const column = str(cmd?.name);
        if (str(cmd?.subtype) === 'AT_DropColumn' && column && !readElsewhere(stmt, column)) out.columns.set(`${t}.${column}`, stmt);
      }
    } else if (kind === 'UpdateStmt') {
      const t = relname(body.relation);
      if (!t) continue;
      for (const target of list(body.targetList)) {
        const res = unwrap(target, 'ResTarget');
        const column = str(res?.name);
        // A constant (NULL, '', now()) replaces the old value; an expression of columns transforms it.
        if (column && !hasColumnRef(res?.val) && !out.columns.has(`${t}.${column}`)) out.columns.set(`${t}.${column}`, stmt);
      }
    }
  }
  return out;
}
