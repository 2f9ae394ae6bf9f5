import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import type { StageName } from '../config.js';
import { applyStatements, type ApplyResult } from '../db/execute.js';
import type { ScratchDatabase } from '../db/scratch.js';
import { seedTables } from '../db/seed.js';
import type { Finding, StageStatus } from '../report/model.js';
import type { ParsedSource } from '../sql/parse.js';
import { emptyOutcome, type PreparedMigration, type StageContext, type StageOutcome } from './context.js';
import { applyUnderTest, failureFinding } from './syntax.js';

/** Where the walk stands with one migration under test; handed to every observer. */
export interface WalkStep {
  prepared: PreparedMigration;
  up: ParsedSource;
  /** Parsed down file, when there is one and it parses. */
  down: ParsedSource | undefined;
  client: pg.Client;
  db: ScratchDatabase;
}

/**
 * A stage that rides along the walk: it looks at the database around each step of the
 * staircase (before up, after up, after down, after the second up) and keeps its own findings.
 */
export interface WalkObserver {
  readonly outcome: StageOutcome;
  /** Wants each migration's down applied, then its up again. */
  readonly wantsRoundTrip: boolean;
  beforeUp?(step: WalkStep): Promise<void>;
  afterUp?(step: WalkStep): Promise<void>;
  /** The down ran; `result.ok` says whether it succeeded. */
  afterDown?(step: WalkStep, result: ApplyResult): Promise<void>;
  afterReup?(step: WalkStep, result: ApplyResult): Promise<void>;
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
  const db = await ctx.server.createDatabase();
  const client = await ctx.server.connect(db);
  await applySessionLimits(client, ctx);
  const seedNoticeSeen = new Set<string>();
  // Down and second-up failures belong to the stage that asked for the round trip, and count in its status.
  const roundTripOwner = observers.find((o) => o.wantsRoundTrip && o.outcome.stage === roundTripStage);
  const roundTripOutcome = roundTripOwner?.outcome ?? syntax;
  // The down and the second up are the round-trip stage's work, not the syntax stage's.
  const roundTripApply = async (parsed: ParsedSource): Promise<ApplyResult> => {
    const t0 = performance.now();
    try {
      return await applyStatements(client, parsed);
    } finally {
      if (roundTripOwner) observerMs.set(roundTripOwner, observerMs.get(roundTripOwner)! + performance.now() - t0);
    }
  };
  const roundTripFinding = (f: Finding): Finding => ({ ...f, stage: roundTripStage });
  try {
    let stopped: string | undefined;
    const notReached: string[] = [];
    for (const prepared of ctx.migrations) {
      const m = prepared.migration;
      if (stopped) {
        perMigration.set(m.version, 'skip');
        notReached.push(m.version);
        continue;
      }
      const t0 = performance.now();
      // Parse errors were reported before anything ran; a broken up stops the walk, a broken down does not.
      if (!prepared.up.ok) {
        perMigration.set(m.version, 'fail');
        stopped = m.version;
        ctx.progress({ kind: 'migration', stage: 'syntax', version: m.version, name: m.name, status: 'fail', durationMs: 0 });
        continue;
      }
      const up = prepared.up.parsed;
      if (!m.underTest) {
        const r = await applyStatements(client, up);
        if (!r.ok) {
          findings.push(failureFinding(prepared, up, r.failure!, 'baseline-failed', 'error', `baseline migration fails: ${r.failure!.message}`));
          perMigration.set(m.version, 'fail');
          stopped = m.version;
        }
        ctx.progress({ kind: 'migration', stage: 'syntax', version: m.version, name: m.name, status: r.ok ? 'baseline' : 'fail', durationMs: performance.now() - t0 });
        continue;
      }
      const seed = await seedTables(client, { rows: ctx.config.seedRows });
      for (const n of seed.notices) {
        const key = `${n.table}\u0000${n.message}`;
        if (seedNoticeSeen.has(key)) continue;
        seedNoticeSeen.add(key);
        findings.push({
          stage: 'syntax',
          severity: 'notice',
          rule: 'table-not-filled',
          migration: m.version,
          message: `table ${n.table} could not be filled with test rows before ${m.version}, so ${m.version} met it empty: ${n.message}`,
        });
      }
      const down = prepared.down?.ok ? prepared.down.parsed : undefined;
      const step: WalkStep = { prepared, up, down, client, db };
      for (const o of observers) if (o.beforeUp) await timed(o, () => o.beforeUp!(step));
      const applied = await applyUnderTest(client, prepared, up, findings);
      const downBroken = prepared.down !== undefined && !prepared.down.ok;
      const status: StageStatus = applied === 'failed' || downBroken ? 'fail' : applied === 'applied-empty' ? 'warn' : 'pass';
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
        stopped = m.version;
        continue;
      }
      for (const o of observers) if (o.afterUp) await timed(o, () => o.afterUp!(step));
      if (!roundTrip || !down) continue;

      const downResult = await roundTripApply(down);
      for (const o of observers) if (o.afterDown) await timed(o, () => o.afterDown!(step, downResult));
      if (!downResult.ok) {
        const f = downResult.failure!;
        roundTripOutcome.findings.push(roundTripFinding(failureFinding(prepared, down, f, 'down-failed', 'error', `the down of ${m.version} fails: ${f.message}`)));
        if (f.partiallyApplied) {
          // Part of the down was committed: the database is neither before nor after this migration.
          stopped = m.version;
        }
        continue;
      }
      const reup = await roundTripApply(up);
      for (const o of observers) if (o.afterReup) await timed(o, () => o.afterReup!(step, reup));
      if (!reup.ok) {
        const f = reup.failure!;
        roundTripOutcome.findings.push(
          roundTripFinding(
            failureFinding(prepared, up, f, 'reapply-failed', 'error', `the up of ${m.version} fails when applied again after its down: ${f.message}`, reapplyHint(f.code)),
          ),
        );
        stopped = m.version;
      }
    }
    if (stopped && notReached.length > 0) {
      findings.push({ stage: 'syntax', severity: 'notice', rule: 'not-reached', message: `not reached because ${stopped} failed: ${notReached.join(', ')}` });
    }
    for (const o of observers) if (o.afterAll) await timed(o, () => o.afterAll!(client, db));
  } finally {
    await client.end().catch(() => {});
    await ctx.server.dropDatabase(db.name).catch(() => {});
  }
  const total = performance.now() - walkStart;
  const spent = [...observerMs.values()].reduce((a, b) => a + b, 0);
  return { syntax, syntaxMs: total - spent, observerMs };
}

const ALREADY_EXISTS = new Set(['42P07', '42710', '42701', '42723', '42P06']);
const DOES_NOT_EXIST = new Set(['42704', '42P01', '42703', '42883', '3F000']);

/** Why a second up fails, from what the server said. */
function reapplyHint(code: string | undefined): string {
  if (ALREADY_EXISTS.has(code ?? '')) return 'the down leaves behind something that the up creates';
  if (DOES_NOT_EXIST.has(code ?? '')) return 'the down does not restore something that the up relies on';
  return 'the down does not give back the schema the up was written for';
}

/** Timeouts so a hanging migration is stopped and reported instead of hanging the job. */
export async function applySessionLimits(client: pg.ClientBase, ctx: StageContext): Promise<void> {
  await client.query(`SET statement_timeout = ${Math.trunc(ctx.config.statementTimeoutMs)}`);
  await client.query(`SET lock_timeout = ${Math.trunc(ctx.config.lockTimeoutMs)}`);
}
