import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { StageName } from '../config.js';
import { setClientDeadlines, type ApplyResult, type StatementFailure } from '../db/execute.js';
import type { ScratchDatabase } from '../db/scratch.js';
import { resetSequences, seedTables, suppressUserCode } from '../db/seed.js';
import { resetTablesFrom } from '../db/table-reset.js';
import type { SequenceScope } from '../db/seed/sequences.js';
import type { Finding, StageStatus } from '../report/model.js';
import type { ParsedSource } from '../sql/parse.js';
import { joinPairs } from '../sql/joins.js';
import { statementScope } from '../sql/touched.js';
import { emptyOutcome, type PreparedMigration, type StageContext, type StageOutcome } from './context.js';
import { PreSeedCheckpoint } from './checkpoint.js';
import { commandStepper, sqlStepper, type Stepper } from './steps.js';

/** Where the walk stands with one migration under test; handed to every observer. */
export interface WalkStep {
  prepared: PreparedMigration;
  up: ParsedSource;
  /** Parsed down file, when there is one and it parses. */
  down: ParsedSource | undefined;
  client: pg.Client;
  db: ScratchDatabase;
  /**
   * The up failed on the generated rows and went in on the state before them: the tables it works
   * on were given back the rows the migrations wrote, or the walk's database was replaced by that
   * state (`client` and `db` are the new ones); either way data before and after differ.
   */
  preSeed: boolean;
}

/**
 * A stage that rides along the walk: it looks at the database around each step of the
 * staircase (before up, after up, after down, after the second up) and keeps its own findings.
 */
export interface WalkObserver {
  readonly outcome: StageOutcome;
  /** Wants each migration's down applied, then its up again. */
  readonly wantsRoundTrip: boolean;
  /** This migration needs every table filled, not only the ones it names (its own queries may read any). */
  needsEveryTable?(prepared: PreparedMigration): boolean;
  /** Its beforeUp may write rows with explicit keys (a user's seed file): sequences are set past them before the up. */
  writesBeforeUp?(prepared: PreparedMigration): boolean;
  beforeUp?(step: WalkStep): Promise<void>;
  afterUp?(step: WalkStep): Promise<void>;
  /** The down ran; `result.ok` says whether it succeeded. */
  afterDown?(step: WalkStep, result: ApplyResult): Promise<void>;
  afterReup?(step: WalkStep, result: ApplyResult): Promise<void>;
  /** The walk is about to replace this database by a checkpoint: close every connection to it. */
  beforeRestore?(db: ScratchDatabase): Promise<void>;
  /**
   * The walk is about to give some tables of this database the rows the migrations wrote, in
   * place: what was read of its data is stale. Without it, beforeRestore is called instead.
   */
  beforeRowsReset?(): Promise<void>;
  /** Every migration under test is applied (or the walk stopped): the database is at its newest. */
  afterAll?(client: pg.Client, db: ScratchDatabase): Promise<void>;
}

export interface WalkResult {
  syntax: StageOutcome;
  /** Time spent in the walk minus the observers' own time: the syntax stage's duration. */
  syntaxMs: number;
  observerMs: Map<WalkObserver, number>;
}

/**
 * One pass over the migrations in order on one scratch database: baseline migrations are
 * applied, each migration under test meets populated tables, and observers see every step.
 */
