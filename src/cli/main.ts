import fs from 'node:fs';
import path from 'node:path';
import { buildConfig } from '../config.js';
import { InputError, errorMessage, isInputError } from '../errors.js';
import { writeOutputFile } from '../output-file.js';
import { discoverForRun, runPipeline, stopAllRuns } from '../pipeline.js';
import { formatWorkflowCommand, selectAnnotations } from '../report/annotations.js';
import { renderJson } from '../report/json.js';
import { mergeReports, parseReport } from '../report/merge.js';
import type { Report } from '../report/model.js';
import { renderSarif } from '../report/sarif.js';
import { renderSummary } from '../report/summary.js';
import { formatProgress, formatWorkingRows, renderTerminal, wrapLine } from '../report/terminal.js';
import { createMasker } from '../secrets.js';
import { VERSION } from '../version.js';
import { parseCliArgs, USAGE, type CliArgs } from './args.js';
import { spawnCommand } from './command.js';
import { embeddedMajor, startEmbeddedPostgres, type EmbeddedServer } from './embedded.js';
import { LiveLine, wantsColor } from './live-line.js';
import { statsCommand } from './stats.js';

export interface CliIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  /** Progress goes to a terminal: a live line may show long work. */
  stderrIsTTY?: boolean;
  /** Terminal width: output wraps to it; unset when not a terminal. */
  columns?: number;
}

// Stands in for the embedded server's URL while the arguments are checked, before it starts.
const EMBEDDED_URL_PENDING = 'postgres://embedded-postgres-not-started-yet/postgres';

// The embedded server of the run in progress, so a signal can stop it too.
let activeEmbedded: EmbeddedServer | undefined;

/** The whole CLI as a function of argv and environment; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let embedded: EmbeddedServer | undefined;
  // Secrets may sit in any argument (a key=value connection string too) and in the environment.
  const masker = createMasker({ connections: [io.env.DATABASE_URL, ...argv], env: io.env });
  const mask = masker.mask;
  const live = new LiveLine((s) => io.stderr(mask(s)), io.stderrIsTTY === true, io.columns);
  const out = (s: string) => {
    live.clear();
    io.stdout(mask(s));
  };
  const err = (s: string) => {
    live.clear();
    io.stderr(mask(s));
  };
  try {
    if (argv[0] === 'merge-reports') return await mergeCommand(parseCliArgs(argv.slice(1), { allowPositionals: true }), io);
    if (argv[0] === 'stats') return await statsCommand(argv.slice(1), io);
    const args = parseCliArgs(argv);
    if (args.help) {
      out(USAGE);
      return 0;
    }
    if (args.version) {
      out(`migration-ci ${VERSION}\n`);
      return 0;
    }
    const color = wantsColor(args.color, io.env, io.isTTY);
    const width = io.columns;
    const postgresVersion = args.raw.postgresVersion as string | undefined;
    if (postgresVersion !== undefined && args.raw.databaseUrl) {
      throw new InputError('usage', '--postgres-version chooses the embedded server; it cannot be combined with --database-url');
    }
    // Asking for a major asks for the embedded server, over a DATABASE_URL in the environment.
    const givenUrl = (args.raw.databaseUrl as string | undefined) || (postgresVersion === undefined ? io.env.DATABASE_URL : '') || '';
    // Arguments and migrations are checked before an embedded server is started for them.
    const major = givenUrl ? undefined : embeddedMajor(postgresVersion);
    const config = buildConfig(io.cwd, { ...args.raw, databaseUrl: givenUrl || EMBEDDED_URL_PENDING }, { paths: 'anywhere' });
    await discoverForRun(config);
    if (major !== undefined) {
      err(`${postgresVersion === undefined ? 'no --database-url or DATABASE_URL' : `--postgres-version ${major}`}: starting an embedded Postgres ${major}\n`);
      live.show(`starting the embedded Postgres ${major}…`);
      embedded = await startEmbeddedPostgres(undefined, major);
      live.clear();
      activeEmbedded = embedded;
      config.databaseUrl = embedded.url;
    }
    masker.addConnectionString(config.databaseUrl);
    const report = masker.maskDeep(await runPipeline(config, {
      log: (line) => err(`${wrapLine(line, width)}\n`),
      progress: (event) =>
        event.kind === 'working'
          ? live.show(formatProgress({ kind: 'working', message: event.message }, { color }), formatWorkingRows(event))
          : err(`${formatProgress(event, { color, width })}\n`),
      runCommand: spawnCommand,
      secret: (connection) => masker.addConnectionString(connection),
    }));
    writeFiles(report, config.reportJson, config.sarif, config.root, mask);
    if (args.githubAnnotations) printAnnotations(report, out);
    out(renderTerminal(report, { color, width }));
    return report.verdict === 'pass' ? 0 : 1;
  } catch (e) {
    if (isInputError(e)) {
      const where = e.file ? `${e.file}${e.line ? `:${e.line}${e.column ? `:${e.column}` : ''}` : ''}: ` : '';
      err(`migration-ci: ${where}${e.message}\n`);
      return 2;
    }
    err(`migration-ci: internal error: ${errorMessage(e)}\n${(e as Error)?.stack ?? ''}\n`);
    return 2;
  } finally {
    await stopAllRuns();
    live.clear();
    await embedded?.stop().catch(() => {});
    activeEmbedded = undefined;
  }
}

function writeFiles(report: Report, reportJson: string | undefined, sarif: string | undefined, root: string, mask: (s: string) => string): void {
  if (reportJson) writeOutputFile(reportJson, mask(renderJson(report)), 'JSON report');
  if (sarif) writeOutputFile(sarif, mask(renderSarif(report, { toolVersion: VERSION, srcRoot: root })), 'SARIF report');
}

function printAnnotations(report: Report, out: (s: string) => void): void {
  for (const a of selectAnnotations(report).annotations) out(`${formatWorkflowCommand(a)}\n`);
}

const MERGE_OPTIONS = new Set(['reportJson', 'sarif']);

/**
 * `migration-ci merge-reports a.json b.json ...`: the shards' JSON reports as one report; prints
 * its job summary (markdown, for $GITHUB_STEP_SUMMARY) and exits like a run with that verdict.
 */
