import fs from 'node:fs';
import path from 'node:path';
import { buildConfig } from '../config.js';
import { maskPassword } from '../db/connect.js';
import { closeAllScratchServers } from '../db/scratch.js';
import { errorMessage, isInputError } from '../errors.js';
import { runPipeline } from '../pipeline.js';
import { formatWorkflowCommand, selectAnnotations } from '../report/annotations.js';
import { renderJson } from '../report/json.js';
import { formatProgress, renderTerminal } from '../report/terminal.js';
import { parseCliArgs, USAGE } from './args.js';
import { spawnCommand } from './command.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded.js';

export interface CliIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
}

const VERSION = '0.1.0';

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
    let databaseUrl = (args.raw.databaseUrl as string | undefined) || io.env.DATABASE_URL || '';
    if (!databaseUrl) {
      err('no --database-url or DATABASE_URL: starting an embedded Postgres 17\n');
      embedded = await startEmbeddedPostgres();
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
    if (config.reportJson) {
      fs.mkdirSync(path.dirname(config.reportJson), { recursive: true });
      fs.writeFileSync(config.reportJson, mask(renderJson(report)));
    }
    if (args.githubAnnotations) {
      const { annotations } = selectAnnotations(report);
      for (const a of annotations) out(`${formatWorkflowCommand(a)}\n`);
    }
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
  process.exitCode = code;
}
