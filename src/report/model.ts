import type { StageName } from '../config.js';

export type Severity = 'error' | 'warning' | 'notice';
export type StageStatus = 'pass' | 'fail' | 'warn' | 'skip';
export type Verdict = 'pass' | 'fail';

export interface Finding {
  stage: StageName;
  severity: Severity;
  /** Stable identifier of the check that produced it, e.g. `apply-failed`. */
  rule: string;
  migration?: string;
  file?: string;
  line?: number;
  column?: number;
  message: string;
  detail?: string;
  hint?: string;
  /** Last line of the statement the finding is about, when it spans several lines. */
  endLine?: number;
  /** The lines of the file around the finding, as written there: what a reviewer reads beside it. */
  excerpt?: SourceExcerpt;
  /** SQL that would fix it: for a rollback finding, the statement the down lacks. */
  fix?: string;
  /** A second place the finding is about: the up statement whose effect a down leaves in place. */
  related?: { file: string; line: number; message: string };
}

export interface SourceExcerpt {
  /** Line number of the first line of `text`. */
  line: number;
  /** Whole lines, joined by newlines. */
  text: string;
}

export interface StageResult {
  name: StageName;
  status: StageStatus;
  durationMs: number;
}

export interface ReportMigration {
  version: string;
  name: string;
  up: string;
  down?: string;
  underTest: boolean;
  /**
   * In a sharded run, the shard (1-based) that tests this migration; absent when the run is not
   * sharded or the migration is baseline. A migration with `underTest: false` and a shard was
   * applied and syntax-checked here, and left to that shard for every other stage.
   */
  shard?: number;
  /** Per stage outcome for this migration; `skip` when the stage did not reach or cover it. */
  stages: Partial<Record<StageName, StageStatus>>;
}

export interface StatementLock {
  relation: string;
  mode: string;
}

/** How long one table stayed locked in a mode that blocks other sessions, within one transaction. */
export interface LockHold {
  relation: string;
  /** Strongest mode held, e.g. `ShareLock`. */
  mode: string;
  /** `reads`: even SELECT waits (AccessExclusiveLock); `writes`: INSERT, UPDATE, DELETE wait (ShareLock and up). */
  blocks: 'reads' | 'writes';
  /** From the statement that took the lock until its transaction ended: the statements' times added up. */
  ms: number;
  /** The same at production size, when production rows are known. */
  projectedMs?: number;
  /** Line of the last statement of the transaction: the lock is released at the commit after it. */
  untilLine: number;
}

export interface StatementMeasure {
  migration: string;
  file: string;
  line: number;
  column?: number;
  /** The statement's first words, shortened. */
  head?: string;
  durationMs: number;
  /** Each run's time when the statement was timed more than once (near the threshold); `durationMs` is the fastest. */
  runsMs?: number[];
  /**
   * Locks this statement takes itself on tables (and strong ones on existing indexes), strongest
   * mode per relation: the modes new in pg_locks after it, and what its parse tree asks for.
   */
  locks: StatementLock[];
  /** Tables whose storage was rewritten (new relfilenode). */
  rewrites: string[];
  /** Existing indexes rebuilt (new relfilenode). */
  rebuiltIndexes?: string[];
  /** Rows of the table the statement works on, when it was measured on one. */
  rows?: number;
  /** Expected time at production size. */
  projectedMs?: number;
  /** Production rows `projectedMs` is computed for. */
  productionRows?: number;
  /** Production bytes (pg_total_relation_size) `projectedMs` is computed for, when the work scales with the table's size. */
  productionBytes?: number;
  /** Locks that blocked other sessions from this statement on (only on the statement that took them). */
  holds?: LockHold[];
  /** Ran outside a transaction block: its locks were released before they could be observed; `locks` is what the statement is known to take. */
  outsideTransaction?: boolean;
}

export interface Report {
  version: 1;
  verdict: Verdict;
  /** Server version, e.g. "17.10". */
  postgres: string;
  /** Set when this run tested one shard of the migrations under test. */
  shard?: { index: number; total: number };
  migrations: ReportMigration[];
  stages: StageResult[];
  findings: Finding[];
  statements: StatementMeasure[];
}

export function verdictOf(findings: readonly Finding[]): Verdict {
  return findings.some((f) => f.severity === 'error') ? 'fail' : 'pass';
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const out: Record<Severity, number> = { error: 0, warning: 0, notice: 0 };
  for (const f of findings) out[f.severity] += 1;
  return out;
}

/** Worst status among findings of one stage, for the stage table. */
export function stageStatusOf(findings: readonly Finding[], ran: boolean): StageStatus {
  if (!ran) return 'skip';
  if (findings.some((f) => f.severity === 'error')) return 'fail';
  if (findings.some((f) => f.severity === 'warning')) return 'warn';
  return 'pass';
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, notice: 2 };

/** Most severe first, then by file and position: the order every renderer shows findings in. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

/**
 * How many migrations under test a stage reached (gave a status other than skip), of how many;
 * `counted` is false when the stage reports no per-migration status at all.
 */
export function stageCoverage(report: Report, stage: StageName): { reached: number; total: number; counted: boolean } {
  const underTest = report.migrations.filter((m) => m.underTest);
  const reached = underTest.filter((m) => m.stages[stage] !== undefined && m.stages[stage] !== 'skip').length;
  return { reached, total: underTest.length, counted: underTest.some((m) => m.stages[stage] !== undefined) };
}

/** What a stage did, in words: `pass`, `partial (1 of 3)`, `fail (2 of 3 reached)`, `not run`. */
export function stageStatusWords(report: Report, stage: StageResult): { status: StageStatus | 'partial'; words: string } {
  const c = stageCoverage(report, stage.name);
  if (stage.status === 'skip' || (c.counted && c.reached === 0)) return { status: 'skip', words: 'not run' };
  const part = c.counted && c.reached < c.total ? `${c.reached.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')}` : undefined;
  if (stage.status === 'pass' && part !== undefined) return { status: 'partial', words: `partial (${part})` };
  const word = { pass: 'pass', fail: 'fail', warn: 'warnings', skip: 'not run' }[stage.status];
  return { status: stage.status, words: `${word}${part !== undefined ? ` (${part} reached)` : ''}` };
}
