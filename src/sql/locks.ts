/**
 * Table lock modes as Postgres names them, and what a statement takes when it can only be read
 * from the parse tree (statements that run outside a transaction release their locks before
 * anyone can look at pg_locks; the lock-timeout hazard needs a guess without a database).
 */
import { kindOf, list, rangeVarName, stringList, unwrap, type Node } from './nodes.js';
import type { Statement } from './parse.js';

export const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** 1 (AccessShareLock) .. 8 (AccessExclusiveLock); 0 for anything else. */
export function lockStrength(mode: string): number {
  return (LOCK_MODES as readonly string[]).indexOf(mode) + 1;
}

/** ShareLock and stronger conflict with RowExclusiveLock: INSERT, UPDATE and DELETE wait. */
export function blocksWrites(mode: string): boolean {
  return lockStrength(mode) >= lockStrength('ShareLock');
}

/** Only AccessExclusiveLock conflicts with AccessShareLock: even SELECT waits. */
export function blocksReads(mode: string): boolean {
  return mode === 'AccessExclusiveLock';
}

export function blockedBy(mode: string): 'reads' | 'writes' | undefined {
  return blocksReads(mode) ? 'reads' : blocksWrites(mode) ? 'writes' : undefined;
}

export interface StaticLock {
  table: string;
  mode: LockMode;
}

/** ALTER TABLE subcommands that take less than AccessExclusiveLock (see the ALTER TABLE docs). */
const ALTER_TABLE_MODES: Record<string, LockMode> = {
  AT_ValidateConstraint: 'ShareUpdateExclusiveLock',
  AT_SetStatistics: 'ShareUpdateExclusiveLock',
  AT_ClusterOn: 'ShareUpdateExclusiveLock',
  AT_DropCluster: 'ShareUpdateExclusiveLock',
  AT_AttachPartition: 'ShareUpdateExclusiveLock',
  AT_EnableTrig: 'ShareRowExclusiveLock',
  AT_EnableAlwaysTrig: 'ShareRowExclusiveLock',
  AT_EnableReplicaTrig: 'ShareRowExclusiveLock',
  AT_DisableTrig: 'ShareRowExclusiveLock',
  AT_EnableTrigAll: 'ShareRowExclusiveLock',
  AT_DisableTrigAll: 'ShareRowExclusiveLock',
  AT_EnableTrigUser: 'ShareRowExclusiveLock',
  AT_DisableTrigUser: 'ShareRowExclusiveLock',
};

function alterTableMode(cmd: Node): LockMode {
  const subtype = String(cmd.subtype ?? '');
  if (subtype === 'AT_AddConstraint' && unwrap(cmd.def, 'Constraint')?.contype === 'CONSTR_FOREIGN') return 'ShareRowExclusiveLock';
  if (subtype === 'AT_DetachPartition' && unwrap(cmd.def, 'PartitionCmd')?.concurrent === true) return 'ShareUpdateExclusiveLock';
  return ALTER_TABLE_MODES[subtype] ?? 'AccessExclusiveLock';
}

function strongest(a: LockMode, b: LockMode): LockMode {
  return lockStrength(a) >= lockStrength(b) ? a : b;
}

/** LOCK TABLE modes by their number in the parse tree (1 AccessShare .. 8 AccessExclusive). */
function lockStmtMode(n: unknown): LockMode {
  const i = typeof n === 'number' ? n : 8;
  return LOCK_MODES[i - 1] ?? 'AccessExclusiveLock';
}

