import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { listUserTables } from '../db/catalog.js';
import { applyStatements, transactionModeFor, type StatementFailure } from '../db/execute.js';
import { quoteQualified } from '../db/quote.js';
import { seedTables } from '../db/seed.js';
import type { Finding } from '../report/model.js';
import { positionInStatement, type ParsedSource } from '../sql/parse.js';
import { emptyOutcome, type PreparedMigration, type StageContext, type StageOutcome } from './context.js';

/** SQLSTATEs that any existing row triggers, whatever its values: NOT NULL on a column with no value. */
const ANY_ROW_FAILS = new Set(['23502']);

/** Findings for files the parser rejects, at the exact position; computed before anything runs. */
export function parseFindings(prepared: PreparedMigration): Finding[] {
  const out: Finding[] = [];
  for (const result of [prepared.up, prepared.down]) {
    if (result && !result.ok) {
      out.push({
        stage: 'syntax',
        severity: 'error',
        rule: 'parse-error',
        migration: prepared.migration.version,
        file: result.source.file,
        line: result.error.line,
        column: result.error.column,
        message: result.error.message,
      });
    }
  }
  return out;
}

function failureFinding(
  prepared: PreparedMigration,
  parsed: ParsedSource,
  failure: StatementFailure,
  rule: string,
  severity: Finding['severity'],
  message: string,
  hint?: string,
): Finding {
  const at = positionInStatement(parsed, failure.statement, failure.position);
  const detail = [failure.detail, failure.where ? `context: ${failure.where}` : undefined].filter(Boolean).join('\n');
  const hints = [failure.hint, hint].filter(Boolean).join('\n');
  return {
    stage: 'syntax',
    severity,
    rule,
    migration: prepared.migration.version,
    file: parsed.source.file,
    line: at.line,
    column: at.column,
    message,
    ...(detail ? { detail } : {}),
    ...(hints ? { hint: hints } : {}),
  };
}

async function truncateAll(client: pg.ClientBase): Promise<void> {
  const tables = await listUserTables(client);
  if (tables.length === 0) return;
  await client.query(`TRUNCATE ${tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')} CASCADE`);
}

/**
 * Does the migration pass when every table is empty? Tried inside a transaction that is rolled
 * back, so the database is left exactly as it was. Undefined when it cannot be tried that way.
 */
