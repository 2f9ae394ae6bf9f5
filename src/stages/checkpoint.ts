/**
 * The walk's state before the tool's generated rows: a second scratch database where every
 * migration is applied as written and nothing is ever seeded, so it holds exactly the rows the
 * migrations themselves inserted (a settings row, a default category). Nothing is paid for it
 * until a failure needs it; it then catches up with the walk and is cloned (CREATE DATABASE ...
 * TEMPLATE, which needs no other connection to it) to replace the walk's database.
 */
import type pg from 'pg';
import type { ApplyResult } from '../db/execute.js';
import type { ScratchDatabase } from '../db/scratch.js';
import type { StageContext } from './context.js';
import type { Stepper } from './steps.js';

export class PreSeedCheckpoint {
  private db: ScratchDatabase | undefined;
  private client: pg.Client | undefined;
  /** Index in `ctx.migrations` of the next migration it lacks. */
  private next = 0;
  /** Why it cannot be used any more: a migration failed on it. */
  private brokenBy: string | undefined;

  constructor(
    private readonly ctx: StageContext,
    private readonly connect: (db: ScratchDatabase) => Promise<pg.Client>,
    private readonly stepperFor: (client: pg.Client, db: ScratchDatabase) => Stepper,
  ) {}

  /** Why it cannot give a state any more, if it cannot. */
  get broken(): string | undefined {
    return this.brokenBy;
  }

  private async open(): Promise<{ client: pg.Client; db: ScratchDatabase }> {
    if (!this.db) {
      const t = this.ctx.baselineTemplate;
      this.db = await this.ctx.server.createDatabase(t?.name);
      this.next = t ? t.count : 0;
    }
    this.client ??= await this.connect(this.db);
    return { client: this.client, db: this.db };
  }

  /** Applies migration `index` and every one before it that it lacks; the last one's result. */
  async applyThrough(index: number): Promise<ApplyResult | undefined> {
    if (this.brokenBy) return undefined;
    if (this.next > index) return { ok: true, failure: undefined, durations: [] };
    const { client, db } = await this.open();
    const stepper = this.stepperFor(client, db);
    let last: ApplyResult | undefined;
    while (this.next <= index) {
      const prepared = this.ctx.migrations[this.next]!;
      last = await stepper.applyPlain(prepared);
      if (!last.ok) {
        this.brokenBy = prepared.migration.version;
        return this.next === index ? last : undefined;
      }
      this.next++;
    }
    return last;
  }

  /**
   * A connection to it with every migration up to `index` applied (none for -1), to read the rows
   * the migrations wrote; undefined when it cannot get there.
   */
  async clientAt(index: number): Promise<pg.Client | undefined> {
    if (this.next > index + 1) return undefined;
    if (index >= 0 && !(await this.applyThrough(index))?.ok) return undefined;
    return (await this.open()).client;
  }

  /** A new scratch database holding its state. */
  async copy(): Promise<ScratchDatabase> {
    const { db } = await this.open();
    // A template must have no open connection.
    await this.client?.end().catch(() => {});
    this.client = undefined;
    return this.ctx.server.createDatabase(db.name);
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {});
    this.client = undefined;
    // Dropped in the background: DROP DATABASE waits for a checkpoint of the whole server.
    if (this.db) this.ctx.server.retireDatabase(this.db.name);
    this.db = undefined;
  }
}
