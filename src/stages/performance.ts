/**
 * Stage 4, performance: every migration under test runs on tables filled to `perf-rows` rows,
 * on a scratch database of its own, and each statement is timed and watched (locks, rewrites)
 * inside the migration's transaction. Baseline migrations are applied as they are.
 *
 * Before a migration is timed, the existing tables it names are filled to a quarter of the rows
 * and the migration is run once in a transaction that is rolled back; then they are topped up
 * to the full count and it runs for real. Two sizes tell a statement whose time grows with the
 * rows from one that costs the same at any size, which is what a projection to production needs.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { Config } from '../config.js';
import { applyStatements, applyWhole, transactionModeFor, type ApplyResult, type StatementFailure } from '../db/execute.js';
import { tablesOfIndexes } from '../db/plans.js';
import { countRows, relationSizes, resolveTables, userTables, vacuumTables, withDescendants, type ExistingTable } from '../db/measure.js';
import { seedTables, type SeedNotice, type SeedOutcome } from '../db/seed.js';
import { InputError } from '../errors.js';
import type { Finding, StageStatus, StatementMeasure } from '../report/model.js';
import { findHazards } from '../sql/hazards.js';
import { joinPairs } from '../sql/joins.js';
import { tableKey } from '../sql/nodes.js';
import type { ParsedSource } from '../sql/parse.js';
import { existingTablesTouched as touchedTables } from '../sql/touched.js';
import { emptyOutcome, type PreparedMigration, type StageContext, type StageOutcome } from './context.js';
import { assessMigration, type MigrationMeasurement } from './performance-findings.js';
import { droppedIndexes, PlanWatch } from './plan-regression.js';
import { productionRowsOf } from './projection.js';
import { WriteCost } from './write-cost.js';
import { loadQueries, type AppQuery } from './queries.js';
import { StatementProbe } from './statement-probe.js';
import { failureFinding } from './syntax.js';
import { PreSeedCheckpoint } from './checkpoint.js';
import { sqlStepper } from './steps.js';
import { explainFailure } from './value-failures.js';
import type { ScratchDatabase } from '../db/scratch.js';
import { applySessionLimits } from './walk.js';

/** SQLSTATE classes of a failure caused by the values: data exceptions and integrity violations. */
const VALUE_FAILURE = /^2[23]/;
/** Fewer rows than this in the first, rolled-back run say too little to be worth it. */
const MIN_SMALL_ROWS = 1_000;
const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

