/**
 * Stage 5, dependencies. Postgres records no dependency for what a function body reads (it is
 * a string) and checks PL/pgSQL only when it runs, so a migration that drops or renames a column
 * breaks the function, or the trigger calling it, on its next call in production. Riding along
 * the walk, before each migration under test, after its up and after its down, this stage plans
 * every routine, view and policy the migration could reach, and the running release's queries:
 *
 * - SQL routines: the language's validator (parse analysis of each statement of the body);
 * - PL/pgSQL routines: the body parsed by the PL/pgSQL parser, each embedded statement planned
 *   (PREPARE) with its variables as typed parameters, NEW and OLD as each trigger table's row;
 * - views and policies: a statement over them;
 * - queries: each planned as it is, `$n` parameters left for Postgres to infer.
 *
 * What planned before and fails after is an error naming the statement of the migration that
 * removed what it misses; what failed already before is a notice, never blamed on the migration.
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import {
  listCheckables,
  planStatement,
  prepareCheckSession,
  resolveTypeNames,
  routineDetails,
  validateSqlRoutine,
  type RoutineRow,
} from '../db/dependencies.js';
import type { Finding, StageStatus } from '../report/model.js';
import { statementNames } from '../sql/names.js';
import type { ParsedSource } from '../sql/parse.js';
import { bindVariables } from '../sql/plpgsql-bind.js';
import { readPlpgsqlFunction, type PlpgsqlBody } from '../sql/plpgsql.js';
import { tableTouches } from '../sql/touched.js';
import { emptyOutcome, type StageContext } from './context.js';
import { blameStatement, missingObjectOf } from './dependency-blame.js';
import { PartialFailureChecker } from './partial-failure.js';
import { loadQueries, type AppQuery } from './queries.js';
import { applySessionLimits, type WalkObserver, type WalkStep } from './walk.js';

interface Failure {
  message: string;
  /** The body's statement that fails (PL/pgSQL), with its line in the body. */
  statement?: string;
  lineno?: number;
  writes: boolean;
}

interface Checked {
  key: string;
  /** `function user_contact(bigint)`, `view active_users`, `query at queries/app.sql:3`. */
  label: string;
  kind: 'routine' | 'relation' | 'query';
  /** The definition: a replaced routine is told from an untouched one. */
  definition: string;
  failure: Failure | undefined;
  query?: AppQuery;
}

type Round = Map<string, Checked>;

/** Words of a text, lower case: what decides whether a migration can reach an object. */
const words = new Map<string, Set<string>>();
function wordsOf(text: string): Set<string> {
  let w = words.get(text);
  if (!w) {
    w = new Set(text.toLowerCase().match(/[\p{L}_][\p{L}\p{N}_$]*/gu) ?? []);
    if (words.size > 20_000) words.clear();
    words.set(text, w);
  }
  return w;
}

/** Identifiers no object depends on through them alone. */
const NOISE = new Set(['public', 'pg_catalog']);

/**
 * The names a migration's up and down mention, lower case; undefined when what it changes cannot
 * be told from the parse tree (a DO block, a function call, a migration tool's step): then every
 * object is checked.
 */
function reachableNames(up: ParsedSource | undefined, down: ParsedSource | undefined): Set<string> | undefined {
  if (!up) return undefined;
  const statements = [...up.statements, ...(down?.statements ?? [])];
  if (tableTouches(statements).opaque.length > 0) return undefined;
  const out = new Set<string>();
  for (const s of statements) for (const n of statementNames(s)) if (!n.startsWith('@') && !NOISE.has(n)) out.add(n.toLowerCase());
  return out;
}

function reaches(names: Set<string> | undefined, ...texts: string[]): boolean {
  if (!names) return true;
  for (const t of texts) for (const w of wordsOf(t)) if (names.has(w)) return true;
  return false;
}

const TRIGGER_VARIABLES: Record<string, string> = {
  tg_name: 'name',
  tg_when: 'text',
  tg_level: 'text',
  tg_op: 'text',
  tg_relid: 'oid',
  tg_relname: 'name',
  tg_table_name: 'name',
  tg_table_schema: 'name',
  tg_nargs: 'integer',
  tg_argv: 'text[]',
  found: 'boolean',
  sqlstate: 'text',
  sqlerrm: 'text',
};

function routineLabel(r: RoutineRow): string {
  const name = r.schema === 'public' ? r.name : `${r.schema}.${r.name}`;
  return `${r.returnsTrigger ? 'trigger function' : r.kind} ${name}(${r.identity})`;
}