/** The locks a statement takes on tables it names (not on tables its functions or triggers reach). */
export function staticLocks(stmt: Statement): StaticLock[] {
  const k = kindOf(stmt.node);
  if (!k) return [];
  const [kind, body] = k;
  const out: StaticLock[] = [];
  const push = (rv: unknown, mode: LockMode) => {
    const table = rangeVarName(rv);
    if (table !== undefined) out.push({ table, mode });
  };
  switch (kind) {
    case 'AlterTableStmt': {
      if (body.objtype !== undefined && body.objtype !== 'OBJECT_TABLE') break;
      let mode: LockMode | undefined;
      for (const c of list(body.cmds)) {
        const cmd = unwrap(c, 'AlterTableCmd');
        if (!cmd) continue;
        const m = alterTableMode(cmd);
        mode = mode ? strongest(mode, m) : m;
        const fk = unwrap(cmd.def, 'Constraint');
        if (fk?.contype === 'CONSTR_FOREIGN') push(fk.pktable, 'ShareRowExclusiveLock');
      }
      if (mode) push(body.relation, mode);
      break;
    }
    case 'RenameStmt':
    case 'AlterObjectSchemaStmt':
      if (body.relation !== undefined) push(body.relation, 'AccessExclusiveLock');
      break;
    case 'IndexStmt':
      push(body.relation, body.concurrent === true ? 'ShareUpdateExclusiveLock' : 'ShareLock');
      break;
    case 'CreateTrigStmt':
      push(body.relation, 'ShareRowExclusiveLock');
      break;
    case 'RuleStmt':
    case 'ClusterStmt':
      push(body.relation, 'AccessExclusiveLock');
      break;
    case 'ReindexStmt': {
      const concurrently = list(body.params).some((p) => unwrap(p, 'DefElem')?.defname === 'concurrently');
      if (body.kind === 'REINDEX_OBJECT_TABLE') push(body.relation, concurrently ? 'ShareUpdateExclusiveLock' : 'ShareLock');
      break;
    }
    case 'TruncateStmt':
      for (const r of list(body.relations)) push(r, 'AccessExclusiveLock');
      break;
    case 'LockStmt':
      for (const r of list(body.relations)) push(r, lockStmtMode(body.mode));
      break;
    case 'VacuumStmt': {
      const full = list(body.options).some((o) => unwrap(o, 'DefElem')?.defname === 'full');
      const mode: LockMode = full ? 'AccessExclusiveLock' : 'ShareUpdateExclusiveLock';
      for (const r of list(body.rels)) push(unwrap(r, 'VacuumRelation')?.relation, mode);
      break;
    }
    case 'DropStmt': {
      const type = String(body.removeType ?? '');
      for (const o of list(body.objects)) {
        const names = stringList(unwrap(o, 'List')?.items);
        if (type === 'OBJECT_TABLE') out.push({ table: names.join('.'), mode: 'AccessExclusiveLock' });
        else if (type === 'OBJECT_TRIGGER' || type === 'OBJECT_RULE' || type === 'OBJECT_POLICY') {
          if (names.length > 1) out.push({ table: names.slice(0, -1).join('.'), mode: 'AccessExclusiveLock' });
        }
      }
      break;
    }
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      push(body.relation, 'RowExclusiveLock');
      break;
    default:
      break;
  }
  return out;
}

/**
 * How a statement's time relates to the rows of the tables it names: `per-row` when it scans,
 * copies, sorts or checks every row (index builds, data changes, validations, type changes...),
 * `fixed` when it only changes the catalog, `unknown` when it runs code the parse tree does not
 * show (a function call, a DO block). Used to project a duration to production size.
 */
export type WorkKind = 'per-row' | 'fixed' | 'unknown';

export function workKind(stmt: Statement): WorkKind {
  const k = kindOf(stmt.node);
  if (!k) return 'unknown';
  const [kind, body] = k;
  switch (kind) {
    case 'IndexStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
    case 'ClusterStmt':
    case 'ReindexStmt':
    case 'VacuumStmt':
    case 'CreateTableAsStmt':
    case 'RefreshMatViewStmt':
    case 'CopyStmt':
      return 'per-row';
    case 'InsertStmt':
      return body.selectStmt !== undefined && list(unwrap(body.selectStmt, 'SelectStmt')?.valuesLists).length === 0 ? 'per-row' : 'fixed';
    case 'AlterTableStmt': {
      const perRow = list(body.cmds).some((c) => {
        const cmd = unwrap(c, 'AlterTableCmd');
        const subtype = String(cmd?.subtype ?? '');
        if (['AT_AlterColumnType', 'AT_SetNotNull', 'AT_ValidateConstraint', 'AT_AttachPartition', 'AT_SetTableSpace', 'AT_SetLogged', 'AT_SetUnLogged'].includes(subtype)) return true;
        if (subtype === 'AT_AddConstraint') {
          const con = unwrap(cmd?.def, 'Constraint');
          return con !== undefined && con.skip_validation !== true && con.indexname === undefined;
        }
        return false;
      });
      return perRow ? 'per-row' : 'fixed';
    }
    case 'SelectStmt':
    case 'DoStmt':
    case 'CallStmt':
    case 'ExecuteStmt':
      return 'unknown';
    default:
      return 'fixed';
  }
}
