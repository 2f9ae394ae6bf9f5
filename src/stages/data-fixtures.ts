/**
 * User data fixtures: `<version>.seed.sql` runs right before that migration's up, on the schema
 * as it is then; `<version>.assert.sql` runs right after it. Every statement of an assert file is
 * a query whose rows are violations: no rows passes.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.js';
import { applyStatements, checkStatement, isConnectionError } from '../db/execute.js';
import { isInputError } from '../errors.js';
import { listFolder, readSqlFile, relativePath } from '../migrations/files.js';
import type { Finding } from '../report/model.js';
import { positionInStatement, parseSource, statementHead, type ParsedSource, type ParseResult, type Statement } from '../sql/parse.js';
import type { PreparedMigration } from './context.js';

/** How many violating rows an assertion finding shows. */
export const SHOWN_ROWS = 5;
/** Longest value shown in a cell of those rows. */
const MAX_CELL = 60;

export interface VersionFixtures {
  seed?: ParseResult;
  assert?: ParseResult;
}

export interface LoadedFixtures {
  byVersion: Map<string, VersionFixtures>;
  /** Parse errors, files that match no migration, files that were not run. */
  findings: Finding[];
}

const FIXTURE_NAME = /^(.+)\.(seed|assert)\.sql$/;

/** Reads and parses the data-tests folder; a missing folder is bad input (exit 2). */
export function loadFixtures(config: Pick<Config, 'root' | 'dataTests'>, migrations: readonly PreparedMigration[]): LoadedFixtures {
  const byVersion = new Map<string, VersionFixtures>();
  const findings: Finding[] = [];
  if (config.dataTests === undefined) return { byVersion, findings };
  const versions = new Set(migrations.map((m) => m.migration.version));
  for (const entry of listFolder(config.root, config.dataTests, 'data-tests folder')) {
    if (!entry.isFile()) continue;
    const abs = path.join(config.dataTests, entry.name);
    const file = relativePath(config.root, abs);
    const m = FIXTURE_NAME.exec(entry.name);
    if (!m) {
      if (entry.name.toLowerCase().endsWith('.sql')) {
        findings.push({
          stage: 'data',
          severity: 'warning',
          rule: 'fixture-unmatched',
          file,
          message: `${file} was not run: data test files are named <version>.seed.sql or <version>.assert.sql`,
        });
      }
      continue;
    }
    const version = m[1]!;
    const kind = m[2] as 'seed' | 'assert';
    if (!versions.has(version)) {
      const sameNumber = (v: string) => /^\d+$/.test(v) && /^\d+$/.test(version) && BigInt(v) === BigInt(version);
      const near = [...versions].find((v) => version.startsWith(`${v}_`) || version.startsWith(`${v}-`) || sameNumber(v));
      findings.push({
        stage: 'data',
        severity: 'warning',
        rule: 'fixture-unmatched',
        file,
        message: `${file} matches no migration: there is no migration with version ${version}`,
        hint: near !== undefined ? `name it ${near}.${kind}.sql to run it with migration ${near}` : 'the file name must start with a migration version exactly as the migration file writes it',
      });
      continue;
    }
    const parsed = parseSource({ file, text: readSqlFile(config.root, abs) });
    if (!parsed.ok) {
      findings.push({
        stage: 'data',
        severity: 'error',
        rule: 'fixture-error',
        migration: version,
        file,
        line: parsed.error.line,
        column: parsed.error.column,
        message: parsed.error.message,
      });
    }
    const entryFor = byVersion.get(version) ?? {};
    entryFor[kind] = parsed;
    byVersion.set(version, entryFor);
  }
  return { byVersion, findings };
}

