/**
 * The user's data test command: run once the migrations under test are applied, against the
 * scratch database, through the front end's command runner.
 */
import type { Config } from '../config.js';
import { maskPassword } from '../db/connect.js';
import type { ScratchDatabase } from '../db/scratch.js';
import type { Finding } from '../report/model.js';
import { outputTail, type CommandRunner } from '../command-runner.js';

/** setTimeout's ceiling (about 24 days): what "no timeout" means to a runner. */
const NO_TIMEOUT_MS = 2_147_483_647;

/** DATABASE_URL and the libpq variables (PGHOST...), so that psql, ORMs and test frameworks all find the scratch database. */
export function databaseEnv(db: ScratchDatabase): Record<string, string> {
  const env: Record<string, string> = { DATABASE_URL: db.url };
  const u = new URL(db.url);
  const socketHost = u.searchParams.get('host');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || socketHost || '';
  if (host) env.PGHOST = host;
  env.PGPORT = u.port || '5432';
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  env.PGDATABASE = db.name;
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

export async function runDataTestCommand(
  command: string,
  runner: CommandRunner | undefined,
  db: ScratchDatabase,
  config: Pick<Config, 'root' | 'statementTimeoutMs' | 'databaseUrl'>,
): Promise<Finding | undefined> {
  if (!runner) {
    return {
      stage: 'data',
      severity: 'error',
      rule: 'test-command-failed',
      message: 'a data test command is set, but this way of running migration-ci cannot run commands; it was not run',
    };
  }
  const timeoutMs = config.statementTimeoutMs > 0 ? Math.min(config.statementTimeoutMs, NO_TIMEOUT_MS) : NO_TIMEOUT_MS;
  const r = await runner(command, { cwd: config.root, env: databaseEnv(db), timeoutMs });
  if (r.exitCode === 0 && !r.timedOut) return undefined;
  const mask = (s: string) => maskPassword(maskPassword(s, db.url), config.databaseUrl);
  const tail = mask(outputTail(r.output));
  const why = r.timedOut ? `was stopped after ${Math.round(timeoutMs / 1000)} s (statement-timeout)` : `failed with exit code ${r.exitCode}`;
  return {
    stage: 'data',
    severity: 'error',
    rule: 'test-command-failed',
    message: mask(`the data test command ${why}: ${command}`),
    ...(tail.trim() !== '' ? { detail: tail } : { detail: '(no output)' }),
  };
}
