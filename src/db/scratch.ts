import crypto from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { InputError, errorMessage } from '../errors.js';
import { connectWithRetry, describeServer, maskPassword, urlForDatabase } from './connect.js';
import { quoteIdent, quoteLiteral } from './quote.js';

export const SCRATCH_PREFIX = 'mci_';

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
  /** Run in every new database that is not a copy: what the migration tool would have created first. */
  private readonly setup: string | undefined;

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
    return new ScratchServer(url, admin, num, version, opts.setup);
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
    await this.admin.end().catch(() => {});
    open.delete(this);
    if (failures.length > 0) {
      throw new InputError('database', `could not drop scratch databases (drop them by hand): ${failures.join('; ')}`);
    }
  }
}

/** For signal handlers: drop the scratch databases of every open server of this process. */
export async function closeAllScratchServers(): Promise<void> {
  await Promise.allSettled([...open].map((s) => s.close()));
}
