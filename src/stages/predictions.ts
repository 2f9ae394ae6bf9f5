/**
 * Predictions from production statistics: what production's data will do to each statement of
 * the migrations under test, read from the statement's parse tree and the `production-stats`
 * file only. Each finding names the figure it rests on.
 *
 * The statistics describe production before the migrations under test. A table or column those
 * migrations create, rename or retype is no longer described by them, and rows an earlier
 * statement updated, deleted or that code we cannot see into (DO, CALL, a function in a SELECT)
 * may have touched are not either: predictions stop there rather than guess.
 */

import type { Finding } from '../report/model.js';
import { findTable, displayName, type ColumnStats, type ProductionStats, type TableStats } from '../production-stats.js';
import { isNode, kindOf, list, rangeVarName, str, stringList, tableKey, unwrap, walk, type Node } from '../sql/nodes.js';
import type { Statement } from '../sql/parse.js';
import type { PreparedMigration } from './context.js';

const RULES = {
  notNull: 'predicted-not-null-violation',
  unique: 'predicted-unique-violation',
  type: 'predicted-type-overflow',
  check: 'predicted-check-violation',
  foreignKey: 'predicted-foreign-key-violation',
} as const;

/** Below this ratio of distinct values to rows, the estimate says duplicates exist. */
const DUPLICATE_RATIO = 0.99;

interface State {
  /** Tables (tableKey) created or renamed into by the migrations under test: production knows nothing of them. */
  freshTables: Set<string>;
  /** `table\0column` added, retyped or renamed by them. */
  freshColumns: Set<string>;
  /** Tables whose rows an earlier statement changed. */
  changedRows: Set<string>;
  /** Code ran that the parse tree cannot see into: every table's rows may have changed. */
  opaque: boolean;
}

