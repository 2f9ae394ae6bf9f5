import crypto from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { InputError, errorMessage } from '../errors.js';
import { connectWithRetry, describeServer, maskPassword, urlForDatabase } from './connect.js';
import { quoteIdent, quoteLiteral } from './quote.js';
import { setStatementCheck } from './execute.js';
import { roleEscalation, snapshotRoles, type RoleSnapshot } from './roles.js';
import { createRunRole, dropRunRole, urlAsRole, type RunRole } from './run-role.js';

export const SCRATCH_PREFIX = 'mci_';

/**
 * Sessions in scratch databases commit without waiting for the WAL to reach the disk: a crash
 * loses only scratch work, and a flush per committed statement was a good part of a run's time.
 */
const SCRATCH_SESSION = '-c synchronous_commit=off';

// Runs whose migrations create roles take turns on a server: roles are the server's, and a run
// can only tell its own new roles apart while no other run creates any.
const ROLE_LOCK_KEY = 0x6d63_6972; // "mcir"

export interface ScratchDatabase {
  name: string;
  url: string;
}

const open = new Set<ScratchServer>();

/**
 * The user's server as we use it: one admin connection to the database named in the URL, which is
 * only read, and the scratch databases we create and always drop.
 */
export class ScratchServer {
  readonly url: string;
  readonly versionNum: number;
  /** "15.20", "17.10" */
  readonly version: string;
  private admin: pg.Client;
  private readonly created = new Set<string>();
  private readonly runId: string;
  private counter = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private unreachable = false;
  /** The server's roles when the run began, while it tracks roles. */
  private rolesAtStart: RoleSnapshot | undefined;
  private readonly markedRoles = new Set<string>();
  /** The roles at start that are the server's own, not left by an ended run. */
  private serverRoles: RoleSnapshot | undefined;
  /** The role the scratch databases' connections log in as, when the run has one. */
  private runRoleState: RunRole | undefined;
  /** Run in every new database that is not a copy: what the migration tool would have created first. */
  private readonly setup: string | undefined;
  /** Drops of databases no longer used, queued one after the other on the admin connection. */
  private retiring: Promise<void> = Promise.resolve();

