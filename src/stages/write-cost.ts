/**
 * The cost to writes. For each table with rows that a migration gives a new index, trigger,
 * foreign key or constraint, a fixed batch of generated INSERTs is timed before and after the
 * migration, each time in a transaction that is rolled back; the ratio is reported, and is a
 * warning past `write-cost-threshold` when one is set. Each side is the fastest of several runs;
 * still, timings minutes apart move with the machine's load, so a warning is only on request.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { ExistingTable } from '../db/measure.js';
import { seedTables } from '../db/seed.js';
import type { Finding } from '../report/model.js';
import { kindOf, list, rangeVarName, str, tableKey, unwrap } from '../sql/nodes.js';
import type { ParsedSource } from '../sql/parse.js';

const BATCH = 2_000;
const RUNS = 5;
/** Ratios this close to 1 are the machine's noise, not the migration's cost, however steady the runs. */
export const WRITE_COST_NOISE = 0.1;

/** The runs of one side: the fastest is the figure, the spread of the rest is the machine's noise. */
export interface WriteTimings {
  fastest: number;
  /** How far the median run lies above the fastest, as a fraction of it. */
  spread: number;
  slowest: number;
}

export function writeTimings(runs: readonly number[]): WriteTimings {
  const sorted = [...runs].sort((a, b) => a - b);
  const fastest = sorted[0]!;
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return { fastest, spread: (median - fastest) / Math.max(fastest, 0.01), slowest: sorted[sorted.length - 1]! };
}

/** The band a ratio must leave to be the migration's: the floor, or wider when either side's own runs moved more. */
export function writeNoise(before: WriteTimings, after: WriteTimings): number {
  return Math.max(WRITE_COST_NOISE, before.spread, after.spread);
}

/**
 * How much slower writes got, in words: "unchanged" inside the noise band. What a migration adds
 * (an index, a trigger, a constraint) cannot make inserts faster, so a faster reading is noise too.
 */
export function describeWriteRatio(ratio: number, noise = WRITE_COST_NOISE): string {
  if (ratio < 1 + noise) return `unchanged (within ${Math.round(noise * 100)}%)`;
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}× slower`;
}

/** What the migration adds on each table that every write must pay for, by table name as written. */
export function writeBurdens(up: ParsedSource): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (table: string | undefined, what: string) => {
    if (!table) return;
    const key = tableKey(table);
    out.set(key, [...(out.get(key) ?? []), what]);
  };
  for (const s of up.statements) {
    const [kind, body] = kindOf(s.node) ?? ['', {}];
    if (kind === 'IndexStmt') add(rangeVarName(body.relation), body.unique === true ? 'unique index' : 'index');
    else if (kind === 'CreateTrigStmt') add(rangeVarName(body.relation), 'trigger');
    else if (kind === 'AlterTableStmt') {
      for (const cmd of list(body.cmds)) {
        const c = unwrap(cmd, 'AlterTableCmd');
        if (str(c?.subtype) !== 'AT_AddConstraint') continue;
        const contype = str(unwrap(c?.def, 'Constraint')?.contype);
        const what = contype === 'CONSTR_FOREIGN' ? 'foreign key' : contype === 'CONSTR_CHECK' ? 'check' : contype === 'CONSTR_UNIQUE' || contype === 'CONSTR_PRIMARY' ? 'unique index' : 'constraint';
        add(rangeVarName(body.relation), what);
      }
    }
  }
  return out;
}

/** The runs' timings, or why the batch could not be inserted (a trigger that raises, a check the generated rows fail). */
async function timeBatch(client: pg.ClientBase, table: ExistingTable, rows: number): Promise<WriteTimings | { failed: string }> {
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await client.query('BEGIN');
    try {
      const t0 = performance.now();
      // As the application inserts: what a new trigger or foreign key costs fires with each row.
      const r = await seedTables(client, { rows: rows + BATCH, tables: [`${table.schema}.${table.name}`], inTransaction: true, asApplication: true });
      const ms = performance.now() - t0;
      if (!r.seeded.some((s) => s.rowsAdded >= BATCH)) {
        return { failed: r.notices.find((n) => n.message !== '')?.message ?? `${BATCH.toLocaleString('en-US')} rows could not be inserted` };
      }
      runs.push(ms);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
    }
  }
  return writeTimings(runs);
}

export class WriteCost {
  private constructor(
    private readonly before: Map<ExistingTable, { timings: WriteTimings; burdens: string[] }>,
    private readonly rows: ReadonlyMap<number, number>,
  ) {}

  static async before(client: pg.ClientBase, up: ParsedSource, populated: readonly ExistingTable[], rows: ReadonlyMap<number, number>): Promise<WriteCost> {
    const burdens = writeBurdens(up);
    const before = new Map<ExistingTable, { timings: WriteTimings; burdens: string[] }>();
    for (const t of populated) {
      const b = burdens.get(tableKey(t.written)) ?? burdens.get(t.name) ?? burdens.get(`${t.schema}.${t.name}`);
      if (!b) continue;
      const timings = await timeBatch(client, t, rows.get(t.oid) ?? 0);
      if (!('failed' in timings)) before.set(t, { timings, burdens: b });
    }
    return new WriteCost(before, rows);
  }

  async after(client: pg.ClientBase, opts: { version: string; up: ParsedSource; threshold: number | undefined }): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const [t, b] of this.before) {
      const counted = [...new Set(b.burdens)].map((w) => {
        const n = b.burdens.filter((x) => x === w).length;
        return `${n} new ${w}${n === 1 ? '' : w.endsWith('x') ? 'es' : 's'}`;
      });
      const after = await timeBatch(client, t, this.rows.get(t.oid) ?? 0);
      if ('failed' in after) {
        // Inserted before, refused after: what the migration added rejects the generated rows.
        findings.push({
          stage: 'performance',
          severity: 'notice',
          rule: 'write-cost',
          migration: opts.version,
          file: opts.up.source.file,
          message: `inserts into ${t.display} could not be timed after ${opts.version} (${counted.join(', ')}): ${after.failed}`,
          hint: 'generated rows that the application would not write can fail a new trigger or constraint; if the application writes such rows, its inserts fail after this migration',
        });
        continue;
      }
      const ratio = after.fastest / Math.max(b.timings.fastest, 0.01);
      const noise = writeNoise(b.timings, after);
      // Never a warning for what the message calls unchanged, nor when a run before was as slow as one after.
      const warn = opts.threshold !== undefined && ratio >= opts.threshold && ratio >= 1 + noise && after.fastest > b.timings.slowest;
      findings.push({
        stage: 'performance',
        severity: warn ? 'warning' : 'notice',
        rule: 'write-cost',
        migration: opts.version,
        file: opts.up.source.file,
        message: `inserts into ${t.display} ${describeWriteRatio(ratio, noise)} after ${opts.version}: ${counted.join(', ')}`,
        detail: `${BATCH.toLocaleString('en-US')} generated rows, rolled back, fastest of ${RUNS}: ${b.timings.fastest.toFixed(1)} ms before, ${after.fastest.toFixed(1)} ms after${warn ? ` (write-cost-threshold ${opts.threshold}×)` : ''}`,
        ...(warn ? { hint: 'every insert now maintains what the migration added: drop what no query needs, or accept the cost knowingly' } : {}),
      });
    }
    return findings;
  }
}
