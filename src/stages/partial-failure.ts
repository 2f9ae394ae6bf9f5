/**
 * Partial failure. A migration that does not run in one transaction (CREATE INDEX CONCURRENTLY,
 * `transaction:false`, statements next to a concurrent one) keeps what ran before a failure.
 * For each point where it can stop half way, the state it leaves is built on a copy of the
 * database as it was before the migration, and two ways back are tried: running the up again
 * must complete and give the schema of one clean run, or the down must give back the schema
 * before it. A state neither recovers is an error naming the statement that failed; when it is
 * an INVALID index that a retry keeps (IF NOT EXISTS), the error gives the fix.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import { indexOids, invalidIndexes, markIndexesInvalid } from '../db/dependencies.js';
import { applyStatements, applyWhole, executionPlan } from '../db/execute.js';
import type { ScratchDatabase } from '../db/scratch.js';
import type { SchemaSnapshot } from '../db/schema-model.js';
import { snapshotSchema } from '../db/snapshot.js';
import type { Finding } from '../report/model.js';
import { rangeVarName, str, unwrap } from '../sql/nodes.js';
import { statementHead, type ParsedSource, type Statement } from '../sql/parse.js';
import type { PreparedMigration, StageContext } from './context.js';
import { changedObject, compareSnapshots } from './schema-diff.js';

/** Statements that commit together: a failure inside one undoes all of it, not what came before. */
type Unit = Statement[];

/** The commit units of an up, or undefined when it runs in one transaction. */
export function commitUnits(parsed: ParsedSource): Unit[] | undefined {
  const plan = executionPlan(parsed);
  const units: Unit[] = [];
  if (plan.mode === 'per-migration') {
    if (!plan.statements.some((s) => s.nonTransactional)) return undefined;
    for (const s of plan.statements) {
      const last = units[units.length - 1];
      if (!s.nonTransactional && last && !last[0]!.nonTransactional) last.push(s);
      else units.push([s]);
    }
    return units;
  }
  // Each statement commits alone, except inside a block the file opens itself.
  let block: Unit | undefined;
  for (const s of plan.statements) {
    const kind = str(unwrap(s.node, 'TransactionStmt')?.kind);
    if (block) {
      block.push(s);
      if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK') block = undefined;
    } else if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') {
      block = [s];
      units.push(block);
    } else {
      units.push([s]);
    }
  }
  return units.length > 0 ? units : undefined;
}

function isConcurrentIndex(unit: Unit): boolean {
  return unit.length === 1 && unit[0]!.kind === 'IndexStmt' && unit[0]!.nonTransactional;
}

interface Scenario {
  /** Units applied in full before the failure. */
  applied: number;
  /** The statement that fails. */
  failing: Statement;
  /** The failing statement is a concurrent index build that leaves its index INVALID. */
  invalidIndex: boolean;
}

function scenarios(units: Unit[]): Scenario[] {
  const out: Scenario[] = [];
  units.forEach((unit, i) => {
    if (i > 0) out.push({ applied: i, failing: unit[0]!, invalidIndex: false });
    if (isConcurrentIndex(unit)) out.push({ applied: i, failing: unit[0]!, invalidIndex: true });
  });
  return out;
}

const subset = (parsed: ParsedSource, statements: Statement[]): ParsedSource => ({ ...parsed, statements });

/**
 * A database that follows the walk with the schema only: it holds every migration before the
 * one under test, and is the template each partial state is copied from.
 */
export class PartialFailureChecker {
  private shadow: ScratchDatabase | undefined;
  private position = 0;
  private broken = false;

  constructor(private readonly ctx: StageContext) {}

  async check(prepared: PreparedMigration): Promise<Finding[]> {
    const up = prepared.up.ok ? prepared.up.parsed : undefined;
    const units = up && !prepared.migration.code ? commitUnits(up) : undefined;
    if (!up || !units || this.broken) return [];
    const list = scenarios(units);
    if (list.length === 0) return [];
    const index = this.ctx.migrations.indexOf(prepared);
    const shadow = await this.advance(index);
    if (!shadow) return [];
    const down = prepared.down?.ok ? prepared.down.parsed : undefined;
    const opts = { ignore: this.ctx.config.ignore, strictColumnOrder: this.ctx.config.strictColumnOrder, bookkeeping: this.ctx.bookkeeping };
    const before = await this.inCopy(shadow, (c) => snapshotSchema(c, opts));
    const clean = await this.inCopy(shadow, async (c) => {
      const r = await applyStatements(c, up);
      return r.ok ? snapshotSchema(c, opts) : undefined;
    });
    // The up fails on its own: the walk reports that; no partial state to speak of.
    if (!clean) return [];
    const findings: Finding[] = [];
    const reported = new Set<Statement>();
    for (const s of list) {
      if (reported.has(s.failing)) continue;
      const prefix = units.slice(0, s.applied).flat();
      const setUp = async (c: pg.Client, db: ScratchDatabase): Promise<string[] | undefined> => {
        if (prefix.length > 0 && !(await applyStatements(c, subset(up, prefix))).ok) return undefined;
        if (!s.invalidIndex) return [];
        const had = await indexOids(c);
        if (!(await applyStatements(c, subset(up, [s.failing]))).ok) return undefined;
        const made = [...(await indexOids(c))].filter((o) => !had.has(o));
        // Writing the catalog is the tool's own work, on a connection as the connecting role (the migrations' may not).
        if (made.length === 0) return undefined;
        const tool = await this.ctx.server.connectAsConnectingRole(db);
        try {
          if (!(await markIndexesInvalid(tool, made))) return undefined;
        } finally {
          await tool.end().catch(() => {});
        }
        return invalidIndexes(c);
      };
      const retry = await this.inCopy(shadow, async (c, db) => {
        const state = await setUp(c, db);
        if (!state) return undefined;
        const r = await applyStatements(c, up);
        if (!r.ok) return { ok: false as const, message: r.failure!.message };
        return { ok: true as const, differences: differences(clean, await snapshotSchema(c, opts)), invalid: await invalidIndexes(c) };
      });
      if (!retry) continue; // the state could not be built (a role that may not mark an index): nothing to say
      const keepsInvalid = retry.ok && retry.invalid.length > 0;
      if (retry.ok && !keepsInvalid && retry.differences.length === 0) continue;
      const back = down
        ? await this.inCopy(shadow, async (c, db) => {
            if (!(await setUp(c, db))) return undefined;
            const r = await applyStatements(c, down);
            if (!r.ok) return { ok: false as const, message: r.failure!.message };
            return { ok: true as const, differences: differences(before, await snapshotSchema(c, opts)) };
          })
        : undefined;
      if (back?.ok && back.differences.length === 0) continue;
      reported.add(s.failing);
      findings.push(keepsInvalid ? invalidIndexFinding(prepared, up, s.failing, retry.invalid) : unrecoverableFinding(prepared, up, s, retry, back));
    }
    return findings;
  }