/** Runs a seed file as a migration runs (one transaction unless it manages its own); a failure is a finding at its line. */
export async function runSeed(client: pg.ClientBase, parsed: ParsedSource, version: string, seedRows: number): Promise<Finding | undefined> {
  const r = await applyStatements(client, parsed);
  if (r.ok) return undefined;
  const f = r.failure!;
  const at = positionInStatement(parsed, f.statement, f.position);
  const hints = [f.hint];
  if (f.code === '23505') {
    hints.push(
      `before the seed runs, every table already holds up to ${seedRows} generated rows (seed-rows), with integer keys from 1,000,001 upwards and unique values such as user1@example.com; give your rows keys and unique values that cannot collide with those, or leave keys to their defaults`,
    );
  }
  const hint = hints.filter(Boolean).join('\n');
  const detail = [f.detail, f.where ? `context: ${f.where}` : undefined].filter(Boolean).join('\n');
  return {
    stage: 'data',
    severity: 'error',
    rule: 'fixture-error',
    migration: version,
    file: parsed.source.file,
    line: at.line,
    column: at.column,
    message: `the seed for ${version} fails: ${f.message}`,
    ...(detail ? { detail } : {}),
    ...(hint ? { hint } : {}),
  };
}

/** SQLSTATEs of RAISE EXCEPTION and ASSERT in PL/pgSQL: an assertion written as a DO block that failed. */
const RAISED = new Set(['P0001', 'P0004']);

const RAW_TEXT = { getTypeParser: () => (value: string) => value };

interface QueryRows {
  fields: Array<{ name: string; dataTypeID: number }>;
  rows: Array<Array<string | null>>;
  total: number;
}

/**
 * Runs each statement of an assert file after `version`'s up, inside one transaction that is
 * rolled back: an assertion never changes what the next checks see.
 */
export async function runAsserts(client: pg.ClientBase, parsed: ParsedSource, version: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  await client.query('BEGIN');
  try {
    for (const stmt of parsed.statements) {
      if (stmt.transactionControl) {
        findings.push(
          fixtureFinding(parsed, stmt, version, 'fixture-error', `an assert file cannot manage transactions (${statementHead(stmt, 40)}): its assertions run in a transaction that is rolled back`),
        );
        continue;
      }
      await client.query('SAVEPOINT mci_assert');
      let result: QueryRows;
      try {
        result = await runQuery(client, stmt);
        await checkStatement(client, parsed, stmt);
        await client.query('RELEASE SAVEPOINT mci_assert');
      } catch (e) {
        if (isConnectionError(e) || isInputError(e)) throw e;
        await client.query('ROLLBACK TO SAVEPOINT mci_assert');
        findings.push(queryErrorFinding(parsed, stmt, e, version));
        continue;
      }
      if (result.total === 0) continue;
      const name = assertionName(stmt);
      findings.push({
        ...fixtureFinding(parsed, stmt, version, 'assert-failed', `assertion failed after ${version}: ${name} (${plural(result.total, 'row')} returned)`),
        detail: renderRows(result),
        hint: 'an assertion passes when its query returns no rows; the rows it returns are the violations',
      });
    }
  } finally {
    await client.query('ROLLBACK').catch((e) => {
      if (isConnectionError(e)) throw e;
    });
  }
  return findings;
}

/** Prefix put before a query to read it through a cursor; error positions are shifted back by its length. */
const CURSOR_PREFIX = 'DECLARE mci_assert_rows NO SCROLL CURSOR FOR ';

/**
 * A query runs through a cursor so that only the first rows come to Node and the rest are only
 * counted; statements a cursor cannot hold (DO, data-modifying WITH, ...) run as they are.
 */
async function runQuery(client: pg.ClientBase, stmt: Statement): Promise<QueryRows> {
  if (cursorable(stmt)) {
    try {
      await client.query(CURSOR_PREFIX + stmt.sql);
    } catch (e) {
      const err = e as { position?: string };
      if (err.position !== undefined) err.position = String(Math.max(1, Number(err.position) - CURSOR_PREFIX.length));
      throw e;
    }
    const first = await client.query({ text: `FETCH ${SHOWN_ROWS} FROM mci_assert_rows`, rowMode: 'array', types: RAW_TEXT });
    const rest = await client.query('MOVE FORWARD ALL IN mci_assert_rows');
    await client.query('CLOSE mci_assert_rows');
    return {
      fields: first.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      rows: first.rows as Array<Array<string | null>>,
      total: first.rows.length + (rest.rowCount ?? 0),
    };
  }
  const r = await client.query({ text: stmt.sql, rowMode: 'array', types: RAW_TEXT });
  // A statement that returns no result set (SET, CREATE TEMP TABLE) has nothing to violate.
  const rows = (Array.isArray(r.rows) ? r.rows : []) as Array<Array<string | null>>;
  return { fields: (r.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })), rows: rows.slice(0, SHOWN_ROWS), total: rows.length };
}

