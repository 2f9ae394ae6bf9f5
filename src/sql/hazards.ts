/**
 * Static lock and rewrite hazards, read from the parse trees of one migration file.
 *
 * Each hazard is something that is harmless on an empty table and blocks production traffic on
 * a big one, so tables created earlier in the same file never raise one. Some hazards depend on
 * what only a database can tell (does this type change rewrite? is there a validated NOT NULL
 * check already?): those carry the `evidence` a measurement must show, and a static guess in
 * `likely` for when there is no measurement.
 */
import { staticLocks } from './locks.js';
import { kindOf, list, rangeVarName, str, stringList, tableKey, unwrap, walk, type Node } from './nodes.js';
import type { ParsedSource, Statement } from './parse.js';

export const HAZARD_RULES = [
  'index-not-concurrent',
  'volatile-default',
  'column-type-rewrite',
  'set-not-null',
  'constraint-not-valid',
  'missing-lock-timeout',
] as const;
export type HazardRule = (typeof HAZARD_RULES)[number];

export interface Hazard {
  rule: HazardRule;
  /** Index of the statement in the file. */
  index: number;
  /** Table as written in the statement. */
  table: string;
  column?: string;
  message: string;
  /** One line: what to write instead. */
  fix: string;
  /**
   * What a measurement must show for the hazard to stand: a new relfilenode (`rewrite`), no
   * validated `CHECK (col IS NOT NULL)` on the table (`not-null-scan`), AccessExclusiveLock
   * on a table with rows (`access-exclusive`).
   */
  evidence?: 'rewrite' | 'not-null-scan' | 'access-exclusive';
  /** Whether the hazard stands when nothing was measured. */
  likely: boolean;
}

/** Functions whose value differs per row: as a column default, each existing row gets its own, so the table is rewritten. */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'gen_random_bytes',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'uuidv4',
  'uuidv7',
  'nextval',
  'txid_current',
  'pg_current_xact_id',
]);

/** Target types that are often a binary-coercible change (varchar(n) -> text, varchar(10) -> varchar(20)): no rewrite. */
const OFTEN_COERCIBLE_TYPES = new Set(['text', 'varchar', 'citext']);

const IGNORE_COMMENT = /^\s*--\s*migration-ci:\s*ignore\s+(.+)$/i;
const LINES = new WeakMap<ParsedSource, string[]>();

/**
 * Rules silenced for a statement by `-- migration-ci: ignore <rule>[, <rule>...]` in the
 * comment lines right above it.
 */
export function ignoredRules(parsed: ParsedSource, stmt: Statement): Set<string> {
  const out = new Set<string>();
  let lines = LINES.get(parsed);
  if (!lines) {
    lines = parsed.source.text.split('\n');
    LINES.set(parsed, lines);
  }
  for (let l = stmt.line - 2; l >= 0; l--) {
    const text = lines[l]!;
    if (!/^\s*--/.test(text)) break;
    const m = IGNORE_COMMENT.exec(text);
    if (m) for (const rule of m[1]!.split(/[\s,]+/)) if (rule !== '') out.add(rule.toLowerCase());
  }
  return out;
}

function constValue(v: unknown): string | undefined {
  const c = unwrap(v, 'A_Const');
  if (!c) return undefined;
  const s = str(unwrap(c.sval, 'String')?.sval ?? (c.sval as Node | undefined)?.sval);
  if (s !== undefined) return s;
  if (c.ival !== undefined) return String((c.ival as Node).ival ?? 0);
  if (c.fval !== undefined) return String((c.fval as Node).fval ?? '0');
  return undefined;
}

/** '0', '0s', '0ms', 0: lock_timeout disabled. */
function isZero(value: string | undefined): boolean {
  return value !== undefined && /^\s*0+(\.0*)?\s*[a-z]*\s*$/i.test(value);
}

/**
 * For each statement: is a non-zero lock_timeout in force when it runs? (`SET [LOCAL]
 * lock_timeout`, `set_config('lock_timeout', ...)` earlier in the file; RESET clears it.)
 */
