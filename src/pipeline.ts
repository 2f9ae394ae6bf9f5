import { performance } from 'node:perf_hooks';
import type { Config, StageName } from './config.js';
import { bookkeepingOf, toolTableSetup } from './db/bookkeeping.js';
import { maskPassword } from './db/connect.js';
import { isConnectionError } from './db/execute.js';
import { closeAllScratchServers, ScratchServer } from './db/scratch.js';
import { InputError, errorMessage, isInputError } from './errors.js';
import { discoverCodeMigrations } from './migrations/code.js';
import { discoverMigrations } from './migrations/discover.js';
import { applyBaseline, type BaselineResult } from './migrations/baseline.js';
import { assignShards } from './migrations/shard.js';
import { substituteMigration } from './migrations/substitute.js';
import { buildBaselineTemplate } from './stages/baseline.js';
import type { Finding, Report, ReportMigration, StageResult } from './report/model.js';
import { stageStatusOf, verdictOf } from './report/model.js';
import { applyRuleLevels, restatus, ruleLevels } from './report/severities.js';
import type { ProgressEvent } from './report/terminal.js';
import { attachExcerpts, readSourceFiles } from './sql/excerpt.js';
import { createdExtensions, refuseOutsideStatements, rolesNamed, runsUnseenSql, touchesRoles } from './sql/guard.js';
import { loadParser, parseSource } from './sql/parse.js';
import type { CommandRunner } from './command-runner.js';
import type { PreparedMigration, StageContext, StageOutcome } from './stages/context.js';
import { createDataObserver } from './stages/data.js';
import { loadFixtures } from './stages/data-fixtures.js';
import { createDependenciesObserver } from './stages/dependencies.js';
import { runPerformanceStage } from './stages/performance.js';
import { createRollbackObserver } from './stages/rollback.js';
import { predictFindings, statsCoverageFindings } from './stages/predictions.js';
import { parseFindings, trustServerGrammar } from './stages/syntax.js';
import { walkMigrations, type WalkObserver, type WalkStep } from './stages/walk.js';

export interface RunHooks {
  log?: (line: string) => void;
  progress?: (event: ProgressEvent) => void;
  runCommand?: CommandRunner;
  /** A connection string the run made up (the run role's): its password is a secret to mask from here on. */
  secret?: (connection: string) => void;
}

/** Stages that ride along the syntax walk, looking at each step of the staircase. */
const WALK_OBSERVERS = { rollback: createRollbackObserver, data: createDataObserver, dependencies: createDependenciesObserver } as const;
type ObserverStage = keyof typeof WALK_OBSERVERS;

const WALK_STAGES: readonly StageName[] = ['syntax', 'rollback', 'data', 'dependencies'];

/** The migrations a run of `config` finds: bad input fails here, before any server is needed. */
export async function discoverForRun(config: Config) {
  await loadParser();
  return config.upCommand
    ? discoverCodeMigrations(config.root, config.dir, config.downCommand !== undefined)
    : discoverMigrations(config.root, config.dir, config.format, { liquibase: { contexts: config.liquibaseContexts, labels: config.liquibaseLabels } });
}

/**
 * For a front end's signal handler: drops every scratch database and role of the runs in
 * progress in this process. The runs themselves then fail; their errors are the handler's to hide.
 */
export function stopAllRuns(): Promise<void> {
  return closeAllScratchServers();
}

