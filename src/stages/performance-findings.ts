/**
 * From what the statement probe saw to the report: per-statement measures (rows, projection,
 * lock holds) and the performance findings of one migration (static hazards backed by the
 * measurement, rewrites, long read-blocking locks, the time threshold).
 */
import type { Config } from '../config.js';
import type { ExistingTable, UserTable } from '../db/measure.js';
import type { Finding, LockHold, StatementMeasure } from '../report/model.js';
import { formatBytes, formatDuration } from '../report/terminal.js';
import { findHazards, ignoredRules, lockTimeoutHazard, lockTimeoutInForce, type Hazard } from '../sql/hazards.js';
import { blockedBy, lockStrength, staticLocks, workKind } from '../sql/locks.js';
import { kindOf, tableKey } from '../sql/nodes.js';
import { statementHead, type ParsedSource } from '../sql/parse.js';
import { existingTablesTouched as touchedTables } from '../sql/touched.js';
import type { PreparedMigration } from './context.js';
import { productionBytesOf, productionRowsOf, productionScale, projectDuration } from './projection.js';
import type { ObservedStatement } from './statement-probe.js';

export interface MigrationMeasurement {
  prepared: PreparedMigration;
  parsed: ParsedSource;
  observed: ObservedStatement[];
  /** Tables that existed when the migration started, by oid. */
  tables: Map<number, UserTable>;
  /** The existing tables the migration names. */
  existing: ExistingTable[];
  /** Watched tables and their partitions (or inheritance children), each to the existing table it belongs to. */
  roots: Map<number, number>;
  /** Exact rows of `existing` when the migration was timed. */
  rows: Map<number, number>;
  /** pg_total_relation_size of `existing` when the migration was timed (measured with production-stats only). */
  bytes?: Map<number, number>;
  /** A first run at fewer rows, rolled back: time per statement index and the rows it met. */
  small: { durations: number[]; rows: Map<number, number> } | undefined;
  /** Further runs at full rows, rolled back (near the threshold): time per statement index. */
  repeats?: number[][];
  /** Major of the server measured on: some fixes exist only from one major on. */
  major?: number;
}

/**
 * The fix where it depends on the major: Postgres 18 can add NOT NULL and a partitioned table's
 * foreign key NOT VALID; before 18 neither can be, so the hint says which major it is true for.
 */
export function fixForMajor(rule: string, fix: string | undefined, column: string | undefined, partitioned: boolean, major: number | undefined): string | undefined {
  if (major === undefined) return fix;
  if (rule === 'set-not-null' && major >= 18) {
    const col = column ?? 'col';
    return `on Postgres ${major}: ADD CONSTRAINT ... NOT NULL ${col} NOT VALID, then VALIDATE CONSTRAINT in another transaction (it takes only ShareUpdateExclusiveLock); before 18: ${fix}`;
  }
  if (rule === 'constraint-not-valid' && partitioned && major < 18) {
    return `on Postgres ${major} a foreign key on a partitioned table cannot be added NOT VALID (18 can): add it NOT VALID to each partition and VALIDATE each, then add it to the partitioned table, or plan for the scan`;
  }
  return fix;
}

const REWRITE_RULES = new Set(['volatile-default', 'column-type-rewrite', 'table-rewrite']);

const count = (n: number) => n.toLocaleString('en-US');

interface StatementFacts {
  measure: StatementMeasure;
  obs: ObservedStatement;
  /** The table the statement works on that sets its rows (and projection), if any. */
  table: number | undefined;
  /** Strongest lock the statement took on an existing table. */
  strongest: { relation: string; mode: string } | undefined;
}