async function passesOnEmptyTables(client: pg.ClientBase, parsed: ParsedSource): Promise<boolean | undefined> {
  if (transactionModeFor(parsed) !== 'per-migration' || parsed.statements.some((s) => s.nonTransactional)) return undefined;
  await client.query('BEGIN');
  try {
    await truncateAll(client);
    const r = await applyStatements(client, parsed, { mode: 'caller' });
    return r.ok;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

type Applied = 'applied' | 'applied-empty' | 'failed';

/**
 * Applies one migration under test on populated tables. When it fails, tells apart a failure any
 * row would cause (an error) from one that depends on the generated values (a warning; the
 * migration is then applied to empty tables so the run goes on).
 */
export async function applyUnderTest(
  client: pg.ClientBase,
  prepared: PreparedMigration,
  parsed: ParsedSource,
  findings: Finding[],
): Promise<Applied> {
  const first = await applyStatements(client, parsed);
  if (first.ok) return 'applied';
  const failure = first.failure!;
  const onEmpty = failure.partiallyApplied ? undefined : await passesOnEmptyTables(client, parsed);
  if (onEmpty !== true) {
    const note = onEmpty === undefined && failure.code?.startsWith('23') ? 'it may fail only because the tables hold rows' : undefined;
    findings.push(failureFinding(prepared, parsed, failure, 'apply-failed', 'error', failure.message, note));
    return 'failed';
  }
  if (ANY_ROW_FAILS.has(failure.code ?? '')) {
    findings.push(
      failureFinding(
        prepared,
        parsed,
        failure,
        'fails-with-rows',
        'error',
        `${failure.message} — this migration passes on empty tables but fails on any table that holds rows`,
        'give the new column a DEFAULT, or add it nullable, backfill it, then SET NOT NULL',
      ),
    );
    return 'failed';
  }
  findings.push(
    failureFinding(
      prepared,
      parsed,
      failure,
      'data-dependent',
      'warning',
      `${failure.message} — fails on the generated test rows; existing production rows may violate it too`,
      'check the production data for rows this statement rejects before deploying',
    ),
  );
  await truncateAll(client);
  const second = await applyStatements(client, parsed);
  if (!second.ok) {
    findings.push(failureFinding(prepared, parsed, second.failure!, 'apply-failed', 'error', second.failure!.message));
    return 'failed';
  }
  return 'applied-empty';
}

/**
 * Stage 1: every migration applies, in order, on top of the ones before it, on tables that hold rows.
 */
export async function runSyntaxStage(ctx: StageContext): Promise<StageOutcome> {
  const outcome = emptyOutcome('syntax');
  const { findings, perMigration } = outcome;
  const db = await ctx.server.createDatabase();
  const client = await ctx.server.connect(db);
  const seedNoticeSeen = new Set<string>();
  try {
    let stopped: string | undefined;
    const notReached: string[] = [];
    for (const prepared of ctx.migrations) {
      const m = prepared.migration;
      if (stopped) {
        perMigration.set(m.version, 'skip');
        notReached.push(m.version);
        continue;
      }
      const t0 = performance.now();
      // Parse errors were reported before anything ran; a broken up stops the walk, a broken down does not.
      const downBroken = prepared.down !== undefined && !prepared.down.ok;
      if (!prepared.up.ok) {
        perMigration.set(m.version, 'fail');
        stopped = m.version;
        ctx.progress({ kind: 'migration', stage: 'syntax', version: m.version, name: m.name, status: 'fail', durationMs: 0 });
        continue;
      }
      const parsed = prepared.up.parsed;
      if (!m.underTest) {
        const r = await applyStatements(client, parsed);
        if (!r.ok) {
          findings.push(failureFinding(prepared, parsed, r.failure!, 'baseline-failed', 'error', `baseline migration fails: ${r.failure!.message}`));
          perMigration.set(m.version, 'fail');
          stopped = m.version;
        }
        ctx.progress({
          kind: 'migration',
          stage: 'syntax',
          version: m.version,
          name: m.name,
          status: r.ok ? 'baseline' : 'fail',
          durationMs: performance.now() - t0,
        });
        continue;
      }
      const seed = await seedTables(client, { rows: ctx.config.seedRows });
      for (const n of seed.notices) {
        const key = `${n.table}\u0000${n.message}`;
        if (seedNoticeSeen.has(key)) continue;
        seedNoticeSeen.add(key);
        findings.push({
          stage: 'syntax',
          severity: 'notice',
          rule: 'table-not-filled',
          migration: m.version,
          message: `table ${n.table} could not be filled with test rows before ${m.version}, so ${m.version} met it empty: ${n.message}`,
        });
      }
      const applied = await applyUnderTest(client, prepared, parsed, findings);
      const status = applied === 'failed' || downBroken ? 'fail' : applied === 'applied-empty' ? 'warn' : 'pass';
      perMigration.set(m.version, status);
      if (applied === 'failed') stopped = m.version;
      ctx.progress({
        kind: 'migration',
        stage: 'syntax',
        version: m.version,
        name: m.name,
        status,
        durationMs: performance.now() - t0,
        ...(seed.seeded.length > 0 ? { note: `on ${seed.seeded.length} populated table${seed.seeded.length === 1 ? '' : 's'}` } : {}),
      });
    }
    if (stopped && notReached.length > 0) {
      findings.push({
        stage: 'syntax',
        severity: 'notice',
        rule: 'not-reached',
        message: `not reached because ${stopped} failed: ${notReached.join(', ')}`,
      });
    }
  } finally {
    await client.end().catch(() => {});
    await ctx.server.dropDatabase(db.name).catch(() => {});
  }
  return outcome;
}
