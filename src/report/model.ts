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

export interface StatementMeasure {
  migration: string;
  file: string;
  line: number;
  durationMs: number;
  locks: StatementLock[];
  rewrites: string[];
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