export function assessMigration(config: Config, m: MigrationMeasurement): { statements: StatementMeasure[]; findings: Finding[] } {
  const { prepared, parsed, tables } = m;
  // Timed more than once: each statement's fastest run, the one least disturbed by whatever else the machine did.
  const observed = m.observed.map((o) => {
    const runs = [o.durationMs, ...(m.repeats ?? []).map((r) => r[o.index]).filter((d): d is number => d !== undefined)];
    return runs.length > 1 ? { ...o, durationMs: Math.min(...runs), runsMs: runs } : o;
  });
  const version = prepared.migration.version;
  const file = parsed.source.file;
  const byWritten = new Map<string, number>();
  for (const t of m.existing) {
    byWritten.set(t.written, t.oid);
    byWritten.set(tableKey(t.written), t.oid);
  }
  const oidOf = (written: string) => byWritten.get(written) ?? byWritten.get(tableKey(written));
  const rowsOf = (oid: number): number | undefined => {
    const exact = m.rows.get(oid);
    if (exact !== undefined) return exact;
    const t = tables.get(oid);
    return t && t.estimatedRows >= 0 ? Math.round(t.estimatedRows) : undefined;
  };
  const nameOf = (oid: number) => tables.get(oid)?.display ?? String(oid);
  /** A partition stands for its partitioned table: one table, one lock, one rewrite. */
  const rootOf = (oid: number) => m.roots.get(oid) ?? oid;

  // Per statement: the tables it works on, its rows, its projection.
  const facts: StatementFacts[] = observed.map((obs) => {
    const stmt = obs.stmt;
    const own = new Set<number>();
    for (const name of touchedTables([stmt])) {
      const oid = oidOf(name);
      if (oid !== undefined) own.add(oid);
    }
    for (const l of obs.locks) if (tables.has(l.oid)) own.add(rootOf(l.oid));
    for (const r of obs.rewrites) if (tables.has(r.oid)) own.add(rootOf(r.oid));
    const heldMode = new Map(obs.held.map((l) => [l.oid, l.mode]));
    const coveredByParent = (oid: number, mode: string) => {
      const root = rootOf(oid);
      return root !== oid && lockStrength(heldMode.get(root) ?? '') >= lockStrength(mode);
    };
    // What pg_locks shows as new, and what the statement asks for by its parse tree: a mode the
    // transaction already held (the ShareLock of a CREATE TABLE's primary key, then CREATE INDEX)
    // shows as nothing new, and outside a transaction the locks are gone before anyone looks.
    const observedLocks = obs.inTransaction
      ? obs.locks.filter((l) => !coveredByParent(l.oid, l.mode)).map((l) => ({ relation: l.relation, mode: l.mode, index: l.kind === 'i' || l.kind === 'I' }))
      : [];
    const requested = staticLocks(stmt).map((l) => {
      const oid = oidOf(l.table);
      return { relation: oid !== undefined ? nameOf(oid) : tableKey(l.table), mode: l.mode as string, index: false };
    });
    const ownLocks = strongestPerRelation([...observedLocks, ...requested]);
    const locks = ownLocks.map((l) => ({ relation: l.relation, mode: l.mode }));
    let table: number | undefined;
    let rows: number | undefined;
    for (const oid of own) {
      const n = rowsOf(oid);
      if (n !== undefined && (rows === undefined || n > rows)) {
        rows = n;
        table = oid;
      }
    }
    const measure: StatementMeasure = {
      migration: version,
      file,
      line: stmt.line,
      column: stmt.column,
      head: statementHead(stmt),
      durationMs: obs.durationMs,
      ...('runsMs' in obs ? { runsMs: obs.runsMs } : {}),
      locks,
      rewrites: obs.rewrites.map((r) => r.display),
      ...(obs.rebuiltIndexes.length > 0 ? { rebuiltIndexes: obs.rebuiltIndexes.map((r) => r.display) } : {}),
      ...(rows !== undefined ? { rows } : {}),
      ...(obs.inTransaction ? {} : { outsideTransaction: true }),
    };

    // Projection: through the table with the largest production-to-measured ratio, by bytes for whole-table work.
    const wholeTable = obs.rewrites.length > 0 || obs.rebuiltIndexes.length > 0 || kindOf(stmt.node)?.[0] === 'IndexStmt';
    let best: { oid: number; target: number; ratio: number; bytes: number | undefined } | undefined;
    for (const oid of own) {
      const target = productionRowsOf(config.productionRows, nameOf(oid));
      const n = rowsOf(oid);
      if (target === undefined || !n) continue;
      const productionBytes = productionBytesOf(config.productionStats, nameOf(oid), target);
      const seededBytes = m.bytes?.get(oid);
      const { scale, byBytes } = productionScale(n, target, {
        wholeTable,
        ...(seededBytes !== undefined ? { seededBytes } : {}),
        ...(productionBytes !== undefined ? { productionBytes } : {}),
      });
      if (!best || scale > best.ratio) best = { oid, target, ratio: scale, bytes: byBytes ? productionBytes : undefined };
    }
    if (best) {
      const smallMs = m.small?.durations[obs.index];
      const smallRows = m.small?.rows.get(best.oid);
      const small = smallMs !== undefined && smallRows !== undefined ? { ms: smallMs, rows: smallRows } : undefined;
      const work = obs.rewrites.length > 0 || obs.rebuiltIndexes.length > 0 ? 'per-row' : workKind(stmt);
      const measured = rowsOf(best.oid)!;
      // The fit is in rows; by bytes, production counts as the rows the seeded table would need to be as big.
      measure.projectedMs = projectDuration({ ms: obs.durationMs, rows: measured }, small, measured * best.ratio, work);
      measure.productionRows = best.target;
      if (best.bytes !== undefined) measure.productionBytes = Math.round(best.bytes);
      table = best.oid;
      measure.rows = rowsOf(best.oid)!;
    }
    // The strongest lock on a table (an index locked alongside its table says nothing more).
    const onTables = ownLocks.filter((l) => !l.index);
    let strongest: StatementFacts['strongest'];
    for (const l of onTables) {
      if (!strongest || lockStrength(l.mode) > lockStrength(strongest.mode)) strongest = { relation: l.relation, mode: l.mode };
    }
    return { measure, obs, table, strongest };
  });

  const holds = lockHolds(facts, tables, oidOf, rootOf);
  for (const [index, list] of holds) {
    const f = facts.find((x) => x.obs.index === index);
    if (f) f.measure.holds = list.map((h) => h.hold);
  }

  const findings: Finding[] = [];
  const at = (index: number) => {
    const stmt = parsed.statements[index]!;
    return { stage: 'performance' as const, migration: version, file, line: stmt.line, column: stmt.column };
  };
  const factsAt = (index: number) => facts.find((f) => f.obs.index === index);
  const ignored = (index: number) => ignoredRules(parsed, parsed.statements[index]!);

  // Static hazards, kept when the measurement backs them (or, unmeasured, when they are likely).
  const kept: Hazard[] = [];
  /** `index:oid` of rewrites a finding already reports. */
  const rewriteReported = new Set<string>();
  for (const h of findHazards(parsed)) {
    const f = factsAt(h.index);
    if (!f || h.evidence === undefined) {
      if (h.likely) kept.push(h);
      continue;
    }
    const oid = oidOf(h.table);
    let stands: boolean;
    switch (h.evidence) {
      case 'rewrite':
        stands = f.obs.rewrites.some((r) => oid === undefined || rootOf(r.oid) === oid);
        break;
      case 'not-null-scan': {
        const backed = f.obs.notNullBacked.get(`${h.table}\u0000${h.column ?? ''}`);
        stands = backed === undefined ? h.likely : !backed;
        break;
      }
      case 'access-exclusive':
        stands = f.obs.inTransaction ? exclusiveOnRows(f, tables, rowsOf, rootOf).length > 0 : h.likely;
        break;
    }
    if (stands) kept.push(h);
  }
  // AccessExclusiveLock seen on a table with rows, by a statement the parse tree did not flag.
  const timeouts = lockTimeoutInForce(parsed);
  for (const f of facts) {
    const i = f.obs.index;
    if (timeouts[i] || !f.obs.inTransaction || kept.some((h) => h.rule === 'missing-lock-timeout' && h.index === i)) continue;
    if (ignored(i).has('missing-lock-timeout')) continue;
    const locked = exclusiveOnRows(f, tables, rowsOf, rootOf);
    if (locked.length > 0) kept.push(lockTimeoutHazard(i, nameOf(locked[0]!)));
  }
  // One lock-timeout warning per migration: the fix is one line at its top.
  const timeoutHazards = kept.filter((h) => h.rule === 'missing-lock-timeout').sort((a, b) => a.index - b.index);
  const hazards = kept.filter((h) => h.rule !== 'missing-lock-timeout' || h === timeoutHazards[0]);
  hazards.sort((a, b) => a.index - b.index);
  for (const h of hazards) {
    const f = factsAt(h.index);
    if (f && REWRITE_RULES.has(h.rule)) {
      const oid = oidOf(h.table);
      for (const r of f.obs.rewrites) if (oid === undefined || rootOf(r.oid) === oid) rewriteReported.add(`${h.index}:${rootOf(r.oid)}`);
    }
    const more = h.rule === 'missing-lock-timeout' && timeoutHazards.length > 1 ? ` (${timeoutHazards.length - 1} later statement${timeoutHazards.length > 2 ? 's' : ''} of this migration too)` : '';
    const detail = f ? evidenceText(f, oidOf(h.table) ?? f.table, nameOf, rowsOf) : undefined;
    const partitioned = h.rule === 'index-not-concurrent' && tables.get(oidOf(h.table) ?? -1)?.partitioned === true;
    findings.push({
      ...at(h.index),
      severity: 'warning',
      rule: h.rule,
      message: `${h.message}${more}`,
      ...(detail ? { detail } : {}),
      // A partitioned table cannot be indexed CONCURRENTLY as a whole.
      hint: partitioned
        ? 'CREATE INDEX ON ONLY the partitioned table, CREATE INDEX CONCURRENTLY on each partition, then ALTER INDEX ... ATTACH PARTITION each'
        : fixForMajor(h.rule, h.fix, h.column, tables.get(oidOf(h.table) ?? -1)?.partitioned === true && h.message.includes('FOREIGN KEY'), m.major),
    });
  }

  // Rewrites the hazards did not already explain.
  for (const f of facts) {
    const i = f.obs.index;
    if (ignored(i).has('table-rewrite')) continue;
    const byRoot = new Map<number, string[]>();
    for (const r of f.obs.rewrites) {
      const root = rootOf(r.oid);
      const list = byRoot.get(root) ?? [];
      if (root !== r.oid) list.push(r.display);
      byRoot.set(root, list);
    }
    for (const [root, partitions] of byRoot) {
      const rows = rowsOf(root);
      if (!tables.has(root) || !rows || rewriteReported.has(`${i}:${root}`)) continue;
      rewriteReported.add(`${i}:${root}`);
      const parts = partitions.length > 0 ? `, partitions ${partitions.join(', ')}` : '';
      findings.push({
        ...at(i),
        severity: 'warning',
        rule: 'table-rewrite',
        message: `${f.measure.head} rewrites ${nameOf(root)} (${count(rows)} rows${parts}) while AccessExclusiveLock blocks reads and writes`,
        detail: evidenceText(f, root, nameOf, rowsOf),
        hint: 'a rewrite copies every row under the strongest lock: find a form that does not rewrite (a new column and a batched backfill), or plan the downtime',
      });
    }
  }

  // Read-blocking locks held long, from the statement that took them to the commit.
  const longLockMs = Math.min(1000, config.perfThresholdMs / 10);
  for (const [i, list] of holds) {
    const f = factsAt(i)!;
    for (const { oid, hold: h } of list) {
      if (h.blocks !== 'reads') continue;
      const held = h.projectedMs ?? h.ms;
      const rows = rowsOf(oid);
      if (held < longLockMs || !rows || rewriteReported.has(`${i}:${oid}`) || ignored(i).has('long-lock')) continue;
      const until = h.untilLine === f.measure.line ? 'until its commit' : `until the commit after line ${h.untilLine}`;
      const projected = h.projectedMs !== undefined ? `; ${formatDuration(h.projectedMs)} at production size` : '';
      findings.push({
        ...at(i),
        severity: 'warning',
        rule: 'long-lock',
        message: `${h.relation} stays locked against reads and writes (AccessExclusiveLock) for ${formatDuration(held)}, from line ${f.measure.line} ${until}`,
        detail: `measured ${formatDuration(h.ms)} with ${count(rows)} rows in ${h.relation}${projected}`,
        hint: 'keep AccessExclusiveLock short: backfill, validate and build indexes in their own transactions, and take the lock in a last, quick step',
      });
    }
  }

  // The threshold: the whole migration, at production size when known. Only time spent on rows
  // that exist decides: a migration that only creates (or works on empty tables) is quick in
  // production whatever this machine was doing.
  const onRows = facts.some((f) => f.table !== undefined && (rowsOf(f.table) ?? 0) > 0);
  const projected = facts.some((f) => f.measure.projectedMs !== undefined);
  const totalMs = facts.reduce((t, f) => t + (f.measure.projectedMs ?? f.measure.durationMs), 0);
  if (onRows && totalMs > config.perfThresholdMs && facts.length > 0) {
    const slowest = facts.reduce((a, b) => ((b.measure.projectedMs ?? b.measure.durationMs) > (a.measure.projectedMs ?? a.measure.durationMs) ? b : a));
    const i = slowest.obs.index;
    if (!ignored(i).has('too-slow')) {
      const lock = slowest.strongest;
      const blocks = lock ? blockedBy(lock.mode) : undefined;
      const lockText = lock ? ` under ${lock.mode} on ${lock.relation}${blocks ? ` (blocks ${blocks})` : ''}` : '';
      const size = projected ? 'at production size' : `with ${count(config.perfRows)} rows per table`;
      const slowestText = facts.length > 1 ? `; slowest: line ${slowest.measure.line} \`${slowest.measure.head}\`, ${formatDuration(slowest.measure.projectedMs ?? slowest.measure.durationMs)}${lockText}` : lockText;
      findings.push({
        ...at(i),
        severity: 'error',
        rule: 'too-slow',
        message: `${version} ${projected ? 'would take' : 'takes'} ${formatDuration(totalMs)} ${size}, over perf-threshold-ms (${formatDuration(config.perfThresholdMs)})${slowestText}`,
        detail: [certainty(facts, config.perfThresholdMs), evidenceText(slowest, slowest.table, nameOf, rowsOf).replace(/^measured [^;]*(; |$)/, '')].filter(Boolean).join('\n'),
        hint: 'do long work without blocking locks (CREATE INDEX CONCURRENTLY, NOT VALID then VALIDATE, batched backfills), or raise perf-threshold-ms if this is acceptable',
      });
    }
  }

  return { statements: facts.map((f) => f.measure), findings };
}

