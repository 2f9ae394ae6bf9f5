/**
 * Stage 3, data preservation. Rides along the walk:
 *
 * - before a migration's up: the user's seed file for it, then a fingerprint of every table (A);
 * - after the up: a fingerprint (B), then the user's assert file;
 * - after the down: a fingerprint (C); A, B and C compared (see data-roundtrip.ts);
 * - at the end, with every migration under test applied: the user's data test command.
 */
import { InputError } from '../errors.js';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { droppedData, FingerprintStore, type Fingerprint, type TableFilter } from '../db/fingerprint.js';
import type { ScratchDatabase } from '../db/scratch.js';
import type { StageStatus } from '../report/model.js';
import { sameTable, statementScope, tableTouches, touchName } from '../sql/touched.js';
import { emptyOutcome, type PreparedMigration, type StageContext } from './context.js';
import { runDataTestCommand } from './data-command.js';
import { loadFixtures, runAsserts, runSeed } from './data-fixtures.js';
import { roundTripFindings } from './data-roundtrip.js';
import { applySessionLimits, type WalkObserver, type WalkStep } from './walk.js';

interface MigrationState {
  prepared: PreparedMigration;
  started: number;
  roundTrip: boolean;
  seedFailed: boolean;
  /** The up applied: the checks that follow it ran. */
  applied: boolean;
  /** The up went in on the state before the test rows: nothing of it was checked. */
  checksSkipped?: boolean;
  /** The tables the round trip compares: those the up and down can change. */
  only: TableFilter | undefined;
  a?: Fingerprint;
  b?: Fingerprint;
  /** Waiting for the down (or for the walk to move on without one) before its findings are made. */
  pending?: WalkStep;
  settled: boolean;
}

/** Does the migration touch one of the critical tables (or hide what it touches in a DO block or a function)? */
function touchesCritical(prepared: PreparedMigration, critical: readonly string[]): boolean {
  const statements = [prepared.up, prepared.down].flatMap((r) => (r?.ok ? r.parsed.statements : []));
  const { touches, opaque } = tableTouches(statements);
  if (opaque.length > 0) return true;
  return touches.some((t) => t.action !== 'read' && critical.some((c) => sameTable(touchName(t), c)));
}