function cursorable(stmt: Statement): boolean {
  const select = stmt.node.SelectStmt as Record<string, unknown> | undefined;
  if (!select || select.intoClause) return false;
  const ctes = ((select.withClause as { ctes?: unknown[] } | undefined)?.ctes ?? []) as Array<{ CommonTableExpr?: { ctequery?: Record<string, unknown> } }>;
  return ctes.every((c) => Object.keys(c.CommonTableExpr?.ctequery ?? { SelectStmt: 1 })[0] === 'SelectStmt');
}

function queryErrorFinding(parsed: ParsedSource, stmt: Statement, e: unknown, version: string): Finding {
  const err = e as { message?: string; code?: string; detail?: string; hint?: string; where?: string; position?: string };
  const message = err.message ?? String(e);
  const at = positionInStatement(parsed, stmt, err.position ? Number(err.position) : undefined);
  const raised = RAISED.has(err.code ?? '');
  const detail = [err.detail, err.where ? `context: ${err.where}` : undefined].filter(Boolean).join('\n');
  return {
    stage: 'data',
    severity: 'error',
    rule: raised ? 'assert-failed' : 'fixture-error',
    migration: version,
    file: parsed.source.file,
    line: at.line,
    column: at.column,
    message: raised ? `assertion failed after ${version}: ${message}` : `the assertion cannot run after ${version}: ${message}`,
    ...(detail ? { detail } : {}),
    ...(err.hint ? { hint: err.hint } : {}),
  };
}

function fixtureFinding(parsed: ParsedSource, stmt: Statement, version: string, rule: string, message: string): Finding {
  return { stage: 'data', severity: 'error', rule, migration: version, file: parsed.source.file, line: stmt.line, column: stmt.column, message };
}

/** The comment right above an assertion names it; otherwise its first words do. */
export function assertionName(stmt: Statement): string {
  const lead = stmt.sql.slice(0, stmt.tokenStart - stmt.start);
  const comments: string[] = [];
  for (const m of lead.matchAll(/--([^\n]*)|\/\*([\s\S]*?)\*\//g)) {
    const text = (m[1] ?? m[2] ?? '').replace(/\s+/g, ' ').trim();
    if (text !== '') comments.push(text);
  }
  const last = comments[comments.length - 1];
  if (last !== undefined) return last.length > 100 ? `${last.slice(0, 99)}…` : last;
  return statementHead(stmt, 60);
}

function plural(n: number, one: string): string {
  return `${n} ${n === 1 ? one : `${one}s`}`;
}

// Types whose text form reads as a literal without quotes.
const BARE_TYPES = new Set([16, 20, 21, 23, 26, 700, 701, 1700]);

function cell(value: string | null, typeId: number): string {
  if (value === null) return 'NULL';
  const flat = value.replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t');
  const short = flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
  return BARE_TYPES.has(typeId) ? short : `'${short.replace(/'/g, "''")}'`;
}

/** The violating rows as a small aligned table; strings are quoted so '' and NULL stay apart. */
export function renderRows(result: QueryRows): string {
  const header = result.fields.map((f) => f.name);
  const body = result.rows.map((r) => r.map((v, i) => cell(v, result.fields[i]?.dataTypeID ?? 0)));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ').replace(/\s+$/, '');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)];
  if (result.total > result.rows.length) out.push(`(first ${result.rows.length} of ${result.total} rows)`);
  return out.join('\n');
}