/** Existing tables with rows that the statement locked in AccessExclusiveLock (a partition counts as its table). */
function exclusiveOnRows(
  f: StatementFacts,
  tables: Map<number, UserTable>,
  rowsOf: (oid: number) => number | undefined,
  rootOf: (oid: number) => number,
): number[] {
  const out = new Set<number>();
  for (const l of f.obs.locks) {
    const root = rootOf(l.oid);
    if (l.mode === 'AccessExclusiveLock' && tables.has(root) && (rowsOf(root) ?? 0) > 0) out.add(root);
  }
  return [...out];
}

/** One lock per relation, its strongest mode, in the order the relations first come. */
function strongestPerRelation<L extends { relation: string; mode: string }>(locks: L[]): L[] {
  const out = new Map<string, L>();
  for (const l of locks) {
    const prev = out.get(l.relation);
    if (!prev || lockStrength(l.mode) > lockStrength(prev.mode)) out.set(l.relation, l);
  }
  return [...out.values()];
}

/** "measured 412 ms with 500,000 rows in users; ShareLock on users until commit; projected 41 s at 50,000,000 rows". */
function evidenceText(f: StatementFacts, table: number | undefined, nameOf: (oid: number) => string, rowsOf: (oid: number) => number | undefined): string {
  const parts: string[] = [];
  const m = f.measure;
  const rows = table !== undefined ? rowsOf(table) : undefined;
  parts.push(rows !== undefined ? `measured ${formatDuration(m.durationMs)} with ${count(rows)} rows in ${nameOf(table!)}` : `measured ${formatDuration(m.durationMs)}`);
  // The statement's own lock: one an earlier statement of the transaction took is that one's evidence.
  const onTable = table !== undefined ? m.locks.find((l) => l.relation === nameOf(table) && lockStrength(l.mode) > lockStrength('AccessShareLock')) : undefined;
  const lock = onTable ?? f.strongest;
  if (lock) parts.push(`${lock.mode} on ${lock.relation}${f.obs.inTransaction ? ' until commit' : ''}`);
  if (m.rewrites.length > 0) parts.push(`rewrote ${m.rewrites.join(', ')}`);
  if (m.projectedMs !== undefined && m.productionRows !== undefined) {
    parts.push(`projected ${formatDuration(m.projectedMs)} at ${count(m.productionRows)} rows${m.productionBytes !== undefined ? ` (${formatBytes(m.productionBytes)})` : ''}`);
  }
  return parts.join('; ');
}

