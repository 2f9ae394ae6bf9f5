import { performance } from 'node:perf_hooks';
import type { Config, StageName } from './config.js';
import { maskPassword } from './db/connect.js';
import { isConnectionError } from './db/execute.js';
import { ScratchServer } from './db/scratch.js';
import { InputError, errorMessage, isInputError } from './errors.js';
import { discoverMigrations } from './migrations/discover.js';
import type { Finding, Report, ReportMigration, StageResult } from './report/model.js';
import { stageStatusOf, verdictOf } from './report/model.js';
import type { ProgressEvent } from './report/terminal.js';
import { loadParser, parseSource } from './sql/parse.js';
import type { CommandRunner } from './stages/command.js';
import type { PreparedMigration, StageContext, StageOutcome } from './stages/context.js';
import { createRollbackObserver } from './stages/rollback.js';
import { parseFindings } from './stages/syntax.js';
import { walkMigrations, type WalkObserver } from './stages/walk.js';

export interface RunHooks {
  log?: (line: string) => void;
  progress?: (event: ProgressEvent) => void;
  runCommand?: CommandRunner;
}

/** Stages that ride along the syntax walk, looking at each step of the staircase. */
const WALK_OBSERVERS: Partial<Record<StageName, (ctx: StageContext) => WalkObserver>> = {
  rollback: createRollbackObserver,
};

/** Stages that need a database of their own (seeded at volume). */
const SEPARATE_STAGES: Partial<Record<StageName, (ctx: StageContext) => Promise<StageOutcome>>> = {};

const WALK_STAGES: readonly StageName[] = ['syntax', 'rollback', 'data'];

/** Discovers, parses and tests the migrations of `config.dir`; the report is the only result. */
export async function runPipeline(config: Config, hooks: RunHooks = {}): Promise<Report> {
  const log = hooks.log ?? (() => {});
  const progress = hooks.progress ?? (() => {});
  await loadParser();
  const discovered = discoverMigrations(config.root, config.dir, config.format);
  const migrations: PreparedMigration[] = discovered.migrations.map((migration) => ({
    migration,
    up: parseSource(migration.up),
    down: migration.down ? parseSource(migration.down) : undefined,
  }));
  const findings: Finding[] = discovered.notices.map((n) => ({
    stage: 'syntax',
    severity: 'notice',
    rule: 'file-skipped',
    file: n.file,
    message: n.message,
  }));
  // Every parse error, at its exact position, before anything runs.
  const parseErrors = migrations.flatMap(parseFindings);
  findings.push(...parseErrors);

  const server = await ScratchServer.open(config.databaseUrl, { connectTimeoutMs: config.connectTimeoutMs, log });
  log(
    `Postgres ${server.version}; ${migrations.length} migrations (${discovered.format}), ${migrations.filter((m) => m.migration.underTest).length} under test`,
  );
  const ctx: StageContext = { config, server, migrations, log, progress, runCommand: hooks.runCommand };
  const stages: StageResult[] = [];
  const outcomes: StageOutcome[] = [];
  const record = (outcome: StageOutcome, durationMs: number, extra: Finding[] = []) => {
    outcomes.push(outcome);
    findings.push(...outcome.findings);
    const status = stageStatusOf([...extra, ...outcome.findings], true);
    stages.push({ name: outcome.stage, status, durationMs: Math.round(durationMs) });
    progress({ kind: 'stage', stage: outcome.stage, status, durationMs });
  };
  const unavailable = (name: StageName) => {
    findings.push({ stage: name, severity: 'notice', rule: 'stage-unavailable', message: `the ${name} stage is not available in this version; it was skipped` });
    stages.push({ name, status: 'skip', durationMs: 0 });
    progress({ kind: 'stage', stage: name, status: 'skip', durationMs: 0 });
  };
  let failure: unknown;
  try {
    const walkStages = config.stages.filter((s) => WALK_STAGES.includes(s));
    if (walkStages.length > 0) {
      const observers = new Map<StageName, WalkObserver>();
      for (const name of walkStages) {
        const make = WALK_OBSERVERS[name];
        if (make) observers.set(name, make(ctx));
      }
      const roundTripStage: StageName = config.stages.includes('rollback') ? 'rollback' : 'data';
      const walk = await walkMigrations(ctx, [...observers.values()], roundTripStage);
      // The walk's apply failures explain every later stage's gaps, so they count even when syntax was not asked for.
      record(walk.syntax, walk.syntaxMs, parseErrors);
      if (!config.stages.includes('syntax')) stages.pop();
      for (const name of walkStages) {
        if (name === 'syntax') continue;
        const o = observers.get(name);
        if (o) record(o.outcome, walk.observerMs.get(o) ?? 0);
        else unavailable(name);
      }
    }
    for (const name of config.stages.filter((s) => !WALK_STAGES.includes(s))) {
      const run = SEPARATE_STAGES[name];
      if (!run) {
        unavailable(name);
        continue;
      }
      const t0 = performance.now();
      const outcome = await run(ctx);
      record(outcome, performance.now() - t0);
    }
  } catch (e) {
    failure = e;
  } finally {
    try {
      await server.close();
    } catch (e) {
      failure ??= e;
    }
  }
  if (failure !== undefined) {
    if (isInputError(failure)) throw failure;
    if (isConnectionError(failure)) {
      // Never a verdict when the server went away: "could not check" is exit 2.
      throw new InputError('database', maskPassword(`lost the connection to Postgres during the run: ${errorMessage(failure)}`, config.databaseUrl));
    }
    throw failure;
  }

  const reportMigrations: ReportMigration[] = migrations.map(({ migration: m }) => {
    const perStage: ReportMigration['stages'] = {};
    for (const o of outcomes) {
      if (config.stages.includes(o.stage)) perStage[o.stage] = o.perMigration.get(m.version) ?? 'skip';
    }
    return {
      version: m.version,
      name: m.name,
      up: m.up.file,
      ...(m.down ? { down: m.down.file } : {}),
      underTest: m.underTest,
      stages: perStage,
    };
  });
  return {
    version: 1,
    verdict: verdictOf(findings),
    postgres: server.version,
    migrations: reportMigrations,
    stages,
    findings,
    statements: outcomes.flatMap((o) => o.statements),
  };
}