export async function runPerformanceStage(ctx: StageContext): Promise<StageOutcome> {
  const outcome = emptyOutcome('performance');
  if (ctx.config.upCommand) {
    // Steps of a migration tool are not statements we can time one by one, lock by lock.
    outcome.findings.push({
      stage: 'performance',
      severity: 'notice',
      rule: 'not-measured',
      message: 'the performance stage times SQL statements; with up-command the migrations are code and are not measured',
    });
    return outcome;
  }
  const queries = ctx.config.queries ? loadQueries(ctx.config.root, ctx.config.queries).queries : undefined;
  const template = ctx.baselineTemplate;
  let db = await ctx.server.createDatabase(template?.name);
  let client: pg.Client | undefined;
  const notices = new Set<string>();
  const connect = async (target: ScratchDatabase): Promise<pg.Client> => {
    const c = await ctx.server.connect(target);
    await applySessionLimits(c, ctx);
    return c;
  };
  // The state before the tool's generated rows, built only when a migration fails on them.
  const checkpoint = new PreSeedCheckpoint(ctx, connect, (c) => sqlStepper(c));
  try {
    client = await connect(db);
    /** Replaces the stage's database by the checkpoint holding every migration through `index`; false when it fails there. */
    const restore = async (index: number): Promise<{ ok: boolean; failure?: StatementFailure }> => {
      const r = await checkpoint.applyThrough(index);
      if (!r?.ok) return { ok: false, ...(r?.failure ? { failure: r.failure } : {}) };
      const fresh = await checkpoint.copy();
      await client?.end().catch(() => {});
      client = undefined;
      // Dropped in the background: DROP DATABASE waits for a checkpoint of the whole server.
      ctx.server.retireDatabase(db.name);
      db = fresh;
      client = await connect(db);
      return { ok: true };
    };
    let stopped: string | undefined;
    const notReached: string[] = [];
    const emptyFills: string[] = [];
    let measuredOnRows = 0;
    for (const [index, prepared] of ctx.migrations.entries()) {
      const m = prepared.migration;
      // Already in the cloned baseline template.
      if (template && index < template.count) continue;
      if (stopped !== undefined || !prepared.up.ok) {
        // A file that does not parse stops the staircase; the syntax stage reports it.
        stopped ??= m.version;
        if (m.underTest) {
          outcome.perMigration.set(m.version, 'skip');
          notReached.push(m.version);
        }
        continue;
      }
      const up = prepared.up.parsed;
      const t0 = performance.now();
      if (!m.underTest || !covers(ctx.config, up)) {
        const r = await applyWhole(client, up);
        await applySessionLimits(client, ctx);
        if (m.underTest) {
          outcome.perMigration.set(m.version, 'skip');
          ctx.progress({ kind: 'migration', stage: 'performance', version: m.version, name: m.name, status: 'skip', durationMs: performance.now() - t0, note: 'touches no critical table' });
        }
        if (!r.ok) stopped = m.version;
        continue;
      }
      const result = await measureMigration(ctx, client, prepared, up, queries, () => restore(index), (n) => {
        const key = `${n.table}\u0000${n.message}`;
        if (notices.has(key)) return;
        notices.add(key);
        outcome.findings.push({
          stage: 'performance',
          severity: 'notice',
          rule: 'table-not-filled',
          migration: m.version,
          message: `table ${n.table} could not be filled to ${ctx.config.perfRows.toLocaleString('en-US')} rows before ${m.version}, so ${m.version} was timed on fewer: ${n.message}`,
        });
      });
      await applySessionLimits(client!, ctx);
      if (result.emptyFill === true) emptyFills.push(m.version);
      else if (result.emptyFill === false) measuredOnRows++;
      outcome.findings.push(...result.findings);
      outcome.statements.push(...result.statements);
      const status: StageStatus = result.findings.some((f) => f.severity === 'error')
        ? 'fail'
        : result.findings.some((f) => f.severity === 'warning')
          ? 'warn'
          : result.stop
            ? 'skip'
            : 'pass';
      outcome.perMigration.set(m.version, status);
      ctx.progress({ kind: 'migration', stage: 'performance', version: m.version, name: m.name, status, durationMs: performance.now() - t0, note: result.note });
      if (result.stop) stopped = m.version;
    }
    if (emptyFills.length > 0 && measuredOnRows === 0 && ctx.config.perfRows > 0) {
      // Timing every migration on empty tables would pass anything: not a verdict to give.
      const reasons = [...new Set(outcome.findings.filter((f) => f.rule === 'measured-on-fewer-rows').map((f) => f.message))].slice(0, 5);
      throw new InputError('database', `the performance stage could not fill any table the migrations touch, so nothing could be measured (${emptyFills.join(', ')}): ${reasons.join('; ')}`);
    }
    if (stopped === undefined && ctx.config.productionRows.size > 0) outcome.findings.push(...(await unknownProductionTables(client!, ctx.config)));
    if (stopped !== undefined && notReached.length > 0) {
      outcome.findings.push({
        stage: 'performance',
        severity: 'notice',
        rule: 'not-measured',
        message: `${notReached.join(', ')} ${notReached.length === 1 ? 'was' : 'were'} not measured: ${stopped} could not be applied, so the migrations after it were not reached`,
      });
    }
  } finally {
    await client?.end().catch(() => {});
    ctx.server.retireDatabase(db.name);
    await checkpoint.close();
  }
  return outcome;
}

/** production-rows entries that name no table of the migrated schema: most likely a typo, and no projection uses them. */
async function unknownProductionTables(client: pg.Client, config: Config): Promise<Finding[]> {
  const tables = [...(await userTables(client)).values()];
  const unknown = [...config.productionRows.keys()].filter(
    (name) => !tables.some((t) => productionRowsOf(new Map([[name, 1]]), t.display) !== undefined),
  );
  return unknown.map((name) => ({
    stage: 'performance',
    severity: 'notice',
    rule: 'unknown-production-table',
    message: `production-rows names ${name}, but no table of that name exists after the migrations; nothing is projected for it`,
  }));
}

/** With critical tables, only the migrations that touch one of them are measured. */
function covers(config: Config, up: ParsedSource): boolean {
  if (!config.criticalTables) return true;
  const critical = new Set(config.criticalTables.map((t) => tableKey(t.toLowerCase())));
  return [...touchedTables(up.statements)].some((t) => critical.has(tableKey(t.toLowerCase())));
}

interface MeasureResult {
  findings: Finding[];
  statements: StatementMeasure[];
  /** The migration could not be applied: the walk stops here. */
  stop: boolean;
  note: string | undefined;
  /** It touches existing tables, and the fill left every one of them empty. */
  emptyFill?: boolean;
}

