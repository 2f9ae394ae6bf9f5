/** The one INSERT ... SELECT ... generate_series statement that fills a table from its plan. */
import { quoteIdent, quoteQualified } from '../quote.js';
import type { TablePlan } from './plan.js';
import { G } from './values.js';


/**
 * The one INSERT ... SELECT ... generate_series statement for a plan.
 *
 * Foreign-key values come from the parent's rows numbered 1..n: the m rows of the range are spread
 * over them in parent order (row g takes parent ((g - start) * n / m) + 1); the columns of a
 * composite unique key still take every combination ((g - 1) / n_before % n + 1). When every referenced column has a fixed-length type (integers, uuid, dates...),
 * the parent's keys are collected once into arrays and subscripted per row: no join, O(1) per row.
 * Otherwise the numbered parent rows are joined on their row number.
 */
export function buildInsert(plan: TablePlan, start: number, end: number, nullRetry: boolean, shaped = false): string {
  const target = quoteQualified(plan.table.schema, plan.table.name);
  const ctes: string[] = [];
  const joins: string[] = [];
  const limits: string[] = [];
  const colRef: Array<(i: number) => string> = [];
  const arrayMode = plan.joins.map((j) => j.fk.parentLens.every((l) => l > 0));
  /** Number of usable parent rows of join k (NULL when there are none). */
  const countOf = (k: number): string =>
    arrayMode[k] ? `(SELECT cardinality(a0) FROM fk${k})` : `NULLIF((SELECT count(*) FROM fk${k}), 0)`;
  plan.joins.forEach((j, k) => {
    const alias = `fk${k}`;
    const parent = quoteQualified(j.fk.parentSchema, j.fk.parentName);
    const conds = j.fk.parentCols.map((c) => `p.${quoteIdent(c)} IS NOT NULL`);
    if (j.mode === 'unique') {
      const match = j.fk.cols
        .map((n, i) => {
          const col = plan.table.columns.find((c) => c.attnum === n)!;
          return `t.${quoteIdent(col.name)} = p.${quoteIdent(j.fk.parentCols[i]!)}`;
        })
        .join(' AND ');
      conds.push(`NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${match})`);
    }
    const where = conds.join(' AND ');
    let index: string;
    if (j.mode === 'unique') {
      index = `${G} - ${start - 1}`;
    } else {
      const divisor =
        j.mode === 'radix' && j.radixBefore.length > 0
          ? ` / (${j.radixBefore.map((b) => `${countOf(b)}::int8`).join(' * ')})`
          : '';
      index =
        j.mode === 'join'
          ? // Children in parent order: row g of the range takes parent floor((g - start) * n / rows) + 1, so every
            // parent has children when the range holds as many rows, and each index on the key is filled in order
            // (a cyclic spread puts every insert in a different leaf page: several times slower at volume).
            `((${G}::int8 - ${start}) * ${countOf(k)}) / ${end - start + 1} + 1`
          : `((${G}::int8 - 1)${divisor}) % ${countOf(k)} + 1`;
    }
    if (arrayMode[k]) {
      // One order for every child table: row g of each sibling takes the same parent.
      const order = j.fk.parentCols.map((c) => `p.${quoteIdent(c)}`).join(', ');
      const aggs = j.fk.parentCols.map((c, i) => `array_agg(p.${quoteIdent(c)} ORDER BY ${order}) AS a${i}`).join(', ');
      ctes.push(`${alias} AS MATERIALIZED (SELECT ${aggs} FROM ${parent} p WHERE ${where})`);
      colRef.push((i) => `(SELECT a${i} FROM ${alias})[(${index})::int4]`);
      if (j.mode === 'unique') limits.push(`${start - 1} + coalesce(${countOf(k)}, 0)`);
    } else {
      const cols = j.fk.parentCols.map((c, i) => `p.${quoteIdent(c)} AS c${i}`).join(', ');
      ctes.push(`${alias} AS MATERIALIZED (SELECT ${cols}, row_number() OVER (ORDER BY ${j.fk.parentCols.map((c) => `p.${quoteIdent(c)}`).join(', ')}) AS rn FROM ${parent} p WHERE ${where})`);
      colRef.push((i) => `${alias}.c${i}`);
      joins.push(`${j.mode === 'unique' ? 'JOIN' : 'LEFT JOIN'} ${alias} ON ${alias}.rn = ${index}`);
    }
  });
  const names: string[] = [];
  const exprs: string[] = [];
  for (const p of plan.columns) {
    names.push(quoteIdent(p.col.name));
    if (p.kind === 'fk') {
      const ref = `(${colRef[p.fk]!(p.index)})::${p.col.fmt}`;
      exprs.push(shaped && p.nullWhen !== undefined ? `CASE WHEN ${p.nullWhen} THEN NULL::${p.col.fmt} ELSE ${ref} END` : ref);
    } else if (p.kind === 'null') exprs.push(`NULL::${p.col.fmt}`);
    else if (nullRetry && p.nullable && !p.key) exprs.push(`NULL::${p.col.fmt}`);
    else exprs.push(shaped && p.shaped !== undefined ? p.shaped : p.sql);
  }
  const big = end > 2147483647;
  const num = (n: number | string): string => (big ? `(${n})::int8` : `${n}`);
  const last = limits.length > 0 ? `least(${end}, ${limits.join(', ')})` : `${end}`;
  const series = `generate_series(${num(start)}, ${num(last)})`;
  const withClause = ctes.length > 0 ? `WITH ${ctes.join(',\n     ')}\n` : '';
  const columnList = names.length > 0 ? ` (${names.join(', ')})` : '';
  return `${withClause}INSERT INTO ${target}${columnList}\nSELECT ${exprs.join(',\n       ')}\nFROM ${series} AS gs(g)${joins.map((j) => `\n${j}`).join('')}`;
}

/** True when production's shape changes any column of the plan. */
export function isShaped(plan: TablePlan): boolean {
  return plan.columns.some((p) => (p.kind === 'value' && p.shaped !== undefined) || (p.kind === 'fk' && p.nullWhen !== undefined));
}

/** True when a retry with NULLs in the nullable, non-key, non-FK columns would change anything. */
export function canNullRetry(plan: TablePlan): boolean {
  return plan.columns.some((p) => p.kind === 'value' && p.nullable && !p.key);
}