async function mergeCommand(args: CliArgs, io: CliIo): Promise<number> {
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }
  const extra = Object.entries(args.raw).filter(([k, v]) => v !== undefined && !MERGE_OPTIONS.has(k));
  if (extra.length > 0) {
    throw new InputError('usage', 'merge-reports takes report files and only --report-json, --sarif and --github-annotations (see --help)');
  }
  if (args.positionals.length === 0) throw new InputError('usage', 'merge-reports needs the JSON reports to merge (see --help)');
  const reports = args.positionals.map((file) => {
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
    } catch (e) {
      throw new InputError('input', `cannot read report ${file}: ${errorMessage(e)}`);
    }
    return parseReport(text, file);
  });
  const report = mergeReports(reports);
  const resolve = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? path.resolve(io.cwd, v.trim()) : undefined);
  writeFiles(report, resolve(args.raw.reportJson), resolve(args.raw.sarif), io.cwd, (s) => s);
  if (args.githubAnnotations) printAnnotations(report, io.stdout);
  io.stdout(renderSummary(report));
  return report.verdict === 'pass' ? 0 : 1;
}

/** Entry point of the `migration-ci` binary: signals drop the scratch databases before exiting. */
export async function main(): Promise<void> {
  let stopping: NodeJS.Signals | undefined;
  const exitCodeOf = (signal: NodeJS.Signals) => (signal === 'SIGINT' ? 130 : signal === 'SIGPIPE' ? 141 : 143);
  /** Drops the scratch databases and roles, stops an embedded server, then exits as the signal would. */
  const stopThenExit = (signal: NodeJS.Signals, onError: (e: unknown) => void) => {
    stopping = signal;
    void stopAllRuns()
      .then(() => activeEmbedded?.stop())
      .catch(onError)
      .finally(() => process.exit(exitCodeOf(signal)));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: the user does not want to wait for the cleanup.
      process.stderr.write(`migration-ci: ${signal} again: exiting without waiting; scratch databases may be left (the next run drops them)\n`);
      process.exit(exitCodeOf(signal));
    }
    process.stderr.write(`migration-ci: ${signal}: dropping scratch databases (${signal} again to exit at once)\n`);
    stopThenExit(signal, (e) => process.stderr.write(`migration-ci: ${errorMessage(e)}\n`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The reader of the output went away (`| head`): the run stops as a process would on SIGPIPE,
  // dropping its scratch databases first, and writes nothing more.
  const onOutputError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    // Nothing is written about a failed drop: the output is what went away.
    if (!stopping) stopThenExit('SIGPIPE', () => {});
  };
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  // Once a signal stops the run, what the run says while it falls over is noise.
  const quietWhenStopping = (write: (t: string) => void) => (t: string) => {
    if (!stopping) write(t);
  };
  const code = await runCli(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    stdout: quietWhenStopping((t) => process.stdout.write(t)),
    stderr: quietWhenStopping((t) => process.stderr.write(t)),
    isTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : process.stderr.isTTY && process.stderr.columns ? { columns: process.stderr.columns } : {}),
  });
  // The signal handler ends the process with 130/143 once the cleanup is done.
  if (stopping) return new Promise<void>(() => {});
  // The embedded server's exit hook ends the process with 0 on 'beforeExit': exit with our code
  // ourselves, once everything written has been flushed.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}
