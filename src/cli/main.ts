import fs from 'node:fs';
import path from 'node:path';
import { buildConfig } from '../config.js';
import { maskPassword } from '../db/connect.js';
import { closeAllScratchServers } from '../db/scratch.js';
import { InputError, errorMessage, isInputError } from '../errors.js';
import { runPipeline } from '../pipeline.js';
import { formatWorkflowCommand, selectAnnotations } from '../report/annotations.js';
import { renderJson } from '../report/json.js';
import { mergeReports, parseReport } from '../report/merge.js';
import type { Report } from '../report/model.js';
import { renderSarif } from '../report/sarif.js';
import { renderSummary } from '../report/summary.js';
import { formatProgress, renderTerminal } from '../report/terminal.js';
import { VERSION } from '../version.js';
import { parseCliArgs, USAGE, type CliArgs } from './args.js';
import { spawnCommand } from './command.js';
import { embeddedMajor, startEmbeddedPostgres, type EmbeddedServer } from './embedded.js';

export interface CliIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
}

// The embedded server of the run in progress, so a signal can stop it too.
let activeEmbedded: EmbeddedServer | undefined;

/** The whole CLI as a function of argv and environment; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let embedded: EmbeddedServer | undefined;
  let secretUrl = '';
  const mask = (s: string) => (secretUrl ? maskPassword(s, secretUrl) : s);
  const out = (s: string) => io.stdout(mask(s));
  const err = (s: string) => io.stderr(mask(s));
  try {
    if (argv[0] === 'merge-reports') return await mergeCommand(parseCliArgs(argv.slice(1), { allowPositionals: true }), io);
    const args = parseCliArgs(argv);
    if (args.help) {
      out(USAGE);
      return 0;
    }
    if (args.version) {
      out(`migration-ci ${VERSION}\n`);
      return 0;
    }
    const color = args.color ?? (io.isTTY && !io.env.NO_COLOR);
    const postgresVersion = args.raw.postgresVersion as string | undefined;
    if (postgresVersion !== undefined && args.raw.databaseUrl) {
      throw new InputError('usage', '--postgres-version chooses the embedded server; it cannot be combined with --database-url');
    }
    // Asking for a major asks for the embedded server, over a DATABASE_URL in the environment.
    let databaseUrl = (args.raw.databaseUrl as string | undefined) || (postgresVersion === undefined ? io.env.DATABASE_URL : '') || '';
    if (!databaseUrl) {
      const major = embeddedMajor(postgresVersion);
      err(`${postgresVersion === undefined ? 'no --database-url or DATABASE_URL' : `--postgres-version ${major}`}: starting an embedded Postgres ${major}\n`);
      embedded = await startEmbeddedPostgres(undefined, major);
      activeEmbedded = embedded;
      databaseUrl = embedded.url;
    }
    secretUrl = databaseUrl;
    const config = buildConfig(io.cwd, { ...args.raw, databaseUrl });
    const report = await runPipeline(config, {
      log: (line) => err(`${line}\n`),
      progress: (event) => err(`${formatProgress(event, { color })}\n`),
      runCommand: spawnCommand,
    });
    writeFiles(report, config.reportJson, config.sarif, config.root, mask);
    if (args.githubAnnotations) printAnnotations(report, out);
    out(renderTerminal(report, { color }));
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
    await closeAllScratchServers();
    await embedded?.stop().catch(() => {});
    activeEmbedded = undefined;
  }
}

function writeFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function writeFiles(report: Report, reportJson: string | undefined, sarif: string | undefined, root: string, mask: (s: string) => string): void {
  if (reportJson) writeFile(reportJson, mask(renderJson(report)));
  if (sarif) writeFile(sarif, mask(renderSarif(report, { toolVersion: VERSION, srcRoot: root })));
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
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`migration-ci: ${signal}: dropping scratch databases\n`);
    void closeAllScratchServers()
      .then(() => activeEmbedded?.stop())
      .catch(() => {})
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(process.argv.slice(2), {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: process.stdout.isTTY === true,
  });
  // The embedded server's exit hook ends the process with 0 on 'beforeExit': exit with our code
  // ourselves, once everything written has been flushed.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}