/** Discovers, parses and tests the migrations of `config.dir`; the report is the only result. */
export async function runPipeline(config: Config, hooks: RunHooks = {}): Promise<Report> {
  const log = hooks.log ?? (() => {});
  const progress = hooks.progress ?? (() => {});
  const discovered = await discoverForRun(config);
  const baselineNotes: Finding[] = [];
  let scoped: BaselineResult | undefined;
  try {
    scoped = config.baseRef ? applyBaseline(config.root, config.dir, discovered.migrations, config.baseRef, discovered) : undefined;
  } catch (e) {
    // A guessed base (the pull request's) that the checkout lacks is no reason to check nothing.
    if (!config.baseRefOptional || !isInputError(e)) throw e;
    baselineNotes.push({
      stage: 'syntax',
      severity: 'warning',
      rule: 'baseline-unavailable',
      message: `${e.message}; every migration is tested as new, and edited or out-of-order migrations cannot be told`,
      hint: 'check out with full history (actions/checkout with fetch-depth: 0) to test only what the pull request changes',
    });
  }
  const ordered = scoped?.migrations ?? discovered.migrations;
  const shardOfVersion = config.shard ? assignShards(ordered, config.shard.total) : new Map<string, number>();
  const inThisShard = (version: string) => !config.shard || (shardOfVersion.get(version) ?? config.shard.index) === config.shard.index;
  const migrations: PreparedMigration[] = ordered
    .map((m) => substituteMigration(m, config))
    .map((migration) => ({
      migration,
      up: parseSource(migration.up),
      down: migration.down ? parseSource(migration.down) : undefined,
      ...(migration.verify ? { verify: parseSource(migration.verify) } : {}),
    }));
  const findings: Finding[] = discovered.notices.map((n) => ({
    stage: 'syntax',
    severity: n.severity ?? 'notice',
    rule: n.rule ?? 'file-skipped',
    file: n.file,
    ...(n.line ? { line: n.line } : {}),
    message: n.message,
  }));
  // Nothing runs, and no server is asked, when a migration or a data fixture would act outside the scratch databases.
  const fixtures = config.stages.includes('data') ? [...loadFixtures(config, migrations).byVersion.values()].flatMap((f) => [f.seed, f.assert]) : [];
  refuseOutsideStatements([...migrations.flatMap((p) => [p.up, p.down, p.verify]), ...fixtures], config.allowOutside);
  const setup = toolTableSetup(discovered.format, migrations.flatMap((p) => [p.migration.up.text, p.migration.down?.text ?? '']));
  const server = await ScratchServer.open(config.databaseUrl, { connectTimeoutMs: config.connectTimeoutMs, log, ...(setup ? { setup } : {}) });
  // What the bundled parser refuses, the server's own grammar may accept (another major's syntax).
  let serverParsed: Finding[];
  try {
    const role = await chooseMigrationRole(server, config, migrations);
    if (server.runRoleUrl) hooks.secret?.(server.runRoleUrl);
    log(role);
    serverParsed = await trustServerGrammar(server, migrations, server.version);
  } catch (e) {
    await server.close().catch(() => {});
    throw e;
  }
  // Found before anything runs: every parse error at its exact position, and the pull request checks.
  const upfront = [
    ...migrations.flatMap(parseFindings),
    ...serverParsed,
    // What production's data will do, from its statistics and the parse trees alone.
    ...(config.productionStats ? statsCoverageFindings(migrations, config.productionStats) : []),
    ...(config.productionStats ? predictFindings(migrations.filter((p) => inThisShard(p.migration.version)), config.productionStats) : []),
    ...migrations.filter((p) => !p.migration.code && p.migration.up.text.trim() === '').map(emptyMigrationFinding),
    ...(scoped ? pullRequestFindings(migrations, scoped, config.baseRef!) : []),
    // A green check must say when it tested nothing: only a pull request that touches no migration gets one.
    ...(scoped && !migrations.some((p) => p.migration.underTest) ? [nothingToTestFinding(config.baseRef!, migrations.length)] : []),
    ...baselineNotes,
  ];
  // The repository's rule levels, before anything counts the findings.
  const levelOf = ruleLevels(config.rules);
  upfront.splice(0, upfront.length, ...applyRuleLevels(upfront, levelOf).findings);
  findings.splice(0, findings.length, ...applyRuleLevels(findings, levelOf).findings);
  findings.push(...upfront);

  const underTest = migrations.filter((m) => m.migration.underTest && inThisShard(m.migration.version)).length;
  log(
    `Postgres ${server.version}; ${migrations.length} migrations (${discovered.format}), ${underTest} under test` +
      (config.shard ? ` in shard ${config.shard.index}/${config.shard.total} (of ${shardOfVersion.size} in all shards)` : ''),
  );
  const ctx: StageContext = { config, server, migrations, log, progress, runCommand: hooks.runCommand, baselineTemplate: undefined, bookkeeping: bookkeepingOf(discovered.format) };
  // A shard walks every migration under test (the syntax stage is cheap and the walk then reaches
  // exactly the state a single job would), but the other stages test only this shard's share.
  const shardCtx: StageContext = config.shard
    ? { ...ctx, migrations: migrations.map((p) => (inThisShard(p.migration.version) ? p : { ...p, migration: { ...p.migration, underTest: false } })) }
    : ctx;
  const stages: StageResult[] = [];
  const outcomes: StageOutcome[] = [];
  const record = (outcome: StageOutcome, durationMs: number, extra: Finding[] = []) => {
    const leveled = applyRuleLevels(outcome.findings, levelOf);
    outcome.findings = leveled.findings;
    for (const v of leveled.changed) {
      const was = outcome.perMigration.get(v);
      if (was !== undefined) outcome.perMigration.set(v, restatus(was, outcome.findings.filter((f) => f.migration === v)));
    }
    outcomes.push(outcome);
    findings.push(...outcome.findings);
    const status = stageStatusOf([...extra, ...outcome.findings], true);
    stages.push({ name: outcome.stage, status, durationMs: Math.round(durationMs) });
    progress({ kind: 'stage', stage: outcome.stage, status, durationMs });
  };
  let failure: unknown;
  let leftovers: string | undefined;
  try {
    // Roles a migration creates are the server's: tracked from here, compared and dropped at the end.
    const files = migrations.flatMap((p) => [p.up, p.down, p.verify]);
    // Also whenever SQL the parse tree cannot read (EXECUTE, a routine in another language, a
    // migration tool's code) runs on a connection that may create roles.
    const parsedFiles = files.flatMap((f) => (f?.ok ? [f.parsed] : []));
    const rolesPossible = config.upCommand !== undefined || parsedFiles.some(touchesRoles) || parsedFiles.some(runsUnseenSql);
    if (rolesPossible && (await server.migrationsCanCreateRoles())) await server.trackRoles(log);
    // A template pays off when two stages start from the baseline (the walk and the performance
    // stage); one stage simply applies it. A migration tool keeps its own bookkeeping: replayed, not cloned.
    const consumers = Number(config.stages.some((s) => WALK_STAGES.includes(s))) + Number(config.stages.includes('performance'));
    const base =
      config.upCommand || consumers < 2 ? { template: undefined, findings: [] } : await buildBaselineTemplate(server, migrations, progress);
    ctx.baselineTemplate = base.template;
    // The roles of the baseline; those the walk's migrations create again are dropped before the performance stage applies them.
    const rolesBeforeWalk = server.tracksRoles ? await server.roles() : undefined;
    shardCtx.baselineTemplate = base.template;
    upfront.push(...base.findings);
    findings.push(...base.findings);
    const walkStages = config.stages.filter((s) => WALK_STAGES.includes(s));
    if (walkStages.length > 0) {
      const observers = new Map<StageName, WalkObserver>();
      const observing = walkStages.filter((s): s is ObserverStage => s !== 'syntax');
      // Data first: its seed files run before the rollback stage takes its first snapshot.
      for (const name of observing.sort((a, b) => Number(b === 'data') - Number(a === 'data'))) {
        const make = WALK_OBSERVERS[name];
        observers.set(name, config.shard ? onlyInShard(make(shardCtx), inThisShard) : make(ctx));
      }
      const roundTripStage: StageName = config.stages.includes('rollback') ? 'rollback' : 'data';
      const walk = await walkMigrations(ctx, [...observers.values()], roundTripStage);
      // The walk's apply failures explain every later stage's gaps, so they count even when syntax was not asked for.
      record(walk.syntax, walk.syntaxMs, upfront);
      if (!config.stages.includes('syntax')) stages.pop();
      for (const name of walkStages) {
        const o = observers.get(name);
        if (o) record(o.outcome, walk.observerMs.get(o) ?? 0);
      }
    }
    // The performance stage needs a database of its own, seeded at volume.
    if (config.stages.includes('performance')) {
      const t0 = performance.now();
      if (rolesBeforeWalk && walkStages.length > 0) {
        for (const failure of await server.dropRolesSince(rolesBeforeWalk)) log(`a role the walk's migrations left could not be dropped before the performance stage: ${failure}`);
      }
      record(await runPerformanceStage(shardCtx), performance.now() - t0);
    }
  } catch (e) {
    failure = e;
  } finally {
    try {
      await server.close();
    } catch (e) {
      // What could not be dropped is said even when the run failed for another reason first.
      if (failure === undefined) failure = e;
      else leftovers = errorMessage(e);
    }
  }
  if (failure !== undefined) {
    const also = leftovers ? `; ${leftovers}` : '';
    if (isInputError(failure)) throw also ? new InputError(failure.kind, `${failure.message}${also}`, failure) : failure;
    if (isConnectionError(failure)) {
      // Never a verdict when the server went away: "could not check" is exit 2.
      throw new InputError('database', maskPassword(`lost the connection to Postgres during the run: ${errorMessage(failure)}${also}`, config.databaseUrl));
    }
    throw failure;
  }

  attachExcerpts(findings, readSourceFiles(config.root, migrations.flatMap((p) => [p.up, p.down, p.verify])));

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
      underTest: m.underTest && inThisShard(m.version),
      ...(shardOfVersion.has(m.version) ? { shard: shardOfVersion.get(m.version)! } : {}),
      stages: perStage,
    };
  });
  return {
    version: 1,
    verdict: verdictOf(findings),
    postgres: server.version,
    ...(config.shard ? { shard: { ...config.shard } } : {}),
    migrations: reportMigrations,
    stages,
    findings,
    statements: outcomes.flatMap((o) => o.statements),
  };
}