  private constructor(url: string, admin: pg.Client, versionNum: number, version: string, setup: string | undefined) {
    this.url = url;
    this.setup = setup;
    this.admin = admin;
    this.versionNum = versionNum;
    this.version = version;
    // Time, pid and randomness: parallel jobs on one server never pick the same name.
    this.runId = `${Date.now().toString(36)}_${process.pid.toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
    open.add(this);
  }

  static async open(url: string, opts: { connectTimeoutMs: number; log?: (line: string) => void; setup?: string }): Promise<ScratchServer> {
    const admin = await connectWithRetry(url, { timeoutMs: opts.connectTimeoutMs, ...(opts.log ? { log: opts.log } : {}) });
    const r = await admin.query<{ num: string; v: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS v",
    );
    const num = Number(r.rows[0]!.num);
    // "17.10 (Debian ...)" -> "17.10"
    const version = r.rows[0]!.v.split(' ')[0]!;
    if (num < 120000) {
      await admin.end().catch(() => {});
      throw new InputError('database', `Postgres ${version} at ${describeServer(url)} is too old; migration-ci needs 12 or newer`);
    }
    const server = new ScratchServer(url, admin, num, version, opts.setup);
    await server.dropStaleDatabases(opts.log ?? (() => {}));
    return server;
  }

  /**
   * Scratch databases of runs of this host whose process is gone (killed, crashed): dropped, and
   * said. A live run's databases are never touched, nor another host's: other runs share servers.
   */
  private async dropStaleDatabases(log: (line: string) => void): Promise<void> {
    let rows: Array<{ datname: string; comment: string | null }>;
    try {
      const r = await this.admin.query<{ datname: string; comment: string | null }>(
        "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname LIKE 'mci\\_%' ORDER BY datname",
      );
      rows = r.rows;
    } catch {
      return;
    }
    const host = os.hostname();
    for (const { datname, comment } of rows) {
      const owner = comment ? parseScratchComment(comment) : undefined;
      if (!owner) {
        // Killed between CREATE DATABASE and its comment: whose it was cannot be told, only how old it is.
        const born = parseInt(datname.slice(SCRATCH_PREFIX.length).split('_')[0] ?? '', 36);
        if (Number.isFinite(born) && Date.now() - born > STALE_UNMARKED_MS) {
          log(`scratch database ${datname} has no owner comment and is over an hour old; if no run uses it, drop it with: DROP DATABASE ${quoteIdent(datname)};`);
        }
        continue;
      }
      if (owner.host !== host || owner.pid === process.pid || processAlive(owner.pid)) continue;
      try {
        // Sessions still in it are the dead run's own, left running by the server.
        await this.admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}${this.versionNum >= 130000 ? ' WITH (FORCE)' : ''}`);
        log(`dropped stale scratch database ${datname} of an ended run (pid ${owner.pid} on ${host})`);
      } catch (e) {
        log(`stale scratch database ${datname} of an ended run (pid ${owner.pid} on ${host}) could not be dropped: ${errorMessage(e)}; drop it with: DROP DATABASE ${quoteIdent(datname)} WITH (FORCE);`);
      }
    }
    await this.dropStaleRoles(log);
  }

  /** Roles marked as created by the migrations of a run of this host that has ended. */
  private async dropStaleRoles(log: (line: string) => void): Promise<void> {
    let rows: Array<{ rolname: string; comment: string }>;
    try {
      const r = await this.admin.query<{ rolname: string; comment: string }>(
        "SELECT rolname, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE 'migration-ci %role,%'",
      );
      rows = r.rows;
    } catch {
      return;
    }
    const host = os.hostname();
    for (const { rolname, comment } of rows) {
      const owner = parseRoleComment(comment);
      if (!owner || owner.host !== host || owner.pid === process.pid || processAlive(owner.pid)) continue;
      try {
        // A run's own role holds its grant on session_replication_role: revoked with it.
        await dropRunRole(this.admin, rolname);
        log(`dropped stale role ${rolname} ${owner.runRole ? 'of' : 'created by the migrations of'} an ended run (pid ${owner.pid} on ${host})`);
      } catch (e) {
        log(`stale role ${rolname} of an ended run (pid ${owner.pid} on ${host}) could not be dropped: ${errorMessage(e)}; drop it with: DROP OWNED BY ${quoteIdent(rolname)}; DROP ROLE ${quoteIdent(rolname)};`);
      }
    }
  }

  get createdDatabases(): string[] {
    return [...this.created];
  }

  /** A new empty database (or a copy of `template`, which must have no open connections). */
  async createDatabase(template?: string): Promise<ScratchDatabase> {
    if (this.closed) throw new Error('scratch server already closed');
    const name = `${SCRATCH_PREFIX}${this.runId}_${++this.counter}`;
    const from = (template ? ` TEMPLATE ${quoteIdent(template)}` : '') + (this.runRoleState ? ` OWNER ${quoteIdent(this.runRoleState.name)}` : '');
    // Registered first: a signal that arrives while CREATE DATABASE runs still drops it (the
    // DROP queues behind the CREATE on this connection).
    // Nothing awaited between the registration and the CREATE: a DROP queued in between would run first.
    if (this.rolesAtStart) await this.roles().catch(() => {});
    if (this.closed) throw new Error('scratch server already closed');
    this.created.add(name);
    try {
      await this.admin.query(`CREATE DATABASE ${quoteIdent(name)}${from}`);
    } catch (e) {
      this.created.delete(name);
      const code = (e as { code?: string }).code;
      if (code === '42501') {
        const role = decodeURIComponent(new URL(this.url).username) || 'the connecting role';
        throw new InputError(
          'database',
          `role ${role} may not create databases on ${describeServer(this.url).replace(/ as .*$/, '')}: migration-ci works only in scratch databases it creates and drops. ` +
            `Grant it with: ALTER ROLE ${quoteIdent(role)} CREATEDB;`,
        );
      }
      throw new InputError('database', maskPassword(`cannot create a scratch database: ${errorMessage(e)}`, this.url));
    }
    const note = scratchComment(process.pid, os.hostname());
    await this.admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(note)}`).catch(() => {});
    const db = { name, url: urlForDatabase(this.url, name) };
    if (this.setup && !template) {
      const client = await this.connect(db);
      try {
        await client.query(this.setup);
      } finally {
        await client.end().catch(() => {});
      }
    }
    return db;
  }

  /** The URL as the run's role (its password is a secret), when the run has one. */
  get runRoleUrl(): string | undefined {
    return this.runRoleState ? urlAsRole(this.url, this.runRoleState) : undefined;
  }

  /** The role the migrations run as, when the run has one. */
  get runRole(): string | undefined {
    return this.runRoleState?.name;
  }

  /**
   * From now on, connections to the scratch databases log in as a role of the run's own that may
   * do no more than own them (see run-role.ts). Call before the first database is created.
   * Undefined when it does; otherwise why not (the migrations then run as the connecting role).
   */
  async useRunRole(opts: { createRole: boolean; extensions: readonly string[]; roles: readonly string[] }): Promise<string | undefined> {
    if (this.runRoleState) return undefined;
    if (this.created.size > 0) throw new Error('the run role must be chosen before any scratch database exists');
    if (opts.roles.length > 0) {
      // Roles the server had before the run: changing them, or granting membership in them, is the connecting role's to do.
      const r = await this.admin.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY 1', [[...opts.roles]]);
      if (r.rows.length > 0) return `the migrations act on ${r.rows.map((x) => x.name).join(', ')}, which the server had before the run`;
    }
    if (opts.extensions.length > 0) {
      // Extensions only a superuser may create: the migrations need the connecting role's rights.
      const r = await this.admin.query<{ name: string }>(
        'SELECT DISTINCT name FROM pg_available_extension_versions WHERE superuser AND NOT trusted AND name = ANY($1::text[]) ORDER BY name',
        [[...opts.extensions]],
      );
      if (r.rows.length > 0) return `the migrations create ${r.rows.map((x) => x.name).join(', ')}, which only a superuser may create`;
    }
    const made = await createRunRole(this.admin, this.runId, { versionNum: this.versionNum, createRole: opts.createRole, comment: runRoleComment(process.pid, os.hostname()) });
    if ('unavailable' in made) return made.unavailable;
    this.runRoleState = made;
    return undefined;
  }

  /** True once {@link trackRoles} holds the server's role turn. */
  get tracksRoles(): boolean {
    return this.rolesAtStart !== undefined;
  }

  /**
   * From now until close, roles that appear on the server are this run's: they are compared by
   * the rollback stage and dropped when the run ends. Waits while another run tracks roles.
   */
  async trackRoles(log: (line: string) => void = () => {}): Promise<void> {
    if (this.rolesAtStart) return;
    const got = await this.admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [ROLE_LOCK_KEY]);
    if (!got.rows[0]!.ok) {
      log('waiting for another migration-ci run on this server whose migrations create roles');
      await this.admin.query('SELECT pg_advisory_lock($1)', [ROLE_LOCK_KEY]);
    }
    this.rolesAtStart = await snapshotRoles(this.admin);
    // Roles of ended runs that a run starting now may drop: not the server's own to watch.
    const left = await this.admin.query<{ name: string }>("SELECT rolname AS name FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE 'migration-ci %role,%'");
    const ended = new Set(left.rows.map((x) => x.name));
    this.serverRoles = new Map([...this.rolesAtStart].filter(([name]) => !ended.has(name)));
  }

  /**
   * The server's roles now (read on the admin connection). New ones are marked as this run's
   * with a comment, so that a run that is killed outright has its roles dropped by the next one.
   */
  async roles(): Promise<RoleSnapshot> {
    const now = await snapshotRoles(this.admin);
    if (this.rolesAtStart) {
      for (const role of now.keys()) {
        if (this.rolesAtStart.has(role) || this.markedRoles.has(role)) continue;
        await this.admin.query(`COMMENT ON ROLE ${quoteIdent(role)} IS ${quoteLiteral(roleComment(process.pid, os.hostname()))}`).catch(() => {});
        this.markedRoles.add(role);
      }
    }
    return now;
  }

  /**
   * Drops the roles that appeared since `since`, once the databases retired so far are gone
   * (objects in them depend on the roles): a stage that applies the migrations again in a
   * database of its own needs the server without the roles an earlier stage's migrations left.
   * The messages of those that could not be dropped.
   */
  async dropRolesSince(since: RoleSnapshot): Promise<string[]> {
    if (!this.rolesAtStart) return [];
    await this.retiring;
    const failures: string[] = [];
    for (const role of (await this.roles()).keys()) {
      if (since.has(role) || this.rolesAtStart.has(role)) continue;
      try {
        await this.adminQuery(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
      } catch (e) {
        failures.push(`role ${role}: ${errorMessage(e)}`);
      }
    }
    return failures;
  }

  /** Drops the roles that appeared since {@link trackRoles}; the messages of those that could not be dropped. */
  private async dropNewRoles(): Promise<string[]> {
    if (!this.rolesAtStart) return [];
    const failures: string[] = [];
    let now: RoleSnapshot;
    try {
      now = await this.roles();
    } catch (e) {
      return [`roles created by the migrations could not be listed: ${errorMessage(e)}`];
    }
    for (const role of now.keys()) {
      if (this.rolesAtStart.has(role)) continue;
      try {
        await this.adminQuery(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
      } catch (e) {
        failures.push(`role ${role}: ${errorMessage(e)} (drop it with: DROP OWNED BY ${quoteIdent(role)}; DROP ROLE ${quoteIdent(role)}; in each database it owns objects in)`);
      }
    }
    return failures;
  }

  /** The URL the migrations' connections and commands use: the run role's, when the run has one. */
  urlFor(db: ScratchDatabase): string {
    return this.runRoleState ? urlAsRole(db.url, this.runRoleState) : db.url;
  }

  /** Can the role the migrations run as create roles (the run's role with CREATEROLE, or a connecting role with CREATEROLE or superuser)? */
  async migrationsCanCreateRoles(): Promise<boolean> {
    if (this.runRoleState) return this.runRoleState.createRole;
    const r = await this.admin.query<{ can: boolean }>('SELECT rolsuper OR rolcreaterole AS can FROM pg_roles WHERE rolname = current_user');
    return r.rows[0]?.can === true;
  }

  /**
   * Before Postgres 16 the run's role with CREATEROLE could grant itself a predefined role with
   * access to the server (or any other role), so what the migrations do to roles is checked after
   * each of their statements; undefined when there is nothing to check, else why the run stops.
   */
  async roleEscalation(client: pg.ClientBase = this.admin): Promise<string | undefined> {
    if (!this.runRoleState?.createRole || this.versionNum >= 160000 || !this.serverRoles) return undefined;
    const found = await roleEscalation(client, this.runRoleState.name, this.serverRoles);
    return found === undefined
      ? undefined
      : `the migrations ${found}: on Postgres ${Math.floor(this.versionNum / 10000)} a role with CREATEROLE may do this, which would reach past the scratch databases (Postgres 16 and newer hold CREATEROLE to the roles it creates); ` +
          'if the migrations must, allow-outside: superuser runs them as the connecting role';
  }

  /** Connects to one of our scratch databases. */
  async connect(db: ScratchDatabase): Promise<pg.Client> {
    const client = await connectWithRetry(this.urlFor(db), { timeoutMs: 10_000, sessionOptions: SCRATCH_SESSION });
    if (this.runRoleState?.createRole && this.versionNum < 160000) setStatementCheck(client, (c) => this.roleEscalation(c));
    return client;
  }

  /** Connects to one of our scratch databases as the connecting role: for the tool's own work that the run's role may not do. */
  async connectAsConnectingRole(db: ScratchDatabase): Promise<pg.Client> {
    return connectWithRetry(db.url, { timeoutMs: 10_000, sessionOptions: SCRATCH_SESSION });
  }

  async dropDatabase(name: string): Promise<void> {
    if (!this.created.has(name)) throw new Error(`refusing to drop ${name}: not a scratch database of this run`);
    if (this.versionNum >= 130000) {
      await this.adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    } else {
      await this.adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
        name,
      ]);
      await this.adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    }
    this.created.delete(name);
  }

  /**
   * Drops a scratch database the run no longer uses, without waiting for it: DROP DATABASE waits
   * for a checkpoint of the whole server, which takes seconds on a busy one. The drops run in
   * turn on the admin connection; close() waits for them, and drops whatever one missed.
   */
  retireDatabase(name: string): void {
    // Only this run's scratch databases, never anything else.
    if (!this.created.has(name)) return;
    // Queued on the admin connection, behind any CREATE DATABASE already sent there: a signal's close() drops what is left.
    this.retiring = this.retiring.then(() => this.dropDatabase(name)).catch(() => {});
  }

  /** A query on the admin connection; a connection lost to a server restart is opened again once. */
  private async adminQuery(sql: string, params: unknown[] = []): Promise<void> {
    try {
      await this.admin.query(sql, params);
    } catch (e) {
      if ((e as { code?: string }).code !== undefined && !/^(57P|08|E)/.test((e as { code: string }).code)) throw e;
      // A server that is gone stays gone for this run: every later drop says so at once.
      if (this.unreachable) throw e;
      await this.admin.end().catch(() => {});
      try {
        this.admin = await connectWithRetry(this.url, { timeoutMs: 15_000 });
      } catch (again) {
        this.unreachable = true;
        throw again;
      }
      await this.admin.query(sql, params);
    }
  }

  /** Drops every scratch database this run created, then closes the admin connection. Safe to call twice. */
  close(): Promise<void> {
    // A second caller (a signal during the run's own close) waits for the same drops.
    this.closing ??= this.dropEverything();
    return this.closing;
  }

  private async dropEverything(): Promise<void> {
    this.closed = true;
    await this.retiring;
    const failures: Array<{ message: string; database?: string }> = [];
    // On the admin connection, one by one: a CREATE DATABASE still under way there finishes before its drop.
    for (const name of [...this.created]) {
      try {
        await this.dropDatabase(name);
      } catch (e) {
        failures.push({ message: `scratch database ${name}: ${errorMessage(e)}`, database: name });
      }
    }
    // Objects in the scratch databases depended on the roles: the databases went first.
    failures.push(...(await this.dropNewRoles()).map((message) => ({ message })));
    if (this.runRoleState) {
      const name = this.runRoleState.name;
      try {
        await dropRunRole(this.admin, name);
      } catch (e) {
        failures.push({ message: `role ${name}: ${errorMessage(e)} (drop it with: DROP ROLE ${quoteIdent(name)};)` });
      }
    }
    await this.admin.end().catch(() => {});
    open.delete(this);
    if (failures.length > 0) {
      const dbs = failures.filter((f) => f.database).map((f) => f.database!);
      const how = dbs.length > 0 ? `; drop them by hand on ${describeServer(this.url)}: ${dbs.map((d) => `DROP DATABASE IF EXISTS ${quoteIdent(d)} WITH (FORCE);`).join(' ')}` : '';
      throw new InputError('database', maskPassword(`could not drop what the run created: ${failures.map((f) => f.message).join('; ')}${how}`, this.url));
    }
  }
}

const STALE_UNMARKED_MS = 3600_000;

function scratchComment(pid: number, host: string): string {
  return `migration-ci scratch database, created ${new Date().toISOString()} by pid ${pid} on ${host}; safe to drop`;
}

function parseScratchComment(comment: string): { pid: number; host: string } | undefined {
  const m = /^migration-ci scratch database, created \S+ by pid (\d+) on (.+); safe to drop$/.exec(comment);
  return m ? { pid: Number(m[1]), host: m[2]! } : undefined;
}

function roleComment(pid: number, host: string): string {
  return `migration-ci role, created by the migrations of pid ${pid} on ${host}; safe to drop`;
}

function runRoleComment(pid: number, host: string): string {
  return `migration-ci run role, created by pid ${pid} on ${host}; safe to drop`;
}

function parseRoleComment(comment: string): { pid: number; host: string; runRole: boolean } | undefined {
  const m = /^migration-ci (run )?role, created by (?:the migrations of )?pid (\d+) on (.+); safe to drop$/.exec(comment);
  return m ? { pid: Number(m[2]), host: m[3]!, runRole: m[1] !== undefined } : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** For signal handlers: drop the scratch databases of every open server of this process. */
export async function closeAllScratchServers(): Promise<void> {
  await Promise.allSettled([...open].map((s) => s.close()));
}