export function lockTimeoutInForce(parsed: ParsedSource): boolean[] {
  let set = false;
  return parsed.statements.map((stmt) => {
    const inForce = set;
    const k = kindOf(stmt.node);
    if (k?.[0] === 'VariableSetStmt') {
      const body = k[1];
      if (body.kind === 'VAR_RESET_ALL') set = false;
      else if (body.name === 'lock_timeout') {
        set = body.kind === 'VAR_SET_VALUE' && !isZero(constValue(list(body.args)[0]));
      }
    } else {
      for (const node of walk(stmt.node)) {
        const call = unwrap(node, 'FuncCall');
        if (!call || stringList(call.funcname).at(-1) !== 'set_config') continue;
        const args = list(call.args);
        if (constValue(args[0]) === 'lock_timeout') set = !isZero(constValue(args[1]));
      }
    }
    return inForce;
  });
}

/** Names of the tables each statement creates (CREATE TABLE, CREATE TABLE AS, SELECT INTO, renames of those). */
function createdBy(stmt: Statement, created: Set<string>): string[] {
  const k = kindOf(stmt.node);
  if (!k) return [];
  const [kind, body] = k;
  switch (kind) {
    case 'CreateStmt':
      return [rangeVarName(body.relation)].filter((n): n is string => n !== undefined);
    case 'CreateTableAsStmt':
      return [rangeVarName(unwrap(body.into, 'IntoClause')?.rel ?? (body.into as Node | undefined)?.rel)].filter((n): n is string => n !== undefined);
    case 'SelectStmt': {
      const into = unwrap(body.intoClause, 'IntoClause') ?? (body.intoClause as Node | undefined);
      const name = rangeVarName(into?.rel);
      return name !== undefined ? [name] : [];
    }
    case 'RenameStmt': {
      const old = rangeVarName(body.relation);
      const renamed = str(body.newname);
      if (body.renameType === 'OBJECT_TABLE' && old !== undefined && renamed !== undefined && created.has(tableKey(old))) {
        const dot = old.lastIndexOf('.');
        return [dot >= 0 ? `${old.slice(0, dot)}.${renamed}` : renamed];
      }
      return [];
    }
    default:
      return [];
  }
}

/** Internal names the parser gives built-in types, as people write them. */
const TYPE_SPELLING: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  bpchar: 'char',
  timestamptz: 'timestamptz',
};

/** The type as written, with its modifiers: `varchar(20)`, `numeric(12,2)`, `bigint`. */
function typeName(v: unknown): { name: string; text: string } {
  const t = unwrap(v, 'TypeName') ?? (v as Node | undefined);
  const names = stringList(t?.names).filter((n) => n !== 'pg_catalog');
  const name = names.join('.');
  const mods = list(t?.typmods)
    .map((m) => constValue(m))
    .filter((x): x is string => x !== undefined);
  const base = names.length === 1 ? (TYPE_SPELLING[name] ?? name) : name;
  const array = list(t?.arrayBounds).length > 0 ? '[]' : '';
  return { name, text: `${base}${mods.length > 0 ? `(${mods.join(',')})` : ''}${array}` };
}

function volatileCall(expr: unknown): string | undefined {
  for (const node of walk(expr)) {
    const call = unwrap(node, 'FuncCall');
    const name = call ? stringList(call.funcname).at(-1) : undefined;
    if (name !== undefined && VOLATILE_FUNCTIONS.has(name.toLowerCase())) return name;
  }
  return undefined;
}

/** `CHECK (col IS NOT NULL)` -> col. */
function notNullCheckColumn(con: Node): string | undefined {
  const test = unwrap(con.raw_expr, 'NullTest');
  if (!test || test.nulltesttype !== 'IS_NOT_NULL') return undefined;
  const fields = list(unwrap(test.arg, 'ColumnRef')?.fields);
  return fields.length === 1 ? str(unwrap(fields[0], 'String')?.sval) : undefined;
}

const FIX = {
  concurrentIndex: 'CREATE INDEX CONCURRENTLY instead; it cannot run in a transaction, so give it a migration of its own',
  concurrentReindex: 'REINDEX ... CONCURRENTLY instead (Postgres 12+), outside a transaction',
  uniqueUsingIndex: 'CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE (or PRIMARY KEY) USING INDEX',
  volatileDefault: 'add the column without that default, SET DEFAULT in a second statement, then backfill existing rows in batches',
  typeChange: 'add a column of the new type, backfill it in batches, switch the application over, then drop the old column',
  setNotNull: (col: string) =>
    `ADD CONSTRAINT ... CHECK (${col} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in another transaction, then SET NOT NULL skips the scan (Postgres 12+)`,
  notValid: 'add it NOT VALID, then VALIDATE CONSTRAINT in another transaction (that only takes ShareUpdateExclusiveLock)',
  lockTimeout: "SET lock_timeout = '5s' at the top of the migration, and retry the migration when it times out",
};