/**
 * The run-time backing of the guard: the migrations log in as a role of the run's own that may act
 * only inside its scratch databases, unless the user let something outside through, a migration
 * tool runs them, or they need a superuser. The sentence says which, for the log.
 */
async function chooseMigrationRole(server: ScratchServer, config: Config, migrations: PreparedMigration[]): Promise<string> {
  const files = migrations.flatMap((p) => [p.up, p.down, p.verify]).flatMap((f) => (f?.ok ? [f.parsed] : []));
  // A migration tool's code is not read: its roles may be created, except where CREATEROLE reaches
  // past the roles it creates (before 16), and no extension or existing role is known to need more.
  const codeCreatesRoles = server.versionNum >= 160000;
  const why =
    config.allowOutside.length > 0
      ? `allow-outside: ${config.allowOutside.join(', ')} lets them do what the guard refuses`
      : config.upCommand
        ? await server.useRunRole({ createRole: codeCreatesRoles, extensions: [], roles: [] })
        : await server.useRunRole({ createRole: files.some(touchesRoles), extensions: [...new Set(files.flatMap(createdExtensions))], roles: [...new Set(files.flatMap(rolesNamed))] });
  const who = [config.upCommand ? 'up-command connects' : 'migrations run', config.dataTestCommand ? 'the data test command connects' : ''].filter(Boolean).join(' and ');
  if (why) return `${who} as the connecting role (${why}): SQL that routines build at run time is not held back`;
  const roles =
    config.upCommand && !codeCreatesRoles
      ? `; it may not create roles (on Postgres ${Math.floor(server.versionNum / 10000)} CREATEROLE could grant access to the server; allow-outside: superuser runs a tool that creates roles as the connecting role)`
      : '';
  return `${who} as ${server.runRole}, a role of this run that may act only inside its scratch databases${roles}`;
}

