/**
 * Why a statement that passes on the state before the generated rows fails on them: read from the
 * failing statement's parse tree and the SQLSTATE. Either any consistent data would make it fail
 * (a new NOT NULL column nothing fills), or only some values do, and then the finding says which
 * production rows would.
 */
import type { StatementFailure } from '../db/execute.js';
import type { ParsedSource, Statement } from '../sql/parse.js';
import { kindOf, list, rangeVarName, str, stringList, unwrap, walk, type Node } from '../sql/nodes.js';

export interface FailureExplanation {
  /** Every table holding rows fails it, whatever their values. */
  anyRow: boolean;
  /** What production rows make it fail, as a sentence. */
  rows: string;
  hint: string;
}

interface AlterCmd {
  subtype: string;
  name: string | undefined;
  def: Node | undefined;
}

function alterCmds(stmt: Statement): { table: string; cmds: AlterCmd[] } | undefined {
  const alter = unwrap(stmt.node, 'AlterTableStmt');
  if (!alter) return undefined;
  const table = rangeVarName(alter.relation) ?? '?';
  const cmds = list(alter.cmds).map((c) => {
    const cmd = unwrap(c, 'AlterTableCmd') ?? {};
    return { subtype: str(cmd.subtype) ?? '', name: str(cmd.name), def: cmd.def as Node | undefined };
  });
  return { table, cmds };
}

function columnConstraints(def: Node | undefined): string[] {
  const col = unwrap(def, 'ColumnDef');
  return list(col?.constraints).map((c) => str(unwrap(c, 'Constraint')?.contype) ?? '');
}

/** ADD COLUMN ... NOT NULL with nothing to put in it: no default, not identity, not generated. */
function addsUnfilledNotNull(cmd: AlterCmd): string | undefined {
  if (cmd.subtype !== 'AT_AddColumn') return undefined;
  const types = columnConstraints(cmd.def);
  const notNull = types.includes('CONSTR_NOTNULL') || types.includes('CONSTR_PRIMARY');
  const filled = types.some((t) => t === 'CONSTR_DEFAULT' || t === 'CONSTR_IDENTITY' || t === 'CONSTR_GENERATED');
  if (!notNull || filled || unwrap(cmd.def, 'ColumnDef')?.raw_default !== undefined) return undefined;
  return str(unwrap(cmd.def, 'ColumnDef')?.colname);
}

/** Tables an UPDATE reads its new values from (FROM list and subqueries), the updated one left out. */
function backfillSources(update: Node, target: string): string[] {
  const out = new Set<string>();
  for (const n of walk([update.fromClause, update.targetList, update.whereClause])) {
    const rv = unwrap(n, 'RangeVar');
    const name = rv ? rangeVarName(rv) : undefined;
    if (name && name !== target) out.add(name);
  }
  return [...out];
}

/** The last UPDATE before `index` that sets `column` of `table`. */
function backfillOf(parsed: ParsedSource, index: number, table: string, column: string): { stmt: Statement; update: Node } | undefined {
  for (let i = index - 1; i >= 0; i--) {
    const stmt = parsed.statements[i]!;
    const update = unwrap(stmt.node, 'UpdateStmt');
    if (!update || rangeVarName(update.relation) !== table) continue;
    const sets = list(update.targetList).map((t) => str(unwrap(t, 'ResTarget')?.name));
    if (sets.includes(column)) return { stmt, update };
  }
  return undefined;
}

/** Did an earlier statement of the file add the column without a default, with nothing that could fill it since? */
function addedUnfilled(parsed: ParsedSource, index: number, table: string, column: string): boolean {
  for (let i = index - 1; i >= 0; i--) {
    const stmt = parsed.statements[i]!;
    const [kind, body] = kindOf(stmt.node) ?? ['', {}];
    // Anything that can write rows of the table (an UPDATE, a DO block, a function call) may fill it.
    if (kind === 'DoStmt' || kind === 'CallStmt' || kind === 'SelectStmt') return false;
    if (kind === 'UpdateStmt' && rangeVarName(body.relation) === table) return false;
    if (kind === 'InsertStmt' && rangeVarName(body.relation) === table) return false;
    const alter = alterCmds(stmt);
    if (!alter || alter.table !== table) continue;
    for (const cmd of alter.cmds) {
      if (cmd.subtype === 'AT_ColumnDefault' && cmd.name === column) return false;
      if (cmd.subtype !== 'AT_AddColumn' || str(unwrap(cmd.def, 'ColumnDef')?.colname) !== column) continue;
      const types = columnConstraints(cmd.def);
      return !types.some((t) => t === 'CONSTR_DEFAULT' || t === 'CONSTR_IDENTITY' || t === 'CONSTR_GENERATED');
    }
  }
  return false;
}