export async function walkMigrations(
  ctx: StageContext,
  observers: WalkObserver[],
  roundTripStage: StageName,
): Promise<WalkResult> {
  const syntax = emptyOutcome('syntax');
  const { findings, perMigration } = syntax;
  const observerMs = new Map<WalkObserver, number>(observers.map((o) => [o, 0]));
  const walkStart = performance.now();
  const timed = async (o: WalkObserver, fn: () => Promise<void> | undefined) => {
    const t0 = performance.now();
    try {
      await fn();
    } finally {
      observerMs.set(o, observerMs.get(o)! + performance.now() - t0);
    }
  };
  const roundTrip = observers.some((o) => o.wantsRoundTrip);
  const template = ctx.baselineTemplate;
  const connect = async (target: ScratchDatabase) => {
    const c = await ctx.server.connect(target);
    await applySessionLimits(c, ctx);
    // The fills' and sequence resets' catalog queries take arrays: a generic plan settled on while
    // the catalog was small stays when it has grown (at 1,000 tables two to four times as much).
    await c.query('SET plan_cache_mode = force_custom_plan');
    return c;
  };
  const stepperFor = (c: pg.Client, target: ScratchDatabase): Stepper => (ctx.config.upCommand ? commandStepper(ctx, target) : sqlStepper(c, ctx.server.runRole));
  let db = await ctx.server.createDatabase(template?.name);
  let client: pg.Client;
  try {
    client = await connect(db);
  } catch (e) {
    await ctx.server.dropDatabase(db.name).catch(() => {});
    throw e;
  }
  let stepper = stepperFor(client, db);
  /**
   * A second session on the walk's database for the tool's own writes (fills, sequence and table
   * resets), with user code off for its whole life: every switch of session_replication_role
   * empties a session's plan cache, and the walk's session keeps the snapshot statements planned
   * from one migration to the next. The migrations' session is left as production has it: no
   * currval() or lastval() of the tool's rows. Opened when first needed.
   */
  let writer: pg.Client | undefined;
  const writerSession = async (): Promise<pg.Client> => {
    if (!writer) {
      const c = await connect(db);
      await suppressUserCode(c);
      writer = c;
    }
    return writer;
  };
  const closeWriter = async () => {
    await writer?.end().catch(() => {});
    writer = undefined;
  };
  /**
   * Tables whose sequences may have fallen behind their column's values since they were last set
   * past them (undefined: any table). Only these are looked at before the next migration, so the
   * cost follows what the last one wrote, not the size of the schema.
   */
  let unsettled: SequenceScope | undefined;
  const checkpoint = new PreSeedCheckpoint(ctx, connect, stepperFor);
  const seedNoticeSeen = new Set<string>();
  // Down and second-up failures belong to the stage that asked for the round trip, and count in its status.
  const roundTripOwner = observers.find((o) => o.wantsRoundTrip && o.outcome.stage === roundTripStage);
  const roundTripOutcome = roundTripOwner?.outcome ?? syntax;
  // The down and the second up are the round-trip stage's work, not the syntax stage's.
  const roundTripWork = async <T>(work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      if (roundTripOwner) observerMs.set(roundTripOwner, observerMs.get(roundTripOwner)! + performance.now() - t0);
    }
  };
  const roundTripFinding = (f: Finding): Finding => ({ ...f, stage: roundTripStage });
  /**
   * Replaces the walk's database by the pre-seed checkpoint with every migration up to `index`
   * applied: the state after that migration's up, without the generated rows. False when the
   * checkpoint cannot give it (a migration fails there); the reason is then in `restoreFailure`.
   */
  let restoreFailure: string | undefined;
  const restore = async (index: number): Promise<boolean> => {
    const r = await checkpoint.applyThrough(index);
    if (!r?.ok) {
      restoreFailure = `the state before the generated rows cannot be rebuilt (${checkpoint.broken ?? ctx.migrations[index]!.migration.version} fails on it)`;
      return false;
    }
    for (const o of observers) if (o.beforeRestore) await timed(o, () => o.beforeRestore!(db));
    const fresh = await checkpoint.copy();
    await closeWriter();
    await client.end().catch(() => {});
    // Dropped in the background: DROP DATABASE waits for a checkpoint of the whole server.
    ctx.server.retireDatabase(db.name);
    db = fresh;
    client = await connect(db);
    stepper = stepperFor(client, db);
    unsettled = undefined;
    return true;
  };
  /**
   * The up failed on the generated rows and left the database as it was: the tables it works on,
   * and those referencing them, are given the rows the migrations wrote (read from the checkpoint
   * one migration behind) and the up runs again, here. Much cheaper than cloning the checkpoint;
   * undefined, and the clone follows, when its tables cannot be told from the parse tree, their
   * rows cannot be put back, or it fails again (a table it reaches another way).
   */
  const retryOnMigrationRows = async (index: number, prepared: PreparedMigration, failed: StatementFailure | undefined): Promise<ApplyResult | undefined> => {
    if (ctx.config.upCommand || !failed || failed.partiallyApplied) return undefined;
    const tables = seedScope(prepared);
    if (!tables) return undefined;
    const source = await checkpoint.clientAt(index - 1);
    if (!source) return undefined;
    for (const o of observers) {
      if (o.beforeRowsReset) await timed(o, () => o.beforeRowsReset!());
      else if (o.beforeRestore) await timed(o, () => o.beforeRestore!(db));
    }
    if (!(await resetTablesFrom(await writerSession(), source, tables)).ok) return undefined;
    const again = await stepper.applyPlain(prepared);
    return again.ok ? again : undefined;
  };
  try {
    let stopped: { version: string; why: string } | undefined;
    const notReached: string[] = [];
    for (const [index, prepared] of ctx.migrations.entries()) {
      const m = prepared.migration;
      // Already in the cloned template.
      if (template && index < template.count) continue;
      if (stopped) {
        perMigration.set(m.version, 'skip');
        notReached.push(m.version);
        continue;
      }
      const t0 = performance.now();
      // Parse errors were reported before anything ran; a broken up stops the walk, a broken down does not.
      if (!prepared.up.ok) {
        perMigration.set(m.version, 'fail');
        stopped = { version: m.version, why: 'its up does not parse' };
        ctx.progress({ kind: 'migration', stage: 'syntax', version: m.version, name: m.name, status: 'fail', durationMs: 0 });
        continue;
      }
      const up = prepared.up.parsed;
      if (!m.underTest) {
        unsettled = undefined;
        const failure = await stepper.baseline(prepared);
        if (failure) {
          findings.push(failure);
          perMigration.set(m.version, 'fail');
          stopped = { version: m.version, why: 'it fails to apply' };
        }
        ctx.progress({ kind: 'migration', stage: 'syntax', version: m.version, name: m.name, status: failure ? 'fail' : 'baseline', durationMs: performance.now() - t0 });
        continue;
      }
      // An earlier step may have left a sequence behind its column (reported there): the tool's own inserts start past it.
      await resetSequences(await writerSession(), unsettled);
      const scope = observers.some((o) => o.needsEveryTable?.(prepared)) ? undefined : seedScope(prepared);
      const seed = await seedTables(await writerSession(), { rows: ctx.config.seedRows, joins: seedJoins(prepared), bookkeeping: ctx.bookkeeping, stats: ctx.config.productionStats, ...(scope ? { tables: scope, missingOk: true } : {}) });
      if (seed.userCodeFires !== undefined && !seedNoticeSeen.has('\u0000user code')) {
        seedNoticeSeen.add('\u0000user code');
        findings.push({ stage: 'syntax', severity: 'notice', rule: 'fill-fires-triggers', migration: m.version, message: `test rows were generated with the application's triggers and rules on: ${seed.userCodeFires}` });
      }
      for (const n of seed.notices) {
        const key = `${n.table}\u0000${n.message}`;
        if (seedNoticeSeen.has(key)) continue;
        seedNoticeSeen.add(key);
        findings.push({
          stage: 'syntax',
          severity: 'notice',
          rule: 'table-not-filled',
          migration: m.version,
          message: `${n.message}; ${m.version} met it without test rows`,
        });
      }
      const down = prepared.down?.ok ? prepared.down.parsed : undefined;
      const step: WalkStep = { prepared, up, down, client, db, preSeed: false };
      for (const o of observers) if (o.beforeUp) await timed(o, () => o.beforeUp!(step));
      // Fixtures may have written explicit keys: sequences start past them, so what is behind after the up is the up's doing.
      if (observers.some((o) => o.writesBeforeUp?.(prepared))) await resetSequences(await writerSession());
      // From here on only this migration writes, until the next one starts (a restore resets this).
      unsettled = sequenceScope(prepared);
      let inPlace = false;
      let applied = await stepper.upUnderTest(prepared, findings, async (failed) => {
        const here = await retryOnMigrationRows(index, prepared, failed);
        inPlace = here !== undefined;
        return here ?? checkpoint.applyThrough(index);
      });
      if (applied === 'applied-pre-seed' && inPlace) {
        step.preSeed = true;
      } else if (applied === 'applied-pre-seed') {
        // The checkpoint holds this migration now: the walk goes on from it.
        if (await restore(index)) {
          Object.assign(step, { client, db, preSeed: true });
        } else {
          applied = 'failed';
        }
      }
      const verified = applied !== 'failed' && (await stepper.verify(prepared, findings));
      const downBroken = prepared.down !== undefined && !prepared.down.ok;
      const mine = findings.filter((f) => f.migration === m.version && f.stage === 'syntax');
      const status: StageStatus =
        applied === 'failed' || !verified || downBroken || mine.some((f) => f.severity === 'error') ? 'fail' : applied === 'applied-pre-seed' ? 'warn' : 'pass';
      perMigration.set(m.version, status);
      ctx.progress({
        kind: 'migration',
        stage: 'syntax',
        version: m.version,
        name: m.name,
        status,
        durationMs: performance.now() - t0,
        ...(seed.seeded.length > 0 ? { note: `on ${seed.seeded.length} populated table${seed.seeded.length === 1 ? '' : 's'}` } : {}),
      });
      if (applied === 'failed') {
        stopped = { version: m.version, why: restoreFailure ?? 'its up fails on the state before the generated rows too' };
        continue;
      }
      for (const o of observers) if (o.afterUp) await timed(o, () => o.afterUp!(step));
      if (!roundTrip || !stepper.hasDown(prepared)) continue;

      const downStep = await roundTripWork(() => stepper.down(prepared));
      for (const o of observers) if (o.afterDown) await timed(o, () => o.afterDown!(step, downStep.result));
      if (!downStep.result.ok) {
        if (downStep.finding) roundTripOutcome.findings.push(roundTripFinding(downStep.finding));
        // Part of the down was committed: the database is neither before nor after this migration.
        if (downStep.partial && !(await roundTripWork(() => restore(index)))) stopped = { version: m.version, why: `its down fails part way and ${restoreFailure}` };
        continue;
      }
      const reup = await roundTripWork(() => stepper.reup(prepared));
      for (const o of observers) if (o.afterReup) await timed(o, () => o.afterReup!(step, reup.result));
      if (!reup.result.ok) {
        if (reup.finding) roundTripOutcome.findings.push(roundTripFinding(reup.finding));
        // The database is after the down: back to after the first up, so every later migration is tested.
        if (!(await roundTripWork(() => restore(index)))) stopped = { version: m.version, why: `its second up fails and ${restoreFailure}` };
      }
    }
    if (stopped && notReached.length > 0) {
      const message = `not tested because the walk stopped at ${stopped.version} (${stopped.why}): ${notReached.join(', ')}`;
      findings.push({ stage: 'syntax', severity: 'notice', rule: 'not-reached', message });
      for (const o of observers) {
        const untested = notReached.filter((v) => o.outcome.perMigration.get(v) === undefined);
        if (untested.length > 0 && !o.outcome.findings.some((f) => f.rule === 'not-reached')) {
          o.outcome.findings.push({
            stage: o.outcome.stage,
            severity: 'notice',
            rule: 'not-reached',
            message: `${o.outcome.stage} checks not run because the walk stopped at ${stopped.version} (${stopped.why}): ${untested.join(', ')}`,
          });
        }
      }
    }
    for (const o of observers) if (o.afterAll) await timed(o, () => o.afterAll!(client, db));
  } finally {
    await closeWriter();
    await client.end().catch(() => {});
    ctx.server.retireDatabase(db.name);
    await checkpoint.close();
  }
  const total = performance.now() - walkStart;
  const spent = [...observerMs.values()].reduce((a, b) => a + b, 0);
  return { syntax, syntaxMs: total - spent, observerMs };
}