/** Filling, the rolled-back run at fewer rows, the timed run, and what to make of it. */
async function measureMigration(
  ctx: StageContext,
  client: pg.Client,
  prepared: PreparedMigration,
  up: ParsedSource,
  queries: readonly AppQuery[] | undefined,
  restore: PreSeedRestore,
  notice: (n: SeedNotice) => void,
): Promise<MeasureResult> {
  const { config } = ctx;
  // A dropped index names no table, but the plans of its table change: that table is filled too.
  const existing = await resolveTables(client, [...touchedTables(up.statements), ...(await tablesOfIndexes(client, droppedIndexes(up)))]);
  const names = existing.map((t) => `${t.schema}.${t.name}`);
  const mode = transactionModeFor(up);
  const rollbackable = mode === 'per-migration' && !up.statements.some((s) => s.nonTransactional);
  const smallRows = Math.floor(config.perfRows / 4);
  const joins = joinPairs(up.statements);

  const phases = new PhaseClock();
  // Rows filled of rows asked, as the fills count and fill each table, for the live line.
  const fillMessage = `${prepared.migration.version}: filling ${existing.map((t) => t.display).join(', ')} to ${config.perfRows.toLocaleString('en-US')} rows, then timing it`;
  const fillRows = new Map<string, number>();
  const touched = new Set(existing.map((t) => t.display));
  const onRows = (table: string, n: number): void => {
    if (!touched.has(table)) return;
    fillRows.set(table, Math.min(n, config.perfRows));
    const filled = [...fillRows.values()].reduce((a, b) => a + b, 0);
    ctx.progress({ kind: 'working', message: fillMessage, rows: { filled, asked: touched.size * config.perfRows } });
  };
  if (existing.length > 0) ctx.progress({ kind: 'working', message: fillMessage });
  let small: MigrationMeasurement['small'];
  let filled = names;
  if (existing.length > 0 && rollbackable && smallRows >= MIN_SMALL_ROWS) {
    const smallSeed = await phases.time('fill', () => seedTables(client, { rows: smallRows, tables: names, analyze: true, joins, onRows, bookkeeping: ctx.bookkeeping, stats: config.productionStats }));
    filled = [...new Set([...names, ...smallSeed.seeded.map((s) => s.table)])];
    const rows = await countRows(client, existing);
    if ([...rows.values()].some((n) => n < config.perfRows)) {
      const run = await phases.time('first run', () => rolledBackRun(client, up));
      await applySessionLimits(client, ctx);
      if (run.ok) {
        small = { durations: run.durations, rows };
        if (up.statements.some((s) => DML.has(s.kind))) await vacuumTables(client, existing);
      } else if (VALUE_FAILURE.test(run.failure?.code ?? '')) {
        // The rows at full size hold these ones: the values that fail it here fail it there too. Not worth
        // filling the rest and waiting for the same failure.
        const fill = fillShortfall(prepared, existing, rows, smallRows, smallSeed);
        for (const n of smallSeed.notices) if (!fill.short.has(n.table)) notice(n);
        const failed = await phases.time('restore', () => failedAtVolume(ctx, prepared, up, run.failure!, describeVolume(existing, rows), restore, smallRows));
        return { ...failed, findings: [...fill.findings, ...failed.findings], emptyFill: fill.empty, note: `${failed.note}; ${phases.summary()}` };
      }
    }
  }
  let seed: SeedOutcome | undefined;
  if (existing.length > 0) {
    seed = await phases.time('fill', () => seedTables(client, { rows: config.perfRows, tables: filled, analyze: true, joins, onRows, bookkeeping: ctx.bookkeeping, stats: config.productionStats }));
  }
  const rows = await countRows(client, existing);
  // Whole-table work is projected by size: the seeded tables' against production's.
  const bytes = config.productionStats ? await relationSizes(client, existing) : undefined;
  const fill = fillShortfall(prepared, existing, rows, config.perfRows, seed);
  for (const n of seed?.notices ?? []) if (!fill.short.has(n.table)) notice(n);
  const withFill = (r: MeasureResult): MeasureResult => ({ ...r, findings: [...fill.findings, ...r.findings], ...(existing.length > 0 ? { emptyFill: fill.empty } : {}) });
  const tables = await userTables(client);
  const roots = await withDescendants(client, existing.map((t) => t.oid));

  const notNullColumns = new Map<number, Array<{ table: string; column: string }>>();
  for (const h of findHazards(up)) {
    if (h.evidence !== 'not-null-scan' || h.column === undefined) continue;
    const list = notNullColumns.get(h.index) ?? [];
    list.push({ table: h.table, column: h.column });
    notNullColumns.set(h.index, list);
  }
  // Near the threshold one run decides nothing: time it again (rolled back) and keep the steadiest figures.
  const repeats: number[][] = [];
  if (small && rollbackable && nearThreshold(small, rows, config.perfThresholdMs)) {
    for (let i = 0; i < EXTRA_RUNS_NEAR_THRESHOLD; i++) {
      const again = await phases.time('runs again', () => rolledBackRun(client, up));
      await applySessionLimits(client, ctx);
      if (!again.ok) break;
      repeats.push(again.durations);
      if (up.statements.some((s) => DML.has(s.kind))) await vacuumTables(client, existing);
    }
  }
  const populated = existing.filter((t) => (rows.get(t.oid) ?? 0) > 0);
  const plans = await phases.time('plans', () => PlanWatch.before(client, populated, queries));
  const writes = await phases.time('write cost', () => WriteCost.before(client, up, populated, rows));
  const observer = new StatementProbe([...roots.keys()], mode, notNullColumns);
  const r = await phases.time('timed run', () => applyStatements(client, up, { mode, observer }));
  const volume = describeVolume(existing, rows);
  if (r.ok) {
    const major = Math.floor(ctx.server.versionNum / 10000);
    const assessed = assessMigration(config, { prepared, parsed: up, observed: observer.observed, tables, existing, roots, rows, ...(bytes ? { bytes } : {}), small, major, repeats });
    const regressions = await phases.time('plans', () =>
      plans.after(client, { version: prepared.migration.version, up, threshold: config.planCostThreshold, populated: new Set(populated.map((t) => t.name)) }),
    );
    const writeCost = await phases.time('write cost', () => writes.after(client, { version: prepared.migration.version, up, threshold: config.writeCostThreshold }));
    return withFill({ ...assessed, findings: [...assessed.findings, ...regressions, ...writeCost], stop: false, note: `${volume}; ${phases.summary()}` });
  }
  const failed = await phases.time('restore', () => failedAtVolume(ctx, prepared, up, r.failure!, volume, restore));
  return withFill({ ...failed, note: `${failed.note}; ${phases.summary()}` });
}