/** Every hazard in a file, except the ones an ignore comment silences. */
export function findHazards(parsed: ParsedSource): Hazard[] {
  const out: Hazard[] = [];
  const created = new Set<string>();
  const isNew = (table: string | undefined) => table === undefined || created.has(tableKey(table));
  /** Validated `CHECK (col IS NOT NULL)` seen so far, and NOT VALID ones by name. */
  const validatedNotNull = new Set<string>();
  const pendingNotNull = new Map<string, string>();
  const timeouts = lockTimeoutInForce(parsed);

  parsed.statements.forEach((stmt, index) => {
    const found: Hazard[] = [];
    const hazard = (h: Omit<Hazard, 'index' | 'likely'> & { likely?: boolean }) => found.push({ likely: true, ...h, index });
    const k = kindOf(stmt.node);
    const kind = k?.[0];
    const body = k?.[1] ?? {};

    if (kind === 'IndexStmt' && body.concurrent !== true) {
      const table = rangeVarName(body.relation);
      if (!isNew(table)) {
        hazard({
          rule: 'index-not-concurrent',
          table: table!,
          message: `CREATE INDEX on ${table} without CONCURRENTLY blocks writes to ${table} (ShareLock) until the index is built`,
          fix: FIX.concurrentIndex,
        });
      }
    }

    if (kind === 'ReindexStmt' && !list(body.params).some((p) => unwrap(p, 'DefElem')?.defname === 'concurrently')) {
      const target = rangeVarName(body.relation);
      if ((body.kind === 'REINDEX_OBJECT_TABLE' || body.kind === 'REINDEX_OBJECT_INDEX') && !isNew(target)) {
        hazard({
          rule: 'index-not-concurrent',
          table: target!,
          message: `REINDEX of ${target} without CONCURRENTLY blocks writes to the table, and reads that use the index, until it is rebuilt`,
          fix: FIX.concurrentReindex,
        });
      }
    }

    if (kind === 'AlterTableStmt' && (body.objtype === undefined || body.objtype === 'OBJECT_TABLE')) {
      const table = rangeVarName(body.relation);
      if (table !== undefined) {
        const existing = !isNew(table);
        for (const c of list(body.cmds)) {
          const cmd = unwrap(c, 'AlterTableCmd');
          if (!cmd) continue;
          const subtype = String(cmd.subtype ?? '');
          const colDef = unwrap(cmd.def, 'ColumnDef');
          const con = unwrap(cmd.def, 'Constraint');

          // Validated NOT NULL checks are tracked on new tables too: SET NOT NULL may come later.
          if (subtype === 'AT_AddConstraint' && con?.contype === 'CONSTR_CHECK') {
            const col = notNullCheckColumn(con);
            if (col !== undefined) {
              if (con.skip_validation === true) pendingNotNull.set(`${tableKey(table)}\u0000${String(con.conname ?? '')}`, col);
              else validatedNotNull.add(`${tableKey(table)}\u0000${col}`);
            }
          }
          if (subtype === 'AT_ValidateConstraint') {
            const key = `${tableKey(table)}\u0000${String(cmd.name ?? '')}`;
            const col = pendingNotNull.get(key);
            if (col !== undefined) validatedNotNull.add(`${tableKey(table)}\u0000${col}`);
          }
          if (!existing) continue;

          if (subtype === 'AT_AddColumn' && colDef) {
            const col = str(colDef.colname) ?? '?';
            for (const cc of list(colDef.constraints)) {
              const cdef = unwrap(cc, 'Constraint');
              if (cdef?.contype === 'CONSTR_DEFAULT') {
                const fn = volatileCall(cdef.raw_expr);
                if (fn !== undefined) {
                  hazard({
                    rule: 'volatile-default',
                    table,
                    column: col,
                    message: `ADD COLUMN ${col} with the volatile default ${fn}() rewrites ${table}: every existing row gets its own value while AccessExclusiveLock blocks reads and writes`,
                    fix: FIX.volatileDefault,
                    evidence: 'rewrite',
                  });
                }
              }
              if (cdef?.contype === 'CONSTR_UNIQUE' || cdef?.contype === 'CONSTR_PRIMARY') {
                hazard({
                  rule: 'index-not-concurrent',
                  table,
                  column: col,
                  message: `ADD COLUMN ${col} ${cdef.contype === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY'} builds an index on ${table} while AccessExclusiveLock blocks reads and writes`,
                  fix: FIX.uniqueUsingIndex,
                });
              }
            }
          }

          if (subtype === 'AT_AlterColumnType' && colDef) {
            const col = str(cmd.name) ?? '?';
            const target = typeName(colDef.typeName);
            const using = colDef.raw_default !== undefined;
            hazard({
              rule: 'column-type-rewrite',
              table,
              column: col,
              message: `ALTER COLUMN ${col} TYPE ${target.text} rewrites ${table} and rebuilds its indexes while AccessExclusiveLock blocks reads and writes`,
              fix: FIX.typeChange,
              evidence: 'rewrite',
              likely: using || !OFTEN_COERCIBLE_TYPES.has(target.name),
            });
          }

          // Postgres 18 also writes it as a named constraint: ADD CONSTRAINT name NOT NULL col.
          const notNullConstraint =
            subtype === 'AT_AddConstraint' && con?.contype === 'CONSTR_NOTNULL' && con.skip_validation !== true
              ? str(unwrap(list(con.keys)[0], 'String')?.sval)
              : undefined;
          if (subtype === 'AT_SetNotNull' || notNullConstraint !== undefined) {
            const col = notNullConstraint ?? str(cmd.name) ?? '?';
            const what = notNullConstraint !== undefined ? `ADD CONSTRAINT${con?.conname ? ` ${String(con.conname)}` : ''} NOT NULL` : 'SET NOT NULL';
            hazard({
              rule: 'set-not-null',
              table,
              column: col,
              message: `${what} on ${table}.${col} scans every row while AccessExclusiveLock blocks reads and writes, unless a validated CHECK (${col} IS NOT NULL) exists`,
              fix: FIX.setNotNull(col),
              evidence: 'not-null-scan',
              likely: !validatedNotNull.has(`${tableKey(table)}\u0000${col}`),
            });
          }

          if (subtype === 'AT_AddConstraint' && con) {
            const type = String(con.contype ?? '');
            if ((type === 'CONSTR_FOREIGN' || type === 'CONSTR_CHECK') && con.skip_validation !== true) {
              const parent = type === 'CONSTR_FOREIGN' ? rangeVarName(con.pktable) : undefined;
              const name = str(con.conname);
              const what = type === 'CONSTR_FOREIGN' ? `FOREIGN KEY${name ? ` ${name}` : ''}` : `CHECK${name ? ` ${name}` : ''}`;
              hazard({
                rule: 'constraint-not-valid',
                table,
                message:
                  type === 'CONSTR_FOREIGN'
                    ? `ADD ${what} without NOT VALID checks every row of ${table} while ShareRowExclusiveLock blocks writes to ${table}${parent !== undefined ? ` and ${parent}` : ''}`
                    : `ADD ${what} without NOT VALID checks every row of ${table} while AccessExclusiveLock blocks reads and writes`,
                fix: FIX.notValid,
              });
            }
            if ((type === 'CONSTR_UNIQUE' || type === 'CONSTR_PRIMARY') && con.indexname === undefined) {
              hazard({
                rule: 'index-not-concurrent',
                table,
                message: `ADD ${type === 'CONSTR_UNIQUE' ? 'UNIQUE' : 'PRIMARY KEY'} builds an index on ${table} while AccessExclusiveLock blocks reads and writes`,
                fix: FIX.uniqueUsingIndex,
              });
            }
          }
        }
      }
    }

    if (!timeouts[index]) {
      const exclusive = staticLocks(stmt).filter((l) => l.mode === 'AccessExclusiveLock' && !isNew(l.table));
      const first = exclusive[0];
      if (first) found.push(lockTimeoutHazard(index, first.table));
    }

    for (const name of createdBy(stmt, created)) created.add(tableKey(name));
    if (found.length === 0) return;
    const ignored = ignoredRules(parsed, stmt);
    out.push(...found.filter((h) => !ignored.has(h.rule)));
  });
  return out;
}

/** The lock-timeout hazard for a statement that takes AccessExclusiveLock on `table`. */
export function lockTimeoutHazard(index: number, table: string): Hazard {
  return {
    rule: 'missing-lock-timeout',
    index,
    table,
    message: `takes AccessExclusiveLock on ${table} with no lock_timeout set: while it waits behind any running transaction, every query on ${table} queues behind it`,
    fix: FIX.lockTimeout,
    evidence: 'access-exclusive',
    likely: true,
  };
}