interface Site {
  migration: string;
  file: string;
  stmt: Statement;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
function percent(f: number): string {
  const p = f * 100;
  return p >= 0.1 ? `${p.toFixed(1)}%` : `${Number(p.toPrecision(2))}%`;
}
function shown(v: string): string {
  return v.length > 40 ? `'${v.slice(0, 37)}...'` : `'${v}'`;
}

/** Predictions for every statement of the migrations under test, in order. */
export function predictFindings(migrations: readonly PreparedMigration[], stats: ProductionStats): Finding[] {
  const state: State = { freshTables: new Set(), freshColumns: new Set(), changedRows: new Set(), opaque: false };
  const out: Finding[] = [];
  for (const p of migrations) {
    if (!p.migration.underTest || !p.up.ok) continue;
    for (const stmt of p.up.parsed.statements) {
      const site = { migration: p.migration.version, file: p.migration.up.file, stmt };
      out.push(...predictStatement(site, stats, state));
      track(stmt.node, state);
    }
  }
  return out;
}

function finding(site: Site, severity: 'error' | 'warning', rule: string, message: string, hint: string): Finding {
  return { stage: 'syntax', severity, rule, migration: site.migration, file: site.file, line: site.stmt.line, column: site.stmt.column, message, hint };
}

/** The table's statistics when they still describe it at this statement. */
function tableAt(name: string | undefined, stats: ProductionStats, state: State, needRows = true): TableStats | undefined {
  if (name === undefined) return undefined;
  const key = tableKey(name);
  if (state.freshTables.has(key) || (needRows && (state.opaque || state.changedRows.has(key)))) return undefined;
  return findTable(stats, name);
}

function columnAt(t: TableStats, name: string | undefined, state: State): ColumnStats | undefined {
  if (name === undefined || state.freshColumns.has(`${tableKey(displayName(t))}\u0000${name}`)) return undefined;
  return t.columns.find((c) => c.name === name);
}

function predictStatement(site: Site, stats: ProductionStats, state: State): Finding[] {
  const k = kindOf(site.stmt.node);
  if (!k) return [];
  const [kind, body] = k;
  if (kind === 'IndexStmt' && body.unique === true && body.whereClause === undefined) {
    const t = tableAt(rangeVarName(body.relation), stats, state);
    const names = list(body.indexParams).map((e) => str(unwrap(e, 'IndexElem')?.name));
    if (!t || names.some((n) => n === undefined)) return [];
    return uniqueFindings(site, t, names as string[], false, state);
  }
  if (kind !== 'AlterTableStmt') return [];
  const t = tableAt(rangeVarName(body.relation), stats, state);
  if (!t) return [];
  const out: Finding[] = [];
  for (const item of list(body.cmds)) {
    const cmd = unwrap(item, 'AlterTableCmd');
    if (!cmd) continue;
    const subtype = str(cmd.subtype);
    const colName = str(cmd.name);
    if (subtype === 'AT_SetNotNull') {
      const c = columnAt(t, colName, state);
      if (c && c.nullFrac > 0) {
        const of = t.rows > 0 ? ` of ${count(t.rows)} ${displayName(t)} rows` : ` of the ${displayName(t)} rows`;
        out.push(
          finding(site, 'error', RULES.notNull, `fails in production: about ${percent(c.nullFrac)}${of} have ${c.name} NULL (pg_stats null_frac ${Number(c.nullFrac.toPrecision(3))})`, `fill the NULLs (UPDATE ... WHERE ${c.name} IS NULL) before SET NOT NULL`),
        );
      }
    } else if (subtype === 'AT_AddColumn') {
      const def = unwrap(cmd.def, 'ColumnDef');
      const types = list(def?.constraints).map((x) => str(unwrap(x, 'Constraint')?.contype));
      const notNull = types.includes('CONSTR_NOTNULL') || types.includes('CONSTR_PRIMARY');
      const filled = types.some((x) => x === 'CONSTR_DEFAULT' || x === 'CONSTR_GENERATED' || x === 'CONSTR_IDENTITY');
      if (notNull && !filled && t.rows >= 1) {
        out.push(
          finding(site, 'error', RULES.notNull, `fails in production: the new column ${str(def?.colname)} is NULL in all of about ${count(t.rows)} ${displayName(t)} rows (pg_class reltuples)`, 'add the column with a DEFAULT, or add it nullable, backfill, then SET NOT NULL'),
        );
      }
    } else if (subtype === 'AT_AlterColumnType') {
      const c = columnAt(t, colName, state);
      const def = unwrap(cmd.def, 'ColumnDef');
      if (c && def && usingKeepsValues(def.raw_default, c.name)) out.push(...typeFindings(site, t, c, unwrap(def.typeName, 'TypeName') ?? (def.typeName as Node)));
    } else if (subtype === 'AT_AddConstraint') {
      const con = unwrap(cmd.def, 'Constraint');
      if (!con || con.skip_validation === true) continue;
      const contype = str(con.contype);
      const keys = stringList(con.keys);
      if ((contype === 'CONSTR_UNIQUE' || contype === 'CONSTR_PRIMARY') && keys.length > 0) out.push(...uniqueFindings(site, t, keys, contype === 'CONSTR_PRIMARY', state));
      if (contype === 'CONSTR_CHECK') out.push(...checkFindings(site, t, con.raw_expr, state));
      if (contype === 'CONSTR_FOREIGN') out.push(...foreignKeyFindings(site, t, con, stats, state));
    }
  }
  return out;
}

/** Duplicates under a new UNIQUE or PRIMARY KEY: common values, or fewer distinct values than rows. */
function uniqueFindings(site: Site, t: TableStats, names: string[], primary: boolean, state: State): Finding[] {
  const cols = names.map((n) => columnAt(t, n, state));
  if (cols.some((c) => c === undefined)) return [];
  const columns = cols as ColumnStats[];
  const what = names.length === 1 ? names[0]! : `(${names.join(', ')})`;
  const hint = `find them first: SELECT ${names.join(', ')}, count(*) FROM ${displayName(t)} GROUP BY ${names.join(', ')} HAVING count(*) > 1`;
  if (primary) {
    const nullable = columns.find((c) => c.nullFrac > 0);
    if (nullable) {
      return [finding(site, 'error', RULES.notNull, `fails in production: about ${percent(nullable.nullFrac)} of ${displayName(t)} rows have ${nullable.name} NULL, which a primary key refuses (pg_stats null_frac)`, 'fill the NULLs first')];
    }
  }
  if (columns.length === 1) {
    const c = columns[0]!;
    const freq = c.mostCommonFreqs?.[0];
    if (c.mostCommonValues && c.mostCommonValues.length > 0 && freq !== undefined) {
      const rows = t.rows > 0 ? ` (about ${count(freq * t.rows)} rows)` : '';
      return [finding(site, 'error', RULES.unique, `fails in production: ${displayName(t)}.${c.name} = ${shown(c.mostCommonValues[0]!)} is in about ${percent(freq)} of rows${rows} (pg_stats most common value)`, hint)];
    }
  }
  if (t.rows < 2) return [];
  // Rows with every key set, at least; the combinations of values, at most the product of each column's distinct count.
  const keyed = t.rows * Math.max(0, 1 - columns.reduce((s, c) => s + c.nullFrac, 0));
  const distinct = columns.reduce((p, c) => p * (c.nDistinct >= 0 ? c.nDistinct : -c.nDistinct * t.rows), 1);
  if (keyed < 2 || distinct >= keyed * DUPLICATE_RATIO) return [];
  return [
    finding(site, 'error', RULES.unique, `fails in production: about ${count(keyed)} ${displayName(t)} rows have ${what} set but at most about ${count(distinct)} distinct values (pg_stats n_distinct)`, hint),
  ];
}

/** A USING that hands the old value straight to the cast (or none): the values reach the new type unchanged. */
function usingKeepsValues(using: unknown, column: string): boolean {
  if (using === undefined) return true;
  let e: unknown = using;
  while (unwrap(e, 'TypeCast')) e = unwrap(e, 'TypeCast')!.arg;
  const fields = stringList(unwrap(e, 'ColumnRef')?.fields);
  return fields.length > 0 && fields[fields.length - 1] === column;
}

const INT_RANGE: Record<string, [number, number]> = {
  int2: [-32768, 32767],
  int4: [-2147483648, 2147483647],
  int8: [-9223372036854775808, 9223372036854775807],
};
const INT_NAMES: Record<string, string> = { int2: 'smallint', int4: 'integer', int8: 'bigint' };
/** A number text outside an integer type's range once rounded (as the cast rounds). */
function outside(value: string, [min, max]: [number, number]): boolean {
  const n = Math.round(Number(value.trim()));
  return n < min || n > max;
}
const NUMERIC_TARGETS = new Set(['int2', 'int4', 'int8', 'numeric', 'float4', 'float8']);
const TEXT_SOURCE = /^(text|character varying|character|varchar|char|citext|name)\b/;
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

function valuesOf(c: ColumnStats): Array<{ value: string; source: string }> {
  return [
    ...(c.mostCommonValues ?? []).map((value, i) => ({ value, source: `pg_stats most common value, about ${percent(c.mostCommonFreqs?.[i] ?? 0)} of rows` })),
    ...(c.histogramBounds ?? []).map((value) => ({ value, source: 'pg_stats histogram bound' })),
  ];
}

function typeFindings(site: Site, t: TableStats, c: ColumnStats, typeName: Node | undefined): Finding[] {
  const names = stringList(typeName?.names);
  const target = names[names.length - 1];
  if (!target) return [];
  const mods = list(typeName?.typmods).map((m) => unwrap(unwrap(m, 'A_Const')?.ival, 'ival') ?? unwrap(m, 'A_Const')?.ival);
  const first = mods[0];
  const length = isNode(first) && typeof first.ival === 'number' ? first.ival : undefined;
  const col = `${displayName(t)}.${c.name}`;
  const values = valuesOf(c);
  if ((target === 'varchar' || target === 'bpchar') && length !== undefined) {
    const typeShown = `${target === 'varchar' ? 'varchar' : 'char'}(${length})`;
    const long = values.find((v) => [...v.value].length > length);
    if (long) {
      return [finding(site, 'error', RULES.type, `fails in production: ${col} holds ${shown(long.value)} (${[...long.value].length} characters; ${long.source}), longer than ${typeShown}`, `shorten or clean the longer values first, or keep the wider type`)];
    }
    // avg_width counts bytes and a 1-byte length header: only a hint when characters are multi-byte.
    if (c.avgWidth - 1 > length) {
      return [finding(site, 'warning', RULES.type, `likely fails in production: ${col} values average ${c.avgWidth} bytes (pg_stats avg_width), more than ${typeShown} holds unless most characters are multi-byte`, `check: SELECT max(length(${c.name})) FROM ${displayName(t)}`)];
    }
    return [];
  }
  if (!NUMERIC_TARGETS.has(target)) return [];
  const fromText = TEXT_SOURCE.test(c.type);
  for (const v of values) {
    if (!NUMBER.test(v.value)) {
      const special = (target === 'numeric' || target.startsWith('float')) && /^\s*[+-]?(nan|infinity|inf)\s*$/i.test(v.value);
      if (fromText && !special) {
        return [finding(site, 'error', RULES.type, `fails in production: ${col} holds ${shown(v.value)} (${v.source}), which is not a number`, 'clean the values first, or convert them in a USING expression')];
      }
      continue;
    }
    const range = INT_RANGE[target];
    if (range && outside(v.value, range)) {
      return [finding(site, 'error', RULES.type, `fails in production: ${col} holds ${v.value.trim()} (${v.source}), out of range for ${INT_NAMES[target]}`, 'keep the wider type')];
    }
  }
  return [];
}

interface Comparison {
  column: string;
  op: string;
  values: Array<string | number>;
}

function constOf(v: unknown): string | number | undefined {
  let e: unknown = v;
  while (unwrap(e, 'TypeCast')) e = unwrap(e, 'TypeCast')!.arg;
  const c = unwrap(e, 'A_Const');
  if (!c) return undefined;
  if (c.isnull === true) return undefined;
  if (isNode(c.ival)) return typeof c.ival.ival === 'number' ? c.ival.ival : 0;
  if (isNode(c.fval) && typeof c.fval.fval === 'string') return Number(c.fval.fval);
  if (isNode(c.sval)) return str(c.sval.sval) ?? '';
  return undefined;
}

function columnOf(v: unknown): string | undefined {
  const fields = stringList(unwrap(v, 'ColumnRef')?.fields);
  return fields[fields.length - 1];
}

const FLIP: Record<string, string> = { '<': '>', '>': '<', '<=': '>=', '>=': '<=', '=': '=', '<>': '<>', '!=': '<>' };

/** The simple comparisons a CHECK is a conjunction of: col op const, const op col, col IN (...). */
function comparisons(expr: unknown): Comparison[] {
  const bool = unwrap(expr, 'BoolExpr');
  if (bool) return str(bool.boolop) === 'AND_EXPR' ? list(bool.args).flatMap(comparisons) : [];
  const a = unwrap(expr, 'A_Expr');
  if (!a) return [];
  const op = stringList(a.name)[0] ?? '';
  if (str(a.kind) === 'AEXPR_IN' && op === '=') {
    const column = columnOf(a.lexpr);
    const values = list(unwrap(a.rexpr, 'List')?.items).map(constOf);
    return column && values.every((v) => v !== undefined) ? [{ column, op: 'in', values: values as Array<string | number> }] : [];
  }
  if (str(a.kind) !== 'AEXPR_OP' || !(op in FLIP)) return [];
  const left = columnOf(a.lexpr);
  const right = columnOf(a.rexpr);
  if (left && constOf(a.rexpr) !== undefined) return [{ column: left, op, values: [constOf(a.rexpr)!] }];
  if (right && constOf(a.lexpr) !== undefined) return [{ column: right, op: FLIP[op]!, values: [constOf(a.lexpr)!] }];
  return [];
}

/** Whether a value present in production passes the comparison; undefined when it cannot be told soundly. */
function passes(value: string, cmp: Comparison): boolean | undefined {
  const numeric = cmp.values.every((v) => typeof v === 'number');
  if (numeric && !NUMBER.test(value)) return undefined;
  const x: string | number = numeric ? Number(value) : value;
  if (cmp.op === 'in') return cmp.values.some((v) => v === x);
  const k = cmp.values[0]!;
  if (cmp.op === '=') return x === k;
  if (cmp.op === '<>' || cmp.op === '!=') return x !== k;
  // Ordering text depends on the collation: only numbers are compared.
  if (!numeric) return undefined;
  const [n, m] = [x as number, k as number];
  return cmp.op === '<' ? n < m : cmp.op === '<=' ? n <= m : cmp.op === '>' ? n > m : n >= m;
}

function checkFindings(site: Site, t: TableStats, expr: unknown, state: State): Finding[] {
  for (const cmp of comparisons(expr)) {
    const c = columnAt(t, cmp.column, state);
    if (!c) continue;
    const bad = valuesOf(c).find((v) => passes(v.value, cmp) === false);
    if (bad) {
      return [finding(site, 'error', RULES.check, `fails in production: ${displayName(t)}.${c.name} holds ${shown(bad.value)} (${bad.source}), which the CHECK refuses`, 'fix those rows first, or add the constraint NOT VALID and VALIDATE it once they are fixed')];
    }
  }
  return [];
}

function foreignKeyFindings(site: Site, t: TableStats, con: Node, stats: ProductionStats, state: State): Finding[] {
  const childCols = stringList(con.fk_attrs);
  const parentCols = stringList(con.pk_attrs);
  const parentName = rangeVarName(con.pktable);
  if (parentName === undefined || childCols.length !== 1) return [];
  const child = columnAt(t, childCols[0], state);
  if (!child) return [];
  const setRows = t.rows * (1 - child.nullFrac);
  const parentKey = tableKey(parentName);
  // A parent the migrations under test just created holds no rows unless they put some in.
  if (state.freshTables.has(parentKey) && !state.changedRows.has(parentKey) && !state.opaque && setRows >= 1) {
    return [finding(site, 'error', RULES.foreignKey, `fails in production: ${parentName} is new and empty, but about ${count(setRows)} ${displayName(t)} rows have ${child.name} set (pg_class reltuples, pg_stats null_frac)`, `fill ${parentName} first, or add the constraint NOT VALID`)];
  }
  const parent = tableAt(parentName, stats, state, false);
  const pc = parent && parentCols.length === 1 ? columnAt(parent, parentCols[0], state) : undefined;
  if (!pc) return [];
  const range = /^smallint$/.test(pc.type) ? INT_RANGE.int2 : /^integer$/.test(pc.type) ? INT_RANGE.int4 : undefined;
  const width = /^character varying\((\d+)\)$/.exec(pc.type);
  for (const v of valuesOf(child)) {
    const tooLong = width && [...v.value].length > Number(width[1]);
    const outOfRange = range && NUMBER.test(v.value) && outside(v.value, range);
    if (tooLong || outOfRange) {
      return [finding(site, 'error', RULES.foreignKey, `fails in production: ${displayName(t)}.${child.name} holds ${shown(v.value)} (${v.source}), which no ${displayName(parent!)}.${pc.name} (${pc.type}) can hold`, 'fix those rows first, or add the constraint NOT VALID')];
    }
  }
  return [];
}

/** What a statement changes about what the statistics still describe. */
function track(node: Node, state: State): void {
  const k = kindOf(node);
  if (!k) return;
  const [kind, body] = k;
  const rel = (v: unknown) => {
    const n = rangeVarName(v);
    return n === undefined ? undefined : tableKey(n);
  };
  switch (kind) {
    case 'CreateStmt':
      if (rel(body.relation)) state.freshTables.add(rel(body.relation)!);
      return;
    case 'CreateTableAsStmt':
      if (rel(unwrap(body.into, 'IntoClause')?.rel)) state.freshTables.add(rel(unwrap(body.into, 'IntoClause')?.rel)!);
      return;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      if (rel(body.relation)) state.changedRows.add(rel(body.relation)!);
      return;
    case 'TruncateStmt':
      for (const r of list(body.relations)) if (rel(r)) state.changedRows.add(rel(r)!);
      return;
    case 'DoStmt':
    case 'CallStmt':
      state.opaque = true;
      return;
    case 'SelectStmt':
      if ([...walk(body)].some((n) => 'FuncCall' in n)) state.opaque = true;
      return;
    case 'RenameStmt': {
      const table = rel(body.relation);
      const type = str(body.renameType);
      if (type === 'OBJECT_TABLE' && str(body.newname)) state.freshTables.add(tableKey(str(body.newname)!));
      if (type === 'OBJECT_COLUMN' && table && str(body.newname)) state.freshColumns.add(`${table}\u0000${str(body.newname)}`);
      return;
    }
    case 'AlterTableStmt': {
      const table = rel(body.relation);
      if (!table) return;
      for (const item of list(body.cmds)) {
        const cmd = unwrap(item, 'AlterTableCmd');
        const subtype = str(cmd?.subtype);
        if (subtype === 'AT_AddColumn') {
          const name = str(unwrap(cmd?.def, 'ColumnDef')?.colname);
          if (name) state.freshColumns.add(`${table}\u0000${name}`);
        } else if (subtype === 'AT_AlterColumnType' && str(cmd?.name)) {
          state.freshColumns.add(`${table}\u0000${str(cmd?.name)}`);
        }
      }
      return;
    }
  }
}

/**
 * Tables the file and the schema disagree on: production's schema is what the migrations not
 * under test create (all of them when every migration is under test), as far as the parse trees show.
 */
export function statsCoverageFindings(migrations: readonly PreparedMigration[], stats: ProductionStats): Finding[] {
  const baseline = migrations.filter((p) => !p.migration.underTest);
  const schema = new Set<string>();
  for (const p of baseline.length > 0 ? baseline : migrations) {
    if (!p.up.ok) continue;
    for (const stmt of p.up.parsed.statements) {
      const k = kindOf(stmt.node);
      if (!k) continue;
      const [kind, body] = k;
      if (kind === 'CreateStmt' && rangeVarName(body.relation)) schema.add(tableKey(rangeVarName(body.relation)!));
      if (kind === 'DropStmt' && str(body.removeType) === 'OBJECT_TABLE') {
        for (const o of list(body.objects)) schema.delete(tableKey(stringList(unwrap(o, 'List')?.items).join('.')));
      }
      if (kind === 'RenameStmt' && str(body.renameType) === 'OBJECT_TABLE' && rangeVarName(body.relation) && str(body.newname)) {
        const schemaName = str(unwrap(body.relation, 'RangeVar')?.schemaname) ?? str((body.relation as Node | undefined)?.schemaname);
        schema.delete(tableKey(rangeVarName(body.relation)!));
        schema.add(tableKey(schemaName ? `${schemaName}.${str(body.newname)}` : str(body.newname)!));
      }
    }
  }
  const inFile = new Set(stats.tables.map((t) => tableKey(displayName(t))));
  const extra = [...inFile].filter((n) => !schema.has(n));
  const missing = [...schema].filter((n) => !inFile.has(n));
  const tables = (n: number) => (n === 1 ? '1 table' : `${n} tables`);
  const listed = (names: string[]) => `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
  const out: Finding[] = [];
  if (extra.length > 0 && schema.size > 0) {
    out.push({ stage: 'syntax', severity: 'notice', rule: 'production-stats-mismatch', message: `production-stats names ${tables(extra.length)} the migrations do not create: ${listed(extra)}` });
  }
  if (missing.length > 0) {
    out.push({ stage: 'syntax', severity: 'notice', rule: 'production-stats-mismatch', message: `production-stats lacks ${tables(missing.length)} the migrations create: ${listed(missing)}; nothing is predicted for them` });
  }
  for (const u of stats.unreadable) {
    out.push({ stage: 'syntax', severity: 'notice', rule: 'production-stats-mismatch', message: `production-stats could not read ${displayName(u)}: ${u.reason}` });
  }
  return out;
}
