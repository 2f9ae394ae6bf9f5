import crypto from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { InputError, errorMessage } from '../errors.js';
import { connectWithRetry, describeServer, maskPassword, urlForDatabase } from './connect.js';
import { quoteIdent, quoteLiteral } from './quote.js';
import { snapshotRoles, type RoleSnapshot } from './roles.js';

export const SCRATCH_PREFIX = 'mci_';

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
  /** The server's roles when the run began, while it tracks roles. */
  private rolesAtStart: RoleSnapshot | undefined;

  private constructor(url: string, admin: pg.Client, versionNum: number, version: string) {
    this.url = url;
    this.admin = admin;
    this.versionNum = versionNum;
    this.version = version;
    // Time, pid and randomness: parallel jobs on one server never pick the same name.
    this.runId = `${Date.now().toString(36)}_${process.pid.toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
    open.add(this);
  }

  static async open(url: string, opts: { connectTimeoutMs: number; log?: (line: string) => void }): Promise<ScratchServer> {
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
    return new ScratchServer(url, admin, num, version);
  }

  get createdDatabases(): string[] {
    return [...this.created];
  }

  /** A new empty database (or a copy of `template`, which must have no open connections). */
  async createDatabase(template?: string): Promise<ScratchDatabase> {
    if (this.closed) throw new Error('scratch server already closed');
    const name = `${SCRATCH_PREFIX}${this.runId}_${++this.counter}`;
    const from = template ? ` TEMPLATE ${quoteIdent(template)}` : '';
    try {
      await this.admin.query(`CREATE DATABASE ${quoteIdent(name)}${from}`);
    } catch (e) {
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
    this.created.add(name);
    const note = `migration-ci scratch database, created ${new Date().toISOString()} by pid ${process.pid} on ${os.hostname()}; safe to drop`;
    await this.admin.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(note)}`).catch(() => {});
    return { name, url: urlForDatabase(this.url, name) };
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
  }

  /** The server's roles now (read on the admin connection). */
  async roles(): Promise<RoleSnapshot> {
    return snapshotRoles(this.admin);
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

  /** Connects to one of our scratch databases. */
  async connect(db: ScratchDatabase): Promise<pg.Client> {
    return connectWithRetry(db.url, { timeoutMs: 10_000 });
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

  /** A query on the admin connection; a connection lost to a server restart is opened again once. */
  private async adminQuery(sql: string, params: unknown[] = []): Promise<void> {
    try {
      await this.admin.query(sql, params);
    } catch (e) {
      if ((e as { code?: string }).code !== undefined && !/^(57P|08|E)/.test((e as { code: string }).code)) throw e;
      await this.admin.end().catch(() => {});
      this.admin = await connectWithRetry(this.url, { timeoutMs: 15_000 });
      await this.admin.query(sql, params);
    }
  }

  /** Drops every scratch database this run created, then closes the admin connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: string[] = [];
    for (const name of [...this.created]) {
      try {
        await this.dropDatabase(name);
      } catch (e) {
        failures.push(`${name}: ${errorMessage(e)}`);
      }
    }
    // Objects in the scratch databases depended on the roles: the databases went first.
    failures.push(...(await this.dropNewRoles()));
    await this.admin.end().catch(() => {});
    open.delete(this);
    if (failures.length > 0) {
      throw new InputError('database', `could not drop everything the run created (drop it by hand): ${failures.join('; ')}`);
    }
  }
}

/** For signal handlers: drop the scratch databases of every open server of this process. */
export async function closeAllScratchServers(): Promise<void> {
  await Promise.allSettled([...open].map((s) => s.close()));
}
