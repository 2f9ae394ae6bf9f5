import type pg from 'pg';
import { applyStatements, transactionModeFor, type ApplyResult, type StatementFailure } from '../db/execute.js';
import type { Finding } from '../report/model.js';
import { positionInStatement, type ParsedSource } from '../sql/parse.js';
import { serverGrammarRefuses } from '../db/grammar.js';
import type { ScratchServer } from '../db/scratch.js';
import { PARSER_MAJOR } from '../sql/parse.js';
import type { PreparedMigration } from './context.js';
import { explainFailure } from './value-failures.js';

/** A statement stopped by our own limits: trying it again on the pre-seed state would only wait again. */
const TIMEOUTS: Record<string, { rule: string; why: string; hint: string }> = {
  '57014': {
    rule: 'statement-timeout',
    why: 'the statement ran longer than the statement timeout',
    hint: 'a statement that never ends (a loop, a wait) or one far too slow for a migration; raise --statement-timeout if it is expected',
  },
  '55P03': {
    rule: 'lock-timeout',
    why: 'the statement waited for a lock longer than the lock timeout',
    hint: 'something else held a lock on the table; in production this statement would queue behind it and block everyone after it',
  },
};

/** Findings for files the parser rejects, at the exact position; computed before anything runs. */
export function parseFindings(prepared: PreparedMigration): Finding[] {
  const out: Finding[] = [];
  for (const result of [prepared.up, prepared.down, prepared.verify]) {
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

/**
 * Files the bundled parser refuses, put to the server's own grammar: where it accepts every
 * refused statement, the file runs as the server reads it, with a notice per statement; where
 * it refuses one too, the file stays a parse error. Changes `migrations` in place.
 */
export async function trustServerGrammar(server: ScratchServer, migrations: PreparedMigration[], majorName: string): Promise<Finding[]> {
  const refused = migrations.flatMap((p) =>
    (['up', 'down', 'verify'] as const).flatMap((side) => {
      const r = p[side];
      return r && !r.ok && r.lenient ? [{ p, side, lenient: r.lenient }] : [];
    }),
  );
  if (refused.length === 0) return [];
  const db = await server.createDatabase();
  const findings: Finding[] = [];
  try {
    const client = await server.connect(db);
    try {
      for (const { p, side, lenient } of refused) {
        const unparsed = lenient.statements.filter((s) => s.unparsed);
        let accepted = unparsed.length > 0;
        for (const stmt of unparsed) {
          if (await serverGrammarRefuses(client, stmt.sql)) {
            accepted = false;
            break;
          }
        }
        if (!accepted) continue;
        p[side] = { ok: true, parsed: lenient };
        for (const stmt of unparsed) {
          findings.push({
            stage: 'syntax',
            severity: 'notice',
            rule: 'parsed-by-server',
            migration: p.migration.version,
            file: lenient.source.file,
            line: stmt.line,
            column: stmt.column,
            message: `the bundled parser (Postgres ${PARSER_MAJOR} grammar) refuses this statement (${stmt.unparsed!.message}) but Postgres ${majorName} parses it: it is applied as written, without static checks`,
          });
        }
      }
    } finally {
      await client.end().catch(() => {});
    }
  } finally {
    await server.dropDatabase(db.name);
  }
  return findings;
}

export function failureFinding(
  prepared: PreparedMigration,
  parsed: ParsedSource,
  failure: StatementFailure,
  rule: string,
  severity: Finding['severity'],
  message: string,
  hint?: string,
  runRole?: string,
): Finding {
  const at = positionInStatement(parsed, failure.statement, failure.position);
  const detail = [failure.detail, failure.where ? `context: ${failure.where}` : undefined].filter(Boolean).join('\n');
  const hints = [failure.hint, hint, runRole && failure.code === '42501' ? runRoleHint(runRole) : undefined].filter(Boolean).join('\n');
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

/** Why a migration lacks a privilege it would have had as the connecting role, and the way out. */
export function runRoleHint(runRole: string): string {
  return (
    `migrations run as ${runRole}, a role of this run that owns the scratch databases and may act nowhere else, so that SQL built at run time cannot do what the guard refuses; ` +
    'if the migration needs a superuser (a setting, an extension not marked trusted), allow-outside: superuser runs the migrations as the connecting role'
  );
}

/**
 * The up applied to the state before the generated rows; undefined when that state cannot be had.
 * `failed`: how the up failed on the filled tables (undefined for a migration tool's step), which
 * says whether the database is still as it was before the up.
 */
export type PreSeedTry = (failed: StatementFailure | undefined) => Promise<ApplyResult | undefined>;

export type UpOutcome = 'applied' | 'applied-pre-seed' | 'failed';

/**
 * Applies one migration under test on populated tables. When it fails, it is applied to the state
 * before the generated rows: failing there too, it is an error that stops the walk. Passing there,
 * the failure came from the rows: an error when any row would cause it (a NOT NULL column nothing
 * fills), else a warning naming the production rows that would; either way the walk goes on from
 * the pre-seed state with this migration applied.
 */
export async function applyUnderTest(
  client: pg.ClientBase,
  prepared: PreparedMigration,
  parsed: ParsedSource,
  findings: Finding[],
  preSeed: PreSeedTry,
  runRole?: string,
): Promise<UpOutcome> {
  const first = await applyStatements(client, parsed);
  if (first.ok) return 'applied';
  const failure = first.failure!;
  const timeout = TIMEOUTS[failure.code ?? ''];
  if (timeout) {
    findings.push(failureFinding(prepared, parsed, failure, timeout.rule, 'error', `${failure.message}: ${timeout.why}`, timeout.hint));
    return 'failed';
  }
  const clean = await preSeed(failure);
  if (!clean?.ok) {
    const real = clean?.failure ?? failure;
    const note = clean === undefined && failure.code?.startsWith('23') ? 'it may fail only because the tables hold rows' : undefined;
    findings.push(failureFinding(prepared, parsed, real, 'apply-failed', 'error', real.message, note, runRole));
    return 'failed';
  }
  const why = explainFailure(parsed, failure);
  if (why.anyRow) {
    findings.push(failureFinding(prepared, parsed, failure, 'fails-with-rows', 'error', `${failure.message}: ${why.rows}`, why.hint));
  } else {
    findings.push(
      failureFinding(prepared, parsed, failure, 'data-dependent', 'warning', `${failure.message} — fails on the generated test rows: ${why.rows}`, why.hint),
    );
  }
  return 'applied-pre-seed';
}

/**
 * Runs a migration's verify script (sqitch) right after its up. It only reads, so it runs in a
 * transaction that is rolled back, unless the script manages its own transaction.
 */
export async function runVerify(client: pg.ClientBase, prepared: PreparedMigration, findings: Finding[]): Promise<boolean> {
  const verify = prepared.verify;
  if (!verify?.ok) return true;
  const parsed = verify.parsed;
  const own = transactionModeFor(parsed) === 'none';
  if (!own) await client.query('BEGIN');
  let result;
  try {
    result = await applyStatements(client, parsed, { mode: own ? 'none' : 'caller' });
  } finally {
    if (!own) await client.query('ROLLBACK').catch(() => {});
  }
  if (result.ok) return true;
  const f = result.failure!;
  findings.push(failureFinding(prepared, parsed, f, 'verify-failed', 'error', `the verify script of ${prepared.migration.version} fails after its deploy: ${f.message}`));
  return false;
}
