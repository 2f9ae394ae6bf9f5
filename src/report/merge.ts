import { STAGE_NAMES, type StageName } from '../config.js';
import { InputError, errorMessage } from '../errors.js';
import { verdictOf, type Finding, type Report, type ReportMigration, type StageResult, type StageStatus, type StatementMeasure } from './model.js';

const STATUS_RANK: Record<StageStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };
const SEVERITIES = ['error', 'warning', 'notice'];
const STATUSES = ['pass', 'fail', 'warn', 'skip'];

function worst(a: StageStatus | undefined, b: StageStatus): StageStatus {
  return a === undefined || STATUS_RANK[b] > STATUS_RANK[a] ? b : a;
}

/**
 * One report from the reports of several jobs: the shards of one sharded run (or the jobs of a
 * matrix). Migrations are under test where any report tested them, with each stage's worst
 * status; findings and statements are the union (identical ones once); stage durations are
 * summed and their statuses are the worst; the verdict is computed again.
 *
 * Every shard applies and syntax-checks all migrations under test, so their syntax findings
 * are the same in each report and appear once. A shard whose report is missing is an error:
 * its migrations were not tested.
 */
export function mergeReports(reports: readonly Report[]): Report {
  if (reports.length === 0) throw new InputError('usage', 'merge-reports needs at least one report');

  const totals = new Set(reports.filter((r) => r.shard).map((r) => r.shard!.total));
  if (totals.size > 1) {
    throw new InputError('input', `the reports come from runs split into different numbers of shards (${[...totals].sort((a, b) => a - b).join(' and ')})`);
  }

  // Migrations, in the order they first appear.
  const order: string[] = [];
  const entries = new Map<string, ReportMigration[]>();
  for (const r of reports) {
    for (const m of r.migrations) {
      if (!entries.has(m.version)) {
        entries.set(m.version, []);
        order.push(m.version);
      }
      entries.get(m.version)!.push(m);
    }
  }
  const migrations: ReportMigration[] = order.map((version) => {
    const all = entries.get(version)!;
    const tested = all.filter((m) => m.underTest);
    const first = tested[0] ?? all[0]!;
    const stages: ReportMigration['stages'] = {};
    for (const m of tested.length > 0 ? tested : [first]) {
      for (const [name, status] of Object.entries(m.stages) as Array<[StageName, StageStatus]>) stages[name] = worst(stages[name], status);
    }
    const shard = tested.find((m) => m.shard !== undefined)?.shard ?? all.find((m) => m.shard !== undefined)?.shard;
    const out: ReportMigration = { version, name: first.name, up: first.up, underTest: tested.length > 0, stages };
    if (first.down !== undefined) out.down = first.down;
    if (shard !== undefined) out.shard = shard;
    return out;
  });

  const findings: Finding[] = [];
  const seenFindings = new Set<string>();
  const statements: StatementMeasure[] = [];
  const seenStatements = new Set<string>();
  for (const r of reports) {
    for (const f of r.findings) {
      const key = findingKey(f);
      if (seenFindings.has(key)) continue;
      seenFindings.add(key);
      findings.push(f);
    }
    for (const s of r.statements) {
      const key = JSON.stringify([s.migration, s.file, s.line, s.durationMs, s.locks, s.rewrites]);
      if (seenStatements.has(key)) continue;
      seenStatements.add(key);
      statements.push(s);
    }
  }

  const total = [...totals][0];
  if (total !== undefined) {
    const present = new Set(reports.filter((r) => r.shard).map((r) => r.shard!.index));
    for (let index = 1; index <= total; index++) {
      if (present.has(index)) continue;
      const untested = migrations.filter((m) => !m.underTest && m.shard === index).map((m) => m.version);
      findings.push({
        stage: 'syntax',
        severity: 'error',
        rule: 'shard-missing',
        message:
          `no report from shard ${index} of ${total}` +
          (untested.length > 0 ? `: ${untested.length === 1 ? 'migration' : 'migrations'} ${untested.join(', ')} ${untested.length === 1 ? 'was' : 'were'} not tested` : ''),
      });
    }
  }

  const stageOrder: StageName[] = [];
  const stageResults = new Map<StageName, StageResult>();
  for (const r of reports) {
    for (const s of r.stages) {
      const have = stageResults.get(s.name);
      if (!have) {
        stageOrder.push(s.name);
        stageResults.set(s.name, { ...s });
      } else {
        have.durationMs += s.durationMs;
        have.status = worst(have.status, s.status);
      }
    }
  }
  // A missing shard fails the stage that would have tested its migrations.
  if (findings.some((f) => f.rule === 'shard-missing')) {
    const syntax = stageResults.get('syntax');
    if (syntax) syntax.status = 'fail';
  }

  const versions = [...new Set(reports.map((r) => r.postgres))];
  return {
    version: 1,
    verdict: verdictOf(findings),
    postgres: versions.join(', '),
    migrations,
    stages: stageOrder.map((n) => stageResults.get(n)!),
    findings,
    statements,
  };
}

function findingKey(f: Finding): string {
  return JSON.stringify([f.stage, f.severity, f.rule, f.migration, f.file, f.line, f.column, f.message, f.detail, f.hint]);
}

// ---------------------------------------------------------------------------------------------
// Reading a report back

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A JSON report (version 1) as written by `--report-json`, checked field by field so a wrong
 * file is refused with its name and the field at fault, instead of rendering nonsense.
 */