/** The column the server names in its message: `column "x" of relation "t" contains null values`. */
function quotedColumn(message: string): string | undefined {
  return /column "([^"]+)"/.exec(message)?.[1];
}

const CHECK_PRODUCTION = 'check the production data for such rows before deploying, or make the migration handle them';

export function explainFailure(parsed: ParsedSource, failure: StatementFailure): FailureExplanation {
  const stmt = failure.statement;
  const index = parsed.statements.indexOf(stmt);
  const code = failure.code ?? '';
  const alter = alterCmds(stmt);
  const [kind, body] = kindOf(stmt.node) ?? ['', {} as Node];
  const valueDependent = (rows: string, hint = CHECK_PRODUCTION): FailureExplanation => ({ anyRow: false, rows, hint });

  if (code === '23502' && alter) {
    const added = alter.cmds.map(addsUnfilledNotNull).find((c) => c !== undefined);
    if (added !== undefined) {
      return {
        anyRow: true,
        rows: `${alter.table}.${added} is added NOT NULL without a default, so any row of ${alter.table} fails it`,
        hint: 'give the new column a DEFAULT, or add it nullable, backfill it, then SET NOT NULL',
      };
    }
    const column = quotedColumn(failure.message) ?? alter.cmds.find((c) => c.subtype === 'AT_SetNotNull')?.name;
    if (column !== undefined) {
      if (addedUnfilled(parsed, index, alter.table, column)) {
        return {
          anyRow: true,
          rows: `${alter.table}.${column} is added without a default and nothing fills it before it is made NOT NULL, so any row of ${alter.table} fails it`,
          hint: 'backfill the column (or give it a DEFAULT) before SET NOT NULL',
        };
      }
      const backfill = backfillOf(parsed, index, alter.table, column);
      if (backfill) {
        const sources = backfillSources(backfill.update, alter.table);
        const from = sources.length > 0 ? ` (rows with no matching row in ${sources.join(', ')})` : '';
        return valueDependent(
          `${alter.table} rows that the backfill at line ${backfill.stmt.line} leaves NULL in ${column}${from} make SET NOT NULL fail; production rows of that kind fail it too`,
          `backfill every row (a COALESCE fallback or a default) or delete the rows it cannot fill before SET NOT NULL; ${CHECK_PRODUCTION}`,
        );
      }
      return valueDependent(`${alter.table} rows where ${column} is NULL make it fail; production rows of that kind fail it too`);
    }
  }
  if (alter) {
    for (const cmd of alter.cmds) {
      const con = unwrap(cmd.def, 'Constraint');
      const contype = str(con?.contype);
      if (code === '23505' && (contype === 'CONSTR_UNIQUE' || contype === 'CONSTR_PRIMARY')) {
        return valueDependent(`${alter.table} rows with duplicate (${stringList(con?.keys).join(', ')}) make it fail; production rows of that kind fail it too`);
      }
      if (code === '23514' && contype === 'CONSTR_CHECK') {
        return valueDependent(`${alter.table} rows that violate the new CHECK make it fail; production rows of that kind fail it too`);
      }
      if (code === '23503' && contype === 'CONSTR_FOREIGN') {
        const parent = rangeVarName(con?.pktable) ?? 'the referenced table';
        return valueDependent(`${alter.table} rows whose (${stringList(con?.fk_attrs).join(', ')}) match no row of ${parent} make it fail; production rows of that kind fail it too`);
      }
      if (code.startsWith('22') && cmd.subtype === 'AT_AlterColumnType') {
        return valueDependent(`values of ${alter.table}.${cmd.name ?? '?'} that the new type cannot hold make it fail; production values of that kind fail it too`);
      }
    }
  }
  if (code === '23505' && kind === 'IndexStmt' && body.unique === true) {
    return valueDependent(`${rangeVarName(body.relation) ?? '?'} rows with duplicate values in the new unique index make it fail; production rows of that kind fail it too`);
  }
  if (code === '23503' && (kind === 'DeleteStmt' || kind === 'UpdateStmt')) {
    const table = rangeVarName(body.relation) ?? '?';
    return valueDependent(
      `${kind === 'DeleteStmt' ? 'deleting' : 'changing'} ${table} rows that rows of other tables still reference makes it fail; production rows with such children fail it too`,
      `delete or re-point the referencing rows first, or give the foreign key ON DELETE behaviour; ${CHECK_PRODUCTION}`,
    );
  }
  return valueDependent('production rows with values like the generated ones may make it fail too');
}