class Checker {
  private readonly bodies = new Map<string, PlpgsqlBody | null>();

  constructor(
    private readonly client: pg.Client,
    private readonly queries: readonly AppQuery[],
  ) {}

  async round(names: Set<string> | undefined, only?: ReadonlySet<string>): Promise<Round> {
    const out: Round = new Map();
    const wanted = (key: string, ...texts: string[]) => (only ? only.has(key) : reaches(names, ...texts));
    const listed = await listCheckables(this.client);
    // Keys carry the identity arguments, which only the details tell: `only` is matched by name first.
    const onlyNames = only && new Set([...only].map((k) => k.replace(/\(.*$/, '')));
    const reachable = listed.routines.filter((r) => (onlyNames ? onlyNames.has(`routine ${r.schema}.${r.name}`) : reaches(names, r.name, r.source)));
    for (const r of await routineDetails(this.client, reachable.map((x) => x.oid))) {
      const key = `routine ${r.schema}.${r.name}(${r.identity})`;
      if (only && !only.has(key)) continue;
      const failure = await this.routine(r);
      if (failure === null) continue;
      out.set(key, { key, label: routineLabel(r), kind: 'routine', definition: r.definition, failure });
    }
    for (const v of listed.relations) {
      const name = v.schema === 'public' ? v.relation : `${v.schema}.${v.relation}`;
      const label = v.kind === 'policy' ? `policy ${v.name} on ${name}` : `${v.kind} ${name}`;
      const key = `relation ${label}`;
      if (!wanted(key, v.relation, v.text)) continue;
      const message = await planStatement(this.client, v.probe);
      out.set(key, { key, label, kind: 'relation', definition: v.text, failure: message === undefined ? undefined : { message, writes: false } });
    }
    for (const [i, q] of this.queries.entries()) {
      const key = `query ${i}`;
      if (!wanted(key, q.sql)) continue;
      const message = await planStatement(this.client, q.sql);
      const label = `query at ${q.file}${q.line !== undefined ? `:${q.line}` : ''}`;
      out.set(key, { key, label, kind: 'query', definition: q.sql, query: q, failure: message === undefined ? undefined : { message, writes: !/^\s*(select|with|values)\b/i.test(q.sql) } });
    }
    return out;
  }

  /** The first failure of a routine, undefined when it plans, null when it cannot be checked. */
  private async routine(r: RoutineRow): Promise<Failure | undefined | null> {
    if (r.language === 'sql') {
      if (r.atomic) return undefined;
      const message = await validateSqlRoutine(this.client, r.oid);
      return message === undefined ? undefined : { message, writes: /\b(insert|update|delete|merge)\b/i.test(r.source) };
    }
    // A trigger function is checked against each table whose trigger calls it; unattached, NEW has no type.
    if (r.returnsTrigger && r.triggerTables.length === 0) return null;
    const body = await this.body(r.definition);
    if (!body) return null;
    const leading = r.argNames.map((n, i) => (n === '' ? `$${i + 1}` : n.toLowerCase()));
    const variables = new Set([...body.variables.keys(), ...leading, ...Object.keys(TRIGGER_VARIABLES)]);
    const declared = [...body.variables.entries()].filter(([n]) => !leading.includes(n)).map(([, t]) => declaredType(t));
    const resolved = await resolveTypeNames(this.client, declared.filter((t): t is string => t !== undefined));
    for (const table of r.returnsTrigger ? r.triggerTables : [undefined]) {
      const typeOf = (name: string): string => {
        const arg = leading.indexOf(name);
        if (arg >= 0) return /^any/.test(r.argTypes[arg] ?? '') ? 'unknown' : r.argTypes[arg]!;
        if ((name === 'new' || name === 'old') && table) return table;
        const t = body.variables.get(name);
        const d = t === undefined ? undefined : declaredType(t);
        if (d !== undefined) return resolved.get(d) ?? 'unknown';
        return TRIGGER_VARIABLES[name] ?? 'unknown';
      };
      for (const s of body.statements) {
        const bound = bindVariables(s.sql, variables, { functionName: r.name, leading });
        if (!bound) continue;
        const types = bound.params.map(typeOf);
        // `r.id` of a `record` (a loop variable): its type is only known at run time.
        if (bound.params.some((p, i) => types[i] === 'unknown' && bound.fieldsOf.has(p))) continue;
        const message = await planStatement(this.client, bound.sql, types);
        if (message !== undefined) return { message, statement: s.sql.trim(), lineno: s.lineno, writes: bound.kind !== 'SelectStmt' };
      }
    }
    return undefined;
  }

  private async body(definition: string): Promise<PlpgsqlBody | undefined> {
    let b = this.bodies.get(definition);
    if (b === undefined) {
      try {
        b = readPlpgsqlFunction(definition);
      } catch {
        // The server accepted it; a body this parser cannot read is left unchecked.
        b = null;
      }
      this.bodies.set(definition, b);
    }
    return b ?? undefined;
  }
}

/** A declared type to resolve: `users%ROWTYPE` is the table's row; `%TYPE` and `record` are left to inference. */
function declaredType(typname: string): string | undefined {
  const rowtype = /^(.*)%rowtype$/i.exec(typname.trim());
  if (rowtype) return rowtype[1]!.trim();
  if (/%type$/i.test(typname) || typname.trim().toLowerCase() === 'record') return undefined;
  return typname;
}

export function createDependenciesObserver(ctx: StageContext): WalkObserver {
  const outcome = emptyOutcome('dependencies');
  const loaded = ctx.config.queries ? loadQueries(ctx.config.root, ctx.config.queries) : { queries: [], skipped: 0 };
  if (loaded.skipped > 0) {
    outcome.findings.push({
      stage: 'dependencies',
      severity: 'notice',
      rule: 'queries-skipped',
      message: `${loaded.skipped} entr${loaded.skipped === 1 ? 'y' : 'ies'} of the queries were not planned: not a SELECT, INSERT, UPDATE, DELETE or MERGE, or not parseable`,
    });
  }
  let connection: pg.Client | undefined;
  let checker: Checker | undefined;
  const checkerFor = async (step: WalkStep): Promise<Checker> => {
    if (checker) return checker;
    // A connection of its own: what a migration sets on its session (search_path...) is not what the application has.
    connection = await ctx.server.connect(step.db);
    await applySessionLimits(connection, ctx);
    await prepareCheckSession(connection);
    checker = new Checker(connection, loaded.queries);
    return checker;
  };

  const partial = new PartialFailureChecker(ctx);
  /** Objects already reported as broken before a migration: said once, never blamed. */
  const alreadyBroken = new Set<string>();
  let before: Round | undefined;
  let names: Set<string> | undefined;
  let started = 0;
  /** The migration whose findings are still coming (its down may follow), and whether its up applied. */
  let pending: { step: WalkStep; applied: boolean } | undefined;
  /** Queries that failed on some schema before a migration, and those that planned at least once. */
  const failedQueries = new Map<string, Checked>();
  const plannedQueries = new Set<string>();

  const settle = () => {
    if (!pending) return;
    const { step, applied } = pending;
    pending = undefined;
    const { version, name } = step.prepared.migration;
    const mine = outcome.findings.filter((f) => f.migration === version);
    const status: StageStatus = mine.some((f) => f.severity === 'error')
      ? 'fail'
      : mine.some((f) => f.severity === 'warning')
        ? 'warn'
        : applied
          ? 'pass'
          : 'skip';
    outcome.perMigration.set(version, status);
    ctx.progress({ kind: 'migration', stage: 'dependencies', version, name, status, durationMs: performance.now() - started });
  };

  /** Findings for what planned in `before` and fails in `after`, blamed on `source` (the up or the down). */
  const compare = (step: WalkStep, after: Round, source: ParsedSource, direction: 'up' | 'down'): Finding[] => {
    const version = step.prepared.migration.version;
    const out: Finding[] = [];
    for (const c of after.values()) {
      if (!c.failure) continue;
      const was = before?.get(c.key);
      if (was === undefined) {
        if (direction === 'up' && c.kind === 'routine') {
          // Said once: not again as "already broken" before the next migration.
          alreadyBroken.add(c.key);
          out.push(newRoutineFinding(c, version, source));
        }
        continue;
      }
      if (was.failure) continue;
      out.push(brokenFinding(c, c.failure, version, source, direction));
    }
    return out;
  };

  return {
    outcome,
    wantsRoundTrip: true,

    async beforeUp(step) {
      settle();
      pending = { step, applied: false };
      started = performance.now();
      names = step.prepared.migration.code ? undefined : reachableNames(step.up, step.down);
      outcome.findings.push(...(await partial.check(step.prepared)));
      const c = await checkerFor(step);
      before = await c.round(names);
      const version = step.prepared.migration.version;
      for (const b of before.values()) {
        if (b.kind === 'query') {
          if (b.failure) failedQueries.set(b.key, b);
          else plannedQueries.add(b.key);
          continue;
        }
        if (!b.failure || alreadyBroken.has(b.key)) continue;
        alreadyBroken.add(b.key);
        outcome.findings.push({
          stage: 'dependencies',
          severity: 'notice',
          rule: 'dependency-already-broken',
          migration: version,
          message: `${b.label} does not plan before ${version} either, so it is not caused by the migrations under test: ${b.failure.message}`,
          ...(b.failure.statement ? { detail: bodyDetail(b.failure) } : {}),
        });
      }
    },

    async afterUp(step) {
      if (!before || !checker) return;
      // The same objects again, and every routine the up created or replaced.
      const after = await checker.round(names);
      for (const a of after.values()) if (a.kind === 'query' && !a.failure) plannedQueries.add(a.key);
      outcome.findings.push(...compare(step, after, step.up, 'up'));
      if (pending) pending.applied = true;
    },

    async afterDown(step, result) {
      if (before && checker && result.ok && step.down) {
        const after = await checker.round(names, new Set(before.keys()));
        outcome.findings.push(...compare(step, after, step.down, 'down'));
      }
      settle();
    },

    async beforeRestore() {
      // The walk's database is replaced by a copy: this connection would be cut by its drop.
      await connection?.end().catch(() => {});
      connection = undefined;
      checker = undefined;
    },

    async afterAll() {
      settle();
      await partial.close();
      await connection?.end().catch(() => {});
      connection = undefined;
      checker = undefined;
      // A query that fails before the migration creating its tables is not broken; one that never planned is.
      const never = [...failedQueries.values()].filter((q) => !plannedQueries.has(q.key));
      if (never.length > 0) {
        outcome.findings.push({
          stage: 'dependencies',
          severity: 'notice',
          rule: 'query-already-broken',
          message: `${never.length} ${never.length === 1 ? 'query' : 'queries'} of the running release did not plan on any schema the migrations under test went through (not caused by them)`,
          detail: never
            .slice(0, 5)
            .map((q) => `${q.label}: ${q.failure!.message}`)
            .join('\n'),
        });
      }
    },
  };
}

function bodyDetail(f: Failure): string {
  return `at line ${f.lineno} of its body: ${f.statement}`;
}

function brokenFinding(c: Checked, failure: Failure, version: string, source: ParsedSource, direction: 'up' | 'down'): Finding {
  const missing = missingObjectOf(failure.message);
  const blame = missing ? blameStatement(source, missing) : undefined;
  const by = direction === 'down' ? `the down of ${version}` : version;
  const where = blame ? `${blame.object}, ${blame.verb} by ${by} at line ${blame.statement.line}` : undefined;
  const location = { file: source.source.file, ...(blame ? { line: blame.statement.line, column: blame.statement.column } : {}) };
  if (c.kind === 'query') {
    return {
      stage: 'dependencies',
      severity: 'error',
      rule: 'query-broken',
      migration: version,
      file: c.query!.file,
      ...(c.query!.line !== undefined ? { line: c.query!.line } : {}),
      message: `${by} breaks a query of the running release: ${failure.message}${where ? ` (${where})` : ''}`,
      detail: `${c.query!.sql}\n(${source.source.file}${blame ? `:${blame.statement.line}` : ''})`,
      hint: 'during a rolling deploy the previous release keeps running this query: keep what it reads until no release uses it (expand, then contract in a later migration)',
    };
  }
  return {
    stage: 'dependencies',
    severity: 'error',
    rule: 'dependency-broken',
    migration: version,
    ...location,
    message: where
      ? `${c.label} ${failure.writes ? 'writes' : 'reads'} ${where}: ${failure.message}`
      : `${c.label} no longer plans after ${by}: ${failure.message}`,
    ...(failure.statement ? { detail: bodyDetail(failure) } : {}),
    hint: `update ${c.label} in the same migration (CREATE OR REPLACE), or keep what it uses`,
  };
}

function newRoutineFinding(c: Checked, version: string, source: ParsedSource): Finding {
  const name = /^[\w ]*? ([^\s(]+)\(/.exec(c.label)?.[1]?.split('.').pop() ?? '';
  const statement = source.statements.find((s) => s.kind === 'CreateFunctionStmt' && statementNames(s).has(name));
  return {
    stage: 'dependencies',
    severity: 'warning',
    rule: 'new-routine-broken',
    migration: version,
    file: source.source.file,
    ...(statement ? { line: statement.line, column: statement.column } : {}),
    message: `${c.label}, created by ${version}, does not plan: ${c.failure!.message}`,
    ...(c.failure!.statement ? { detail: bodyDetail(c.failure!) } : {}),
  };
}