interface HoldOf {
  oid: number;
  hold: LockHold;
}

/**
 * How long each existing table stayed locked against writes or reads, per transaction: from the
 * statement that first took such a lock to the end of its transaction. Keyed by that statement's index.
 */
function lockHolds(
  facts: StatementFacts[],
  tables: Map<number, UserTable>,
  oidOf: (written: string) => number | undefined,
  rootOf: (oid: number) => number,
): Map<number, HoldOf[]> {
  const out = new Map<number, HoldOf[]>();
  const segments = new Map<number, StatementFacts[]>();
  for (const f of facts) {
    const list = segments.get(f.obs.segment);
    if (list) list.push(f);
    else segments.set(f.obs.segment, [f]);
  }
  for (const list of segments.values()) {
    const last = list[list.length - 1]!;
    const first = new Map<number, { writes?: { at: number; mode: string }; reads?: { at: number } }>();
    list.forEach((f, pos) => {
      const taken = f.obs.inTransaction
        ? f.obs.locks.map((l) => ({ oid: rootOf(l.oid), mode: l.mode }))
        : staticLocks(f.obs.stmt).flatMap((l) => {
            const oid = oidOf(l.table);
            return oid !== undefined ? [{ oid, mode: l.mode as string }] : [];
          });
      for (const { oid, mode } of taken) {
        if (!tables.has(oid)) continue;
        const blocks = blockedBy(mode);
        if (!blocks) continue;
        const entry = first.get(oid) ?? {};
        entry.writes ??= { at: pos, mode };
        if (blocks === 'reads' && !entry.reads) entry.reads = { at: pos };
        first.set(oid, entry);
      }
    });
    const span = (from: number, key: 'durationMs' | 'projectedMs') => list.slice(from).reduce((t, f) => t + (key === 'projectedMs' ? (f.measure.projectedMs ?? f.measure.durationMs) : f.measure.durationMs), 0);
    const anyProjection = list.some((f) => f.measure.projectedMs !== undefined);
    for (const [oid, entry] of first) {
      const relation = tables.get(oid)!.display;
      const add = (pos: number, hold: Omit<LockHold, 'ms' | 'untilLine' | 'relation'>) => {
        const at = list[pos]!.obs.index;
        const h: HoldOf = { oid, hold: { relation, ...hold, ms: span(pos, 'durationMs'), untilLine: last.measure.line } };
        if (anyProjection) h.hold.projectedMs = span(pos, 'projectedMs');
        const arr = out.get(at);
        if (arr) arr.push(h);
        else out.set(at, [h]);
      };
      if (entry.reads) add(entry.reads.at, { mode: 'AccessExclusiveLock', blocks: 'reads' });
      if (entry.writes && (!entry.reads || entry.writes.at < entry.reads.at)) add(entry.writes.at, { mode: entry.writes.mode, blocks: 'writes' });
    }
  }
  return out;
}

/** How sure the time is: how many runs, how far apart, how far from the threshold. */
function certainty(facts: readonly StatementFacts[], thresholdMs: number): string {
  const runs = Math.max(1, ...facts.map((f) => f.measure.runsMs?.length ?? 1));
  const measured = facts.reduce((t, f) => t + f.measure.durationMs, 0);
  const margin = Math.round(((measured - thresholdMs) / thresholdMs) * 100);
  const where = margin >= 0 ? `${margin}% over the threshold` : `${-margin}% under the threshold`;
  if (runs === 1) return `one run, ${where}`;
  const totals = Array.from({ length: runs }, (_, k) => facts.reduce((t, f) => t + (f.measure.runsMs?.[k] ?? f.measure.durationMs), 0));
  const spread = Math.round(((Math.max(...totals) - Math.min(...totals)) / Math.max(1, Math.min(...totals))) * 100);
  return `fastest of ${runs} runs (${totals.map(formatDuration).join(', ')}; they differ by ${spread}%), ${where}`;
}