  async close(): Promise<void> {
    if (this.shadow) await this.ctx.server.dropDatabase(this.shadow.name).catch(() => {});
    this.shadow = undefined;
  }

  /** The shadow database holding migrations [0, index). */
  private async advance(index: number): Promise<ScratchDatabase | undefined> {
    const template = this.ctx.baselineTemplate;
    if (!this.shadow) {
      this.shadow = await this.ctx.server.createDatabase(template?.name);
      this.position = template?.count ?? 0;
    }
    if (this.position < index) {
      const c = await this.ctx.server.connect(this.shadow);
      try {
        for (; this.position < index; this.position++) {
          const p = this.ctx.migrations[this.position]!;
          if (!p.up.ok || p.migration.code || !(await applyWhole(c, p.up.parsed)).ok) {
            this.broken = true;
            return undefined;
          }
        }
      } finally {
        await c.end().catch(() => {});
      }
    }
    return this.shadow;
  }

  private copyOf(shadow: ScratchDatabase): Promise<ScratchDatabase> {
    return copyWithRetry(() => this.ctx.server.createDatabase(shadow.name));
  }

  /** Runs `work` on a fresh copy of the shadow database, dropped afterwards. */
  private async inCopy<T>(shadow: ScratchDatabase, work: (c: pg.Client, db: ScratchDatabase) => Promise<T>): Promise<T> {
    const db = await this.copyOf(shadow);
    const c = await this.ctx.server.connect(db);
    try {
      await c.query(`SET statement_timeout = ${Math.trunc(this.ctx.config.statementTimeoutMs)}`);
      return await work(c, db);
    } finally {
      await c.end().catch(() => {});
      await this.ctx.server.dropDatabase(db.name).catch(() => {});
    }
  }
}

/** An autovacuum worker may visit the template for a moment: the copy is tried again then. */
async function copyWithRetry(create: () => Promise<ScratchDatabase>): Promise<ScratchDatabase> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (e) {
      if (attempt >= 5 || !/being accessed by other users/.test(errorMessage(e))) throw e;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

function differences(a: SchemaSnapshot, b: SchemaSnapshot): string[] {
  return compareSnapshots(a, b).map((c) => `${c.type} ${changedObject(c).key}`);
}

function where(up: ParsedSource, s: Statement): string {
  return `${up.source.file}:${s.line} (${statementHead(s, 60)})`;
}

function invalidIndexFinding(prepared: PreparedMigration, up: ParsedSource, failing: Statement, invalid: string[]): Finding {
  const v = prepared.migration.version;
  const index = unwrap(failing.node, 'IndexStmt');
  const name = str(index?.idxname) ?? invalid[0]!;
  const table = rangeVarName(index?.relation);
  return {
    stage: 'dependencies',
    severity: 'error',
    rule: 'invalid-index-left',
    migration: v,
    file: up.source.file,
    line: failing.line,
    column: failing.column,
    message: `if this CREATE INDEX CONCURRENTLY of ${v} fails half way, it leaves the INVALID index ${invalid.join(', ')}${table ? ` on ${table}` : ''}, and running the up again keeps it: queries never use it and every write still maintains it`,
    hint: `drop it first so that a retry builds it again: DROP INDEX CONCURRENTLY IF EXISTS ${name}; then CREATE INDEX CONCURRENTLY (without IF NOT EXISTS)`,
  };
}

type Attempt = { ok: false; message: string } | { ok: true; differences: string[] };

function unrecoverableFinding(prepared: PreparedMigration, up: ParsedSource, s: Scenario, retry: Attempt, back: Attempt | undefined): Finding {
  const v = prepared.migration.version;
  const describe = (a: Attempt, what: string) =>
    a.ok ? `${what} gives another schema (${a.differences.slice(0, 3).join(', ')}${a.differences.length > 3 ? ', ...' : ''})` : `${what} fails: ${a.message}`;
  const parts = [describe(retry, 'running the up again'), back ? describe(back, 'the down') : `${v} has no down`];
  return {
    stage: 'dependencies',
    severity: 'error',
    rule: 'partial-failure-unrecoverable',
    migration: v,
    file: up.source.file,
    line: s.failing.line,
    column: s.failing.column,
    message: `if ${v} fails at ${where(up, s.failing)}${s.invalidIndex ? ' half way' : ''}, what ran before it stays committed and neither way back works: ${parts.join('; ')}`,
    hint: 'make each step safe to run again (IF NOT EXISTS / IF EXISTS, DROP INDEX CONCURRENTLY IF EXISTS before a concurrent build), or move the transactional statements to a migration of their own',
  };
}