function nothingToTestFinding(ref: string, count: number): Finding {
  return {
    stage: 'syntax',
    severity: 'notice',
    rule: 'nothing-to-test',
    message: `nothing to test: all ${count} migrations exist unchanged at ${ref}, so this change touches no migration`,
  };
}

/** Checks only a pull request view allows: edited merged migrations, new ones out of order. */
function pullRequestFindings(migrations: PreparedMigration[], scoped: BaselineResult, ref: string): Finding[] {
  const out: Finding[] = [];
  for (const { migration: m } of migrations) {
    if (scoped.edited.has(m.version)) {
      out.push({
        stage: 'syntax',
        severity: 'warning',
        rule: 'edited-migration',
        migration: m.version,
        file: m.up.file,
        line: 1,
        column: 1,
        message: `${m.version} already exists at ${ref} and was edited: it has likely run in production already, where the edit will never run`,
        hint: 'leave merged migrations as they are and add a new migration for the change',
      });
    }
  }
  for (const o of scoped.outOfOrder) {
    const m = migrations.find((p) => p.migration.version === o.version)!.migration;
    out.push({
      stage: 'syntax',
      severity: 'error',
      rule: 'out-of-order',
      migration: o.version,
      file: m.up.file,
      line: 1,
      column: 1,
      message: `${o.version} is new but sorts before ${o.newest}, which already exists at ${ref}: wherever ${o.newest} has run, ${o.version} would be skipped or run out of order`,
      hint: `give it a version after ${o.newest}`,
    });
  }
  return out;
}

/** An empty up file applies and changes nothing: worth a word, not a failure. */
function emptyMigrationFinding({ migration: m }: PreparedMigration): Finding {
  return { stage: 'syntax', severity: 'notice', rule: 'empty-migration', migration: m.version, file: m.up.file, message: `${m.up.file} is empty: ${m.version} changes nothing` };
}

/** The observer, deaf to the steps of migrations another shard tests. */
function onlyInShard(o: WalkObserver, inShard: (version: string) => boolean): WalkObserver {
  const mine = (step: WalkStep) => inShard(step.prepared.migration.version);
  const wrapped: WalkObserver = {
    get outcome() {
      return o.outcome;
    },
    wantsRoundTrip: o.wantsRoundTrip,
  };
  if (o.needsEveryTable) wrapped.needsEveryTable = (prepared) => o.needsEveryTable!(prepared);
  if (o.writesBeforeUp) wrapped.writesBeforeUp = (prepared) => inShard(prepared.migration.version) && o.writesBeforeUp!(prepared);
  if (o.beforeUp) wrapped.beforeUp = async (step) => (mine(step) ? o.beforeUp!(step) : undefined);
  if (o.afterUp) wrapped.afterUp = async (step) => (mine(step) ? o.afterUp!(step) : undefined);
  if (o.afterDown) wrapped.afterDown = async (step, result) => (mine(step) ? o.afterDown!(step, result) : undefined);
  if (o.afterReup) wrapped.afterReup = async (step, result) => (mine(step) ? o.afterReup!(step, result) : undefined);
  if (o.afterAll) wrapped.afterAll = async (client, db) => o.afterAll!(client, db);
  if (o.beforeRestore) wrapped.beforeRestore = async (db) => o.beforeRestore!(db);
  if (o.beforeRowsReset) wrapped.beforeRowsReset = async () => o.beforeRowsReset!();
  return wrapped;
}
