import { performance } from 'node:perf_hooks';
import type { Config, StageName } from './config.js';
import { isConnectionError } from './db/execute.js';
import { ScratchServer } from './db/scratch.js';
import { maskPassword } from './db/connect.js';
import { InputError, errorMessage, isInputError } from './errors.js';
import { discoverMigrations } from './migrations/discover.js';
import type { Finding, Report, ReportMigration, StageResult } from './report/model.js';
import { stageStatusOf, verdictOf } from './report/model.js';
import type { ProgressEvent } from './report/terminal.js';
import { loadParser, parseSource } from './sql/parse.js';
import type { PreparedMigration, StageContext, StageOutcome } from './stages/context.js';
import { parseFindings, runSyntaxStage } from './stages/syntax.js';

export interface RunHooks {
  log?: (line: string) => void;
  progress?: (event: ProgressEvent) => void;
}

type StageRunner = (ctx: StageContext) => Promise<StageOutcome>;

const RUNNERS: Partial<Record<StageName, StageRunner>> = {
  syntax: runSyntaxStage,
};

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
  log(`Postgres ${server.version}; ${migrations.length} migrations (${discovered.format}), ${migrations.filter((m) => m.migration.underTest).length} under test`);
  const ctx: StageContext = { config, server, migrations, log, progress };
  const stages: StageResult[] = [];
  const outcomes: StageOutcome[] = [];
  let failure: unknown;
  try {
    for (const name of config.stages) {
      const runner = RUNNERS[name];
      const t0 = performance.now();
      if (!runner) {
        findings.push({ stage: name, severity: 'notice', rule: 'stage-unavailable', message: `the ${name} stage is not available in this version; it was skipped` });
        stages.push({ name, status: 'skip', durationMs: 0 });
        progress({ kind: 'stage', stage: name, status: 'skip', durationMs: 0 });
        continue;
      }
      const outcome = await runner(ctx);
      const durationMs = Math.round(performance.now() - t0);
      outcomes.push(outcome);
      findings.push(...outcome.findings);
      const status = stageStatusOf(name === 'syntax' ? [...parseErrors, ...outcome.findings] : outcome.findings, true);
      stages.push({ name, status, durationMs });
      progress({ kind: 'stage', stage: name, status, durationMs });
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
      perStage[o.stage] = o.perMigration.get(m.version) ?? 'skip';
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
