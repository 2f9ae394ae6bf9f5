import fs from 'node:fs';
import pg from 'pg';
import { InputError, errorMessage } from '../errors.js';

export interface ConnectOptions {
  /** Keep retrying until this many ms have passed since the first attempt. */
  timeoutMs: number;
  log?: (line: string) => void;
  /** Settings for the session, as libpq's `options` (`-c name=value`), after any the URL gives. */
  sessionOptions?: string;
}

/** "host:port as user" for messages; never the password. */
export function describeServer(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || decodeURIComponent(u.searchParams.get('host') ?? '') || 'localhost';
    const user = decodeURIComponent(u.username) || 'the default user';
    return `${host}:${u.port || '5432'} as ${user}`;
  } catch {
    return 'the database server';
  }
}

/** Replaces the URL's password wherever it appears in a text (driver messages can echo input). */
export function maskPassword(text: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return text;
  }
  if (password.length < 1) return text;
  return text.split(password).join('***');
}

// Errors that mean "not there yet": a service container still starting, a server restarting.
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);
// Errors a retry cannot mend, given a few tries in case the server is mid-initialisation.
const FINAL_AFTER_FEW = new Set(['28P01', '28000', '3D000', '42501']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function codeOf(e: unknown): string | undefined {
  const err = e as { code?: unknown; errors?: unknown[] };
  if (typeof err?.code === 'string') return err.code;
  // Node reports a refused dual-stack connect as an AggregateError.
  if (Array.isArray(err?.errors)) return codeOf(err.errors[0]);
  return undefined;
}

function explain(code: string | undefined, e: unknown): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening on that port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case '28P01':
      return 'password authentication failed';
    case '3D000':
      return errorMessage(e);
    default:
      return errorMessage(e) || code || 'unknown error';
  }
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
type SslMode = (typeof SSL_MODES)[number];
const SSL_FILES = { sslrootcert: 'ca', sslcert: 'cert', sslkey: 'key' } as const;

/**
 * The client settings for a URL, with libpq's meaning of `sslmode` (the driver's own reading
 * differs: it has no fallback for `prefer` and `allow`). A certificate file that cannot be read
 * and an unknown sslmode are named, exit 2.
 */
function clientSettings(url: string): { config: pg.ClientConfig; mode: SslMode | undefined } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { config: { connectionString: url }, mode: undefined };
  }
  const raw = u.searchParams.get('sslmode') ?? undefined;
  if (raw !== undefined && !(SSL_MODES as readonly string[]).includes(raw)) {
    throw new InputError('usage', `sslmode "${raw}" in the database URL is not one of ${SSL_MODES.filter((m) => m !== 'no-verify').join(', ')}`);
  }
  const mode = raw as SslMode | undefined;
  const ssl: Record<string, unknown> = {};
  for (const [param, key] of Object.entries(SSL_FILES)) {
    const file = u.searchParams.get(param);
    if (file === null) continue;
    try {
      ssl[key] = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError('input', `cannot read ${param} ${file} of the database URL: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
    }
  }
  for (const p of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat']) u.searchParams.delete(p);
  const hasFiles = Object.keys(ssl).length > 0;
  if (mode === undefined && !hasFiles) return { config: { connectionString: u.toString() }, mode };
  if (mode === 'disable') return { config: { connectionString: u.toString(), ssl: false }, mode };
  // require without a CA, prefer, allow: encrypted, not verified. With a CA, require is verify-ca.
  if (mode === 'verify-ca' || (mode === 'require' && ssl.ca !== undefined)) ssl.checkServerIdentity = () => undefined;
  else if (mode !== 'verify-full' && mode !== undefined) ssl.rejectUnauthorized = false;
  return { config: { connectionString: u.toString(), ssl }, mode };
}

/** The server refused what was tried first; libpq tries the other way for these modes. */
function fallbackFor(mode: SslMode | undefined, e: unknown, config: pg.ClientConfig): pg.ClientConfig | undefined {
  const msg = errorMessage(e);
  if (mode === 'prefer' && config.ssl && /does not support SSL/i.test(msg)) return { ...config, ssl: false };
  if (mode === 'allow' && config.ssl === false && codeOf(e) === '28000') return { ...config, ssl: { rejectUnauthorized: false } };
  return undefined;
}

/**
 * The URL's own `options` followed by `extra`: a connection string's parameters override the
 * client's settings, so the URL's are taken out of it and joined with ours.
 */
function withSessionOptions(config: pg.ClientConfig, extra: string | undefined): pg.ClientConfig {
  if (!extra) return config;
  let fromUrl: string | undefined;
  let connectionString = config.connectionString;
  if (connectionString) {
    try {
      const u = new URL(connectionString);
      fromUrl = u.searchParams.get('options') ?? undefined;
      u.searchParams.delete('options');
      connectionString = u.toString();
    } catch {
      // Not a URL: pg reads it as it is, and our settings come after.
    }
  }
  const options = [fromUrl, config.options, extra].filter((o) => o).join(' ');
  return { ...config, ...(connectionString !== undefined ? { connectionString } : {}), options };
}

/** Opens a connection, retrying with backoff while the server is not (yet) reachable. */
export async function connectWithRetry(url: string, opts: ConnectOptions): Promise<pg.Client> {
  const started = Date.now();
  let delay = 200;
  let attempts = 0;
  const settings = clientSettings(url);
  // allow: unencrypted first, as libpq does.
  let config: pg.ClientConfig = settings.mode === 'allow' ? { ...settings.config, ssl: false } : settings.config;
  for (;;) {
    attempts++;
    const client = new pg.Client({
      ...withSessionOptions(config, opts.sessionOptions),
      connectionTimeoutMillis: Math.max(1000, Math.min(10_000, opts.timeoutMs)),
      application_name: 'migration-ci',
    });
    // An error after connect (server gone) must not crash the process; the query in flight fails instead.
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      await client.end().catch(() => {});
      const other = fallbackFor(settings.mode, e, config);
      if (other) {
        config = other;
        continue;
      }
      const code = codeOf(e);
      const elapsed = Date.now() - started;
      const retryable = TRANSIENT.has(code ?? '') || (FINAL_AFTER_FEW.has(code ?? '') && attempts < 3);
      if (!retryable || elapsed + delay > opts.timeoutMs) {
        const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts over ${Math.round(elapsed / 1000)}s`;
        const hint = code === '42501' ? ' (the role may not log in or lacks CONNECT on that database)' : '';
        throw new InputError(
          'database',
          maskPassword(`cannot connect to Postgres at ${describeServer(url)}: ${explain(code, e)}${hint} (${tries})`, url),
        );
      }
      opts.log?.(`waiting for Postgres at ${describeServer(url)}: ${maskPassword(explain(code, e), url)}`);
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/** The same server and credentials, another database. */
export function urlForDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
