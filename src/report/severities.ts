import picomatch from 'picomatch';
import type { RuleSetting } from '../repo-config.js';
import type { Finding, Severity, StageStatus } from './model.js';

/** What a repository can set a rule to: off drops its findings, the others set their severity. */
export const RULE_LEVELS = ['off', 'notice', 'warning', 'error'] as const;
export type RuleLevel = (typeof RULE_LEVELS)[number];

/** Compiled rule levels: which level a finding gets, or `off` to drop it; undefined leaves it be. */
export type LevelOf = (f: Finding) => RuleSetting['level'] | undefined;

export function ruleLevels(settings: readonly RuleSetting[]): LevelOf {
  const compiled = settings.map((s) => ({ ...s, match: s.files ? picomatch(s.files, { dot: true }) : undefined }));
  return (f) => {
    let level: RuleSetting['level'] | undefined;
    for (const s of compiled) {
      if (s.rule !== f.rule) continue;
      if (s.match && (f.file === undefined || !s.match(f.file))) continue;
      level = s.level;
    }
    return level;
  };
}

const RANK: Record<Severity, number> = { notice: 0, warning: 1, error: 2 };

/**
 * Findings at the levels the repository sets for their rules (`off` ones dropped), and the
 * migrations whose findings changed, so their per-stage status can be said again.
 */
export function applyRuleLevels(findings: readonly Finding[], levelOf: LevelOf): { findings: Finding[]; changed: Set<string> } {
  const out: Finding[] = [];
  const changed = new Set<string>();
  for (const f of findings) {
    const level = levelOf(f);
    if (level === undefined || level === f.severity) {
      out.push(f);
      continue;
    }
    if (f.migration !== undefined) changed.add(f.migration);
    if (level !== 'off') out.push({ ...f, severity: level });
  }
  return { findings: out, changed };
}

/** A migration's status in a stage from its findings there, for migrations whose findings changed level. */
export function restatus(previous: StageStatus, findings: readonly Finding[]): StageStatus {
  if (previous === 'skip') return previous;
  const worst = findings.reduce((w, f) => Math.max(w, RANK[f.severity]), -1);
  return worst === 2 ? 'fail' : worst === 1 ? 'warn' : 'pass';
}