export function createDataObserver(ctx: StageContext): WalkObserver {
  const { config } = ctx;
  const outcome = emptyOutcome('data');
  const fixtures = loadFixtures(config, ctx.migrations);
  outcome.findings.push(...fixtures.findings);

  const critical = config.criticalTables;
  const roundTripOf = new Map<string, boolean>();
  const notCritical: string[] = [];
  for (const m of ctx.migrations) {
    if (!m.migration.underTest) continue;
    const wanted = critical === undefined || touchesCritical(m, critical);
    roundTripOf.set(m.migration.version, wanted);
    if (!wanted && !fixtures.byVersion.has(m.migration.version)) notCritical.push(m.migration.version);
  }
  if (notCritical.length > 0) {
    outcome.findings.push({
      stage: 'data',
      severity: 'notice',
      rule: 'not-critical',
      message: `data checks skipped for ${notCritical.join(', ')}: they touch none of the critical tables`,
    });
  }

  /** Migrations whose data checks are not settled yet: one or two at a time, whatever the length of the history. */
  const states = new Map<string, MigrationState>();
  /** Versions whose up applied, for the data test command at the end. */
  const appliedVersions = new Set<string>();
  let walkBroken = false;
  let connection: pg.Client | undefined;
  let store: FingerprintStore | undefined;

  /** Fingerprints get a connection of their own: session settings a migration changes must not change text forms. */
  const storeFor = async (db: ScratchDatabase): Promise<FingerprintStore> => {
    if (store) return store;
    connection = await ctx.server.connect(db);
    await applySessionLimits(connection, ctx);
    await connection.query(
      "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'",
    );
    store = new FingerprintStore(connection);
    return store;
  };

  const settle = (state: MigrationState): void => {
    if (state.settled) return;
    state.settled = true;
    const m = state.prepared.migration;
    states.delete(m.version);
    const mine = outcome.findings.filter((f) => f.migration === m.version);
    const status: StageStatus = mine.some((f) => f.severity === 'error')
      ? 'fail'
      : mine.some((f) => f.severity === 'warning')
        ? 'warn'
        : state.applied && !state.checksSkipped && (state.roundTrip || fixtures.byVersion.has(m.version))
          ? 'pass'
          : 'skip';
    outcome.perMigration.set(m.version, status);
    ctx.progress({ kind: 'migration', stage: 'data', version: m.version, name: m.name, status, durationMs: performance.now() - state.started });
  };

  /** The round trip's findings, with C when the down ran and succeeded. */
  const finish = async (state: MigrationState, c: Fingerprint | undefined): Promise<void> => {
    const step = state.pending;
    state.pending = undefined;
    if (step && state.a && state.b && store) {
      const ac = c ? await store.compare(state.a, c) : undefined;
      outcome.findings.push(
        ...roundTripFindings({
          version: state.prepared.migration.version,
          up: step.up,
          down: c ? step.down : undefined,
          a: state.a,
          b: state.b,
          c,
          ac,
        }),
      );
      await store.discard(...[state.a, state.b, c].filter((f): f is Fingerprint => f !== undefined));
    }
    state.a = state.b = undefined;
    settle(state);
  };

  const finishPending = async (): Promise<void> => {
    for (const s of [...states.values()]) if (s.pending) await finish(s, undefined);
  };

  return {
    outcome,
    wantsRoundTrip: [...roundTripOf.values()].some(Boolean),

    // A user's seed and assert files, and their test command, may read any table: all of them hold rows then.
    needsEveryTable: (prepared) => fixtures.byVersion.has(prepared.migration.version) || config.dataTestCommand !== undefined,
    writesBeforeUp: (prepared) => fixtures.byVersion.get(prepared.migration.version)?.seed !== undefined,

    async beforeUp(step) {
      await finishPending();
      const version = step.prepared.migration.version;
      const state: MigrationState = {
        prepared: step.prepared,
        started: performance.now(),
        roundTrip: roundTripOf.get(version) ?? false,
        only: roundTripScope(step),
        seedFailed: false,
        applied: false,
        settled: false,
      };
      states.set(version, state);
      const seed = fixtures.byVersion.get(version)?.seed;
      if (seed) {
        if (seed.ok) {
          const f = await runSeed(step.client, seed.parsed, version, config.seedRows);
          if (f) {
            outcome.findings.push(f);
            state.seedFailed = true;
          }
        } else {
          state.seedFailed = true;
        }
      }
      if (state.roundTrip) state.a = await (await storeFor(step.db)).take({ only: state.only });
    },

    async afterUp(step) {
      const version = step.prepared.migration.version;
      const state = states.get(version);
      if (!state) return;
      state.applied = true;
      appliedVersions.add(version);
      if (state.roundTrip && state.a && store && !step.preSeed) {
        // Values after the up matter only to tell whether dropped ones live on elsewhere.
        state.b = await store.take({ rowsOnly: true, only: state.only });
        const dropped = droppedData(state.a, state.b);
        if (dropped.columns.some((c) => c.values > 0) || dropped.tables.some((t) => t.rows > 0)) {
          state.b = await store.take({ like: state.a, summary: true, only: state.only });
        }
        state.pending = step;
      }
      const emptied = step.preSeed;
      if (emptied) {
        // The up failed on the rows and went in on the state before them: there is nothing to compare.
        state.pending = undefined;
        state.a = state.b = undefined;
        state.checksSkipped = true;
        outcome.findings.push({
          stage: 'data',
          severity: 'notice',
          rule: 'data-checks-skipped',
          migration: version,
          message: `the data checks of ${version} were skipped: it fails on the test rows (see its syntax finding), so it was applied to the state before them`,
        });
      }
      const assert = fixtures.byVersion.get(version)?.assert;
      if (assert?.ok && !emptied) {
        if (state.seedFailed) {
          outcome.findings.push({
            stage: 'data',
            severity: 'notice',
            rule: 'fixture-skipped',
            migration: version,
            file: assert.parsed.source.file,
            message: `the assertions for ${version} were not run: its seed failed`,
          });
        } else {
          outcome.findings.push(...(await runAsserts(step.client, assert.parsed, version)));
        }
      }
      if (!state.pending) settle(state);
    },

    async afterDown(step, result) {
      const state = states.get(step.prepared.migration.version);
      if (!result.ok && result.failure?.partiallyApplied) walkBroken = true;
      if (!state?.pending) return;
      const c = result.ok && store && state.a ? await store.take({ like: state.a, only: state.only }) : undefined;
      await finish(state, c);
    },

    async afterReup(_step, result) {
      if (!result.ok) walkBroken = true;
    },

    async beforeRowsReset() {
      // The rows the fingerprints were taken of are gone: nothing pending can be compared any more.
      for (const s of states.values()) {
        await store?.discard(...[s.a, s.b].filter((f): f is Fingerprint => f !== undefined));
        s.a = s.b = undefined;
        s.pending = undefined;
      }
    },

    async beforeRestore() {
      // The fingerprints live on this connection and die with it; the walk's database is replaced.
      await connection?.end().catch(() => {});
      connection = undefined;
      store = undefined;
      for (const s of states.values()) {
        s.a = s.b = undefined;
        s.pending = undefined;
      }
      // The checkpoint puts the database back where the walk expects it.
      walkBroken = false;
    },

    async afterAll(_client, db) {
      await finishPending();
      for (const s of [...states.values()]) settle(s);
      await connection?.end().catch(() => {});
      connection = undefined;
      store = undefined;
      const command = config.dataTestCommand;
      if (command === undefined) return;
      const underTest = ctx.migrations.filter((m) => m.migration.underTest);
      const notApplied = underTest.filter((m) => !appliedVersions.has(m.migration.version)).map((m) => m.migration.version);
      if (walkBroken || notApplied.length > 0) {
        outcome.findings.push({
          stage: 'data',
          severity: 'notice',
          rule: 'test-command-skipped',
          message: `the data test command was not run: ${notApplied.length > 0 ? `${notApplied.join(', ')} did not apply` : 'the walk stopped early'}, so the database is not at the newest migration`,
        });
        return;
      }
      ctx.progress({ kind: 'info', message: `data: running the data test command: ${command}` });
      // As the run's role, where the run has one: the command reaches no further than the migrations.
      const f = await runDataTestCommand(command, ctx.runCommand, { ...db, url: ctx.server.urlFor(db) }, config);
      const escalation = await ctx.server.roleEscalation();
      if (escalation) throw new InputError('input', `${escalation.replace(/^the migrations/, 'the data test command')}; the run was stopped`);
      if (f) outcome.findings.push(f);
    },
  };
}

/** The tables the round trip compares: those the up and down can change; all when that cannot be told. */
function roundTripScope(step: WalkStep): TableFilter | undefined {
  return statementScope([...step.up.statements, ...(step.down?.statements ?? [])], { reads: false });
}