export function parseReport(text: string, name: string): Report {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError('input', `${name} is not a JSON report: ${errorMessage(e)}`);
  }
  const fail = (what: string): never => {
    throw new InputError('input', `${name} is not a migration-ci report: ${what}`);
  };
  if (!isObj(data)) return fail('expected an object');
  if (data.version !== 1) return fail(`unsupported version ${JSON.stringify(data.version)} (expected 1)`);
  const str = (o: Obj, k: string, where: string): string => (typeof o[k] === 'string' ? (o[k] as string) : fail(`${where}.${k} must be a string`));
  const optStr = (o: Obj, k: string, where: string): string | undefined => (o[k] === undefined ? undefined : str(o, k, where));
  const num = (o: Obj, k: string, where: string): number => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : fail(`${where}.${k} must be a number`));
  const optNum = (o: Obj, k: string, where: string): number | undefined => (o[k] === undefined ? undefined : num(o, k, where));
  const arr = (o: Obj, k: string, where: string): unknown[] => (Array.isArray(o[k]) ? (o[k] as unknown[]) : fail(`${where}.${k} must be a list`));
  const oneOf = <T extends string>(o: Obj, k: string, allowed: readonly string[], where: string): T => {
    const v = str(o, k, where);
    return allowed.includes(v) ? (v as T) : fail(`${where}.${k} must be one of ${allowed.join(', ')}, got "${v}"`);
  };
  const objAt = (v: unknown, where: string): Obj => (isObj(v) ? v : fail(`${where} must be an object`));

  const verdict = oneOf<Report['verdict']>(data, 'verdict', ['pass', 'fail'], 'report');
  const postgres = str(data, 'postgres', 'report');
  let shard: Report['shard'];
  if (data.shard !== undefined) {
    const s = objAt(data.shard, 'shard');
    shard = { index: num(s, 'index', 'shard'), total: num(s, 'total', 'shard') };
    if (!Number.isInteger(shard.index) || !Number.isInteger(shard.total) || shard.index < 1 || shard.index > shard.total) fail('shard must have 1 <= index <= total');
  }
  const migrations = arr(data, 'migrations', 'report').map((v, i): ReportMigration => {
    const where = `migrations[${i}]`;
    const m = objAt(v, where);
    if (typeof m.underTest !== 'boolean') fail(`${where}.underTest must be true or false`);
    const stagesObj = objAt(m.stages ?? {}, `${where}.stages`);
    const stages: ReportMigration['stages'] = {};
    for (const k of Object.keys(stagesObj)) {
      if (!(STAGE_NAMES as readonly string[]).includes(k)) fail(`${where}.stages has an unknown stage "${k}"`);
      stages[k as StageName] = oneOf<StageStatus>(stagesObj, k, STATUSES, `${where}.stages`);
    }
    const out: ReportMigration = { version: str(m, 'version', where), name: str(m, 'name', where), up: str(m, 'up', where), underTest: m.underTest as boolean, stages };
    const down = optStr(m, 'down', where);
    if (down !== undefined) out.down = down;
    const s = optNum(m, 'shard', where);
    if (s !== undefined) out.shard = s;
    return out;
  });
  const stages = arr(data, 'stages', 'report').map((v, i): StageResult => {
    const where = `stages[${i}]`;
    const s = objAt(v, where);
    return { name: oneOf<StageName>(s, 'name', STAGE_NAMES, where), status: oneOf<StageStatus>(s, 'status', STATUSES, where), durationMs: num(s, 'durationMs', where) };
  });
  const findings = arr(data, 'findings', 'report').map((v, i): Finding => {
    const where = `findings[${i}]`;
    const f = objAt(v, where);
    const out: Finding = {
      stage: oneOf<StageName>(f, 'stage', STAGE_NAMES, where),
      severity: oneOf<Finding['severity']>(f, 'severity', SEVERITIES, where),
      rule: str(f, 'rule', where),
      message: str(f, 'message', where),
    };
    for (const k of ['migration', 'file', 'detail', 'hint', 'fix'] as const) {
      const s = optStr(f, k, where);
      if (s !== undefined) out[k] = s;
    }
    for (const k of ['line', 'column', 'endLine'] as const) {
      const n = optNum(f, k, where);
      if (n !== undefined) out[k] = n;
    }
    if (f.excerpt !== undefined) {
      const e = objAt(f.excerpt, `${where}.excerpt`);
      out.excerpt = { line: num(e, 'line', `${where}.excerpt`), text: str(e, 'text', `${where}.excerpt`) };
    }
    if (f.related !== undefined) {
      const r = objAt(f.related, `${where}.related`);
      out.related = { file: str(r, 'file', `${where}.related`), line: num(r, 'line', `${where}.related`), message: str(r, 'message', `${where}.related`) };
    }
    return out;
  });
  const statements = (data.statements === undefined ? [] : arr(data, 'statements', 'report')).map((v, i): StatementMeasure => {
    const where = `statements[${i}]`;
    const s = objAt(v, where);
    return {
      migration: str(s, 'migration', where),
      file: str(s, 'file', where),
      line: num(s, 'line', where),
      durationMs: num(s, 'durationMs', where),
      locks: arr(s, 'locks', where).map((l, j) => {
        const lock = objAt(l, `${where}.locks[${j}]`);
        return { relation: str(lock, 'relation', `${where}.locks[${j}]`), mode: str(lock, 'mode', `${where}.locks[${j}]`) };
      }),
      rewrites: arr(s, 'rewrites', where).map((r) => (typeof r === 'string' ? r : fail(`${where}.rewrites must hold strings`))),
    };
  });
  const report: Report = { version: 1, verdict, postgres, migrations, stages, findings, statements };
  if (shard) report.shard = shard;
  return report;
}