/**
 * Tables the migration touches that hold fewer rows than asked after the fill: a warning each,
 * naming the count and why (a smallint key, a unique column over a small domain, a CHECK, a fill
 * that failed or timed out). `empty`: every one of them holds no row at all.
 */
function fillShortfall(
  prepared: PreparedMigration,
  existing: ExistingTable[],
  rows: Map<number, number>,
  target: number,
  seed: SeedOutcome | undefined,
): { findings: Finding[]; short: Set<string>; empty: boolean } {
  const m = prepared.migration;
  const findings: Finding[] = [];
  const short = new Set<string>();
  const fmt = (n: number): string => n.toLocaleString('en-US');
  for (const t of existing) {
    const n = rows.get(t.oid) ?? 0;
    if (n >= target) continue;
    short.add(t.display);
    const why = seed?.tables.find((f) => f.table === t.display)?.reason ?? seed?.notices.find((x) => x.table === t.display)?.message;
    findings.push({
      stage: 'performance',
      severity: 'warning',
      rule: 'measured-on-fewer-rows',
      migration: m.version,
      ...(prepared.up.ok ? { file: prepared.up.parsed.source.file } : {}),
      message: `${m.version} was measured on ${fmt(n)} of ${fmt(target)} rows in ${t.display}${why ? `: ${why}` : ''}`,
    });
  }
  const empty = existing.length > 0 && existing.every((t) => (rows.get(t.oid) ?? 0) === 0);
  return { findings, short, empty };
}

/** Rolled-back runs added to the timed one when the first estimate is near the threshold. */
const EXTRA_RUNS_NEAR_THRESHOLD = 2;

/** The small run, scaled to the full rows, lands within a factor of 3 of the threshold either way. */
function nearThreshold(small: NonNullable<MigrationMeasurement['small']>, rows: Map<number, number>, thresholdMs: number): boolean {
  const full = Math.max(0, ...rows.values());
  const few = Math.max(1, ...small.rows.values());
  const estimate = small.durations.reduce((t, d) => t + d, 0) * (full / few);
  return estimate >= thresholdMs / 3 && estimate <= thresholdMs * 3;
}

