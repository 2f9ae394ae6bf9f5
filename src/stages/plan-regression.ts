/**
 * Query plans at volume. On the tables the performance stage filled and analyzed, every query of
 * the running release (or, without `queries`, lookups by key, by each indexed column and along
 * each foreign key of the tables the migration touches) is planned before and after the
 * migration. A plan whose cost grows past `plan-cost-threshold` times, or an index scan that
 * turns into a sequential scan of a table with rows, is a warning showing both plans' key lines.
 * Plan costs, not timings: the verdict does not move with the machine's load.
 */
import type pg from 'pg';
import type { ExistingTable } from '../db/measure.js';
import { genericPlan, lookupQueries, type PlanNode } from '../db/plans.js';
import type { Finding } from '../report/model.js';
import { list, str, stringList, unwrap } from '../sql/nodes.js';
import type { ParsedSource } from '../sql/parse.js';
import type { AppQuery } from './queries.js';

interface Planned {
  label: string;
  sql: string;
  file?: string;
  line?: number;
  plan: PlanNode | undefined;
}

function* nodes(plan: PlanNode): Generator<PlanNode> {
  yield plan;
  for (const child of plan.Plans ?? []) yield* nodes(child);
}

const INDEX_SCANS = new Set(['Index Scan', 'Index Only Scan', 'Bitmap Index Scan']);

/** `Index Scan using users_email_idx on users (cost 8.44)`: the lines that tell two plans apart. */
function keyLines(plan: PlanNode): string[] {
  const out: string[] = [];
  for (const n of nodes(plan)) {
    if (!n['Relation Name'] && !n['Index Name']) continue;
    const on = n['Relation Name'] ? ` on ${n['Relation Name']}` : '';
    out.push(`${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${on} (cost ${n['Total Cost'].toFixed(2)})`);
  }
  out.push(`total cost ${plan['Total Cost'].toFixed(2)}`);
  return out;
}

/** Relations read through an index in a plan; a bitmap index scan names only its index, the heap scan above it the table. */
function indexedRelations(plan: PlanNode): Set<string> {
  const out = new Set<string>();
  for (const n of nodes(plan)) {
    if (!INDEX_SCANS.has(n['Node Type'])) continue;
    if (n['Relation Name']) out.add(n['Relation Name']);
  }
  for (const n of nodes(plan)) if (n['Node Type'] === 'Bitmap Heap Scan' && n['Relation Name']) out.add(n['Relation Name']);
  return out;
}

function seqScanned(plan: PlanNode): Set<string> {
  const out = new Set<string>();
  for (const n of nodes(plan)) if (n['Node Type'] === 'Seq Scan' && n['Relation Name']) out.add(n['Relation Name']);
  return out;
}

export class PlanWatch {
  private constructor(private readonly planned: Planned[]) {}

  /** Plans every query before the migration; `queries` from the user, else generated lookups on `existing`. */
  static async before(client: pg.ClientBase, existing: readonly ExistingTable[], queries: readonly AppQuery[] | undefined): Promise<PlanWatch> {
    const set =
      queries && queries.length > 0
        ? queries.map((q) => ({ label: `query at ${q.file}${q.line !== undefined ? `:${q.line}` : ''}`, sql: q.sql, file: q.file, ...(q.line !== undefined ? { line: q.line } : {}) }))
        : await lookupQueries(
            client,
            existing.map((t) => t.oid),
          );
    const planned: Planned[] = [];
    for (const q of set) planned.push({ ...q, plan: await genericPlan(client, q.sql) });
    return new PlanWatch(planned);
  }

  /** Plans them again after the migration: a plan that got much costlier, or lost its index on a table with rows. */
  async after(
    client: pg.ClientBase,
    opts: { version: string; up: ParsedSource; threshold: number; populated: ReadonlySet<string> },
  ): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const q of this.planned) {
      if (!q.plan) continue;
      const after = await genericPlan(client, q.sql);
      // A query that no longer plans is the dependencies stage's to report.
      if (!after) continue;
      const lostIndex = [...indexedRelations(q.plan)].filter((r) => seqScanned(after).has(r) && !indexedRelations(after).has(r) && opts.populated.has(r));
      const before = Math.max(q.plan['Total Cost'], 0.01);
      const growth = after['Total Cost'] / before;
      if (lostIndex.length === 0 && growth < opts.threshold) continue;
      const why =
        lostIndex.length > 0
          ? `turns an index scan into a sequential scan of ${lostIndex.join(', ')}`
          : `costs ${growth.toFixed(1)}x what it did (plan-cost-threshold ${opts.threshold}x)`;
      findings.push({
        stage: 'performance',
        severity: 'warning',
        rule: 'plan-regression',
        migration: opts.version,
        file: q.file ?? opts.up.source.file,
        ...(q.line !== undefined ? { line: q.line } : {}),
        message: `after ${opts.version}, the ${q.label} ${why} (cost ${before.toFixed(2)} -> ${after['Total Cost'].toFixed(2)})`,
        detail: ['before:', ...keyLines(q.plan).map((l) => `  ${l}`), 'after:', ...keyLines(after).map((l) => `  ${l}`), '', q.sql].join('\n'),
        hint: 'keep an index that serves this query, or replace it in the same migration (CREATE INDEX CONCURRENTLY before dropping the old one)',
      });
    }
    return findings;
  }
}

/**
 * Indexes the migration drops, as written: their tables are what its plans change on, although
 * the statement names no table.
 */
export function droppedIndexes(up: ParsedSource): string[] {
  const out: string[] = [];
  for (const s of up.statements) {
    const drop = unwrap(s.node, 'DropStmt');
    if (str(drop?.removeType) !== 'OBJECT_INDEX') continue;
    for (const o of list(drop?.objects)) out.push(stringList(unwrap(o, 'List')?.items).join('.'));
  }
  return out.filter((n) => n !== '');
}
