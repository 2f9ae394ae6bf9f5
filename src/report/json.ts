import { STAGE_NAMES } from '../config.js';
import {
  sortFindings,
  type Finding,
  type Report,
  type ReportMigration,
  type StageResult,
  type StatementMeasure,
} from './model.js';

/**
 * The JSON report (contract `version: 1`, see DESIGN.md): 2-space indented, trailing newline.
 *
 * Every object is rebuilt with its keys in a fixed order, so the output does not depend on how
 * the engine happened to assemble the model, and optional fields that are `undefined` are left
 * out. Findings are listed in `sortFindings` order, like every other renderer shows them.
 */
export function renderJson(report: Report): string {
  const out = compact({
    version: 1 as const,
    verdict: report.verdict,
    postgres: report.postgres,
    shard: report.shard ? { index: report.shard.index, total: report.shard.total } : undefined,
    migrations: report.migrations.map(migrationJson),
    stages: report.stages.map(stageJson),
    findings: sortFindings(report.findings).map(findingJson),
    statements: report.statements.map(statementJson),
  });
  return JSON.stringify(out, null, 2) + '\n';
}

function migrationJson(m: ReportMigration): Record<string, unknown> {
  const stages: Record<string, string> = {};
  // Known stages in pipeline order first, then anything else in insertion order.
  const names = [
    ...STAGE_NAMES.filter((s) => m.stages[s] !== undefined),
    ...Object.keys(m.stages).filter((s) => !(STAGE_NAMES as readonly string[]).includes(s)),
  ];
  for (const name of names) {
    const status = (m.stages as Record<string, string | undefined>)[name];
    if (status !== undefined) stages[name] = status;
  }
  return compact({
    version: m.version,
    name: m.name,
    up: m.up,
    down: m.down,
    underTest: m.underTest,
    shard: m.shard,
    stages,
  });
}

function stageJson(s: StageResult): Record<string, unknown> {
  return compact({ name: s.name, status: s.status, durationMs: s.durationMs });
}

function findingJson(f: Finding): Record<string, unknown> {
  return compact({
    stage: f.stage,
    severity: f.severity,
    rule: f.rule,
    migration: f.migration,
    file: f.file,
    line: f.line,
    column: f.column,
    message: f.message,
    detail: f.detail,
    hint: f.hint,
    endLine: f.endLine,
    excerpt: f.excerpt ? { line: f.excerpt.line, text: f.excerpt.text } : undefined,
    fix: f.fix,
    related: f.related ? { file: f.related.file, line: f.related.line, message: f.related.message } : undefined,
  });
}

function statementJson(s: StatementMeasure): Record<string, unknown> {
  return compact({
    migration: s.migration,
    file: s.file,
    line: s.line,
    column: s.column,
    head: s.head,
    durationMs: s.durationMs,
    runsMs: s.runsMs ? [...s.runsMs] : undefined,
    locks: s.locks.map((l) => ({ relation: l.relation, mode: l.mode })),
    rewrites: [...s.rewrites],
    rebuiltIndexes: s.rebuiltIndexes ? [...s.rebuiltIndexes] : undefined,
    rows: s.rows,
    projectedMs: s.projectedMs,
    productionRows: s.productionRows,
    productionBytes: s.productionBytes,
    holds: s.holds?.map((h) =>
      compact({
        relation: h.relation,
        mode: h.mode,
        blocks: h.blocks,
        ms: h.ms,
        projectedMs: h.projectedMs,
        untilLine: h.untilLine,
      }),
    ),
    outsideTransaction: s.outsideTransaction,
  });
}

/** Drops keys whose value is `undefined`, keeping the order of the others. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