/** Wall time per phase of one migration's measurement, for the progress line. */
class PhaseClock {
  private readonly spent = new Map<string, number>();

  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.spent.set(phase, (this.spent.get(phase) ?? 0) + performance.now() - t0);
    }
  }

  summary(): string {
    return [...this.spent].map(([phase, ms]) => `${phase} ${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`}`).join(', ');
  }
}

/** Runs the migration in a transaction that is rolled back; the time of each statement, or undefined when it fails. */
async function rolledBackRun(client: pg.Client, up: ParsedSource): Promise<ApplyResult> {
  await client.query('BEGIN');
  try {
    return await applyStatements(client, up, { mode: 'caller' });
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

function describeVolume(existing: ExistingTable[], rows: Map<number, number>): string {
  if (existing.length === 0) return 'no existing table touched';
  const parts = existing.map((t) => `${t.display} ${(rows.get(t.oid) ?? 0).toLocaleString('en-US')}`);
  return `rows: ${parts.join(', ')}`;
}

/** Puts the stage on the state before the generated rows with this migration applied, or says why it cannot. */
type PreSeedRestore = () => Promise<{ ok: boolean; failure?: StatementFailure }>;

/**
 * The migration failed on the filled tables. It is applied to the state before the generated
 * rows (a checkpoint where every migration ran as written and nothing was generated, so the rows
 * the migrations inserted are there and no user trigger ever sees the tool's work); failing
 * there too, it does not apply and the stage stops. Passing there, the parse tree tells a
 * failure any row would cause (an error, or the syntax stage's when it ran) from one that
 * depends on the generated values (a warning); a statement timeout at volume is an error. Either
 * way the stage goes on from that state, so every later migration is measured.
 */
async function failedAtVolume(
  ctx: StageContext,
  prepared: PreparedMigration,
  up: ParsedSource,
  failure: StatementFailure,
  volume: string,
  restore: PreSeedRestore,
  filledTo = ctx.config.perfRows,
): Promise<MeasureResult> {
  const m = prepared.migration;
  const rows = filledTo.toLocaleString('en-US');
  const findings: Finding[] = [];
  const asPerformance = (f: Finding): Finding => ({ ...f, stage: 'performance' });
  const walkRan = ctx.config.stages.some((s) => s !== 'performance');
  const clean = await restore();
  if (!clean.ok) {
    const real = clean.failure ?? failure;
    if (walkRan) {
      findings.push({
        stage: 'performance',
        severity: 'notice',
        rule: 'not-measured',
        migration: m.version,
        file: up.source.file,
        message: `${m.version} was not timed: it fails to apply (${real.message})`,
      });
    } else {
      findings.push(asPerformance(failureFinding(prepared, up, real, 'apply-failed', 'error', real.message)));
    }
    return { findings, statements: [], stop: true, note: 'fails to apply' };
  }
  const why = explainFailure(up, failure);
  if (failure.code === '57014') {
    findings.push(
      asPerformance(
        failureFinding(
          prepared,
          up,
          failure,
          'statement-timeout',
          'error',
          `${failure.message}: this statement ran past statement-timeout (${ctx.config.statementTimeoutMs.toLocaleString('en-US')} ms) with ${rows} rows per table; the migration was not timed`,
          'make the step cheaper (CREATE INDEX CONCURRENTLY, batched backfills) or raise statement-timeout if production allows it',
        ),
      ),
    );
  } else if (why.anyRow) {
    // The walk reports it at its own rows when it ran; said once.
    findings.push(
      walkRan
        ? { stage: 'performance', severity: 'notice', rule: 'not-measured', migration: m.version, file: up.source.file, message: `${m.version} was not timed: ${why.rows}` }
        : asPerformance(failureFinding(prepared, up, failure, 'fails-with-rows', 'error', `${failure.message} — ${why.rows}; the migration was not timed`, why.hint)),
    );
  } else {
    findings.push(
      asPerformance(
        failureFinding(
          prepared,
          up,
          failure,
          'data-dependent',
          'warning',
          `${failure.message} — fails on the ${rows} generated rows per table: ${why.rows}. The migration was not timed`,
          why.hint,
        ),
      ),
    );
  }
  // Not timed, but what the parse tree shows still holds.
  const major = Math.floor(ctx.server.versionNum / 10000);
  const unmeasured = assessMigration(ctx.config, { prepared, parsed: up, observed: [], tables: new Map(), existing: [], roots: new Map(), rows: new Map(), small: undefined, major });
  findings.push(...unmeasured.findings);
  return { findings, statements: [], stop: false, note: `${volume}; not timed` };
}