/**
 * The tables a migration works on, read (its backfills read rows too) or changed, by its up or its
 * down: these are filled before it runs, with their foreign-key parents, so that its cost follows
 * the migration, not the size of the schema. Every table when that cannot be told from the parse
 * tree, and for a migration tool's steps.
 */
function seedScope(prepared: PreparedMigration): string[] | undefined {
  if (prepared.migration.code || !prepared.up.ok) return undefined;
  const statements = [...prepared.up.parsed.statements, ...(prepared.down?.ok ? prepared.down.parsed.statements : [])];
  const scope = statementScope(statements, { reads: true });
  return scope && [...new Set(scope.map((t) => (t.schema === undefined ? t.name : `${t.schema}.${t.name}`)))];
}

/**
 * The tables whose sequences a migration's up and down can leave behind their column's values:
 * the tables they write (explicit keys). Every table when that cannot be told from the parse tree
 * (and for a migration tool's steps), or when they move sequences themselves.
 */
function sequenceScope(prepared: PreparedMigration): SequenceScope | undefined {
  if (prepared.migration.code || !prepared.up.ok) return undefined;
  const statements = [...prepared.up.parsed.statements, ...(prepared.down?.ok ? prepared.down.parsed.statements : [])];
  if (statements.some((s) => s.kind === 'AlterSeqStmt' || /\bsetval\b/i.test(s.sql))) return undefined;
  return statementScope(statements, { reads: false });
}

/** The column equalities of a migration's up and down: the generated rows follow them. */
function seedJoins(prepared: PreparedMigration): ReturnType<typeof joinPairs> {
  if (prepared.migration.code || !prepared.up.ok) return [];
  return joinPairs([...prepared.up.parsed.statements, ...(prepared.down?.ok ? prepared.down.parsed.statements : [])]);
}

/** Timeouts so a hanging migration is stopped and reported instead of hanging the job. */
export async function applySessionLimits(client: pg.ClientBase, ctx: StageContext): Promise<void> {
  await client.query(`SET statement_timeout = ${Math.trunc(ctx.config.statementTimeoutMs)}`);
  await client.query(`SET lock_timeout = ${Math.trunc(ctx.config.lockTimeoutMs)}`);
  setClientDeadlines(client, { statementMs: ctx.config.statementTimeoutMs, lockMs: ctx.config.lockTimeoutMs });
}
