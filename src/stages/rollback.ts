import { performance } from 'node:perf_hooks';
import { dumpSchema } from '../db/pg-dump.js';
import type { SchemaSnapshot } from '../db/schema-model.js';
import { snapshotSchema } from '../db/snapshot.js';
import type { Finding } from '../report/model.js';
import { findStatementNaming } from '../sql/names.js';
import type { ParsedSource } from '../sql/parse.js';
import { emptyOutcome, type PreparedMigration, type StageContext } from './context.js';
import { describeDown, describeReup, SAME_MEANING, type Described, type Snapshots } from './rollback-messages.js';
import { changeKey, compareSnapshots, objectDiff, type ObjectChange } from './schema-diff.js';
import type { WalkObserver, WalkStep } from './walk.js';

/** A line in the up file that says "this migration has no way back, on purpose". */
const IRREVERSIBLE_MARK = /^[ \t]*--[ \t]*migration-ci:[ \t]*irreversible\b/im;

export function isMarkedIrreversible(upText: string): boolean {
  return IRREVERSIBLE_MARK.test(upText);
}

type TakeSnapshot = (step: WalkStep) => Promise<SchemaSnapshot>;

function snapshotter(ctx: StageContext): TakeSnapshot {
  const opts = { ignore: ctx.config.ignore, strictColumnOrder: ctx.config.strictColumnOrder };
  if (ctx.config.snapshot === 'pg_dump') {
    return (step) => dumpSchema(step.db.url, { ...opts, runCommand: ctx.runCommand, cwd: ctx.config.root, timeoutMs: ctx.config.statementTimeoutMs });
  }
  return (step) => snapshotSchema(step.client, opts);
}

/**
 * Stage 2 riding along the walk: for each migration under test, on the database that holds
 * everything before it, snapshot A; up; B; down; C; up again; D. C must equal A and D must equal
 * B; every difference is a finding that names the object.
 */
export function createRollbackObserver(ctx: StageContext): WalkObserver {
  const outcome = emptyOutcome('rollback');
  const take = snapshotter(ctx);
  // Migrations that are code: the project's tool takes each step, the down is its down command.
  const commandMode = ctx.config.upCommand !== undefined;
  let beforeUp: SchemaSnapshot | undefined;
  let afterUp: SchemaSnapshot | undefined;
  /** Objects already reported for the current migration: the second up does not report them again. */
  let reported = new Set<string>();
  /** The schema after the last migration's second up, while nothing but rows went into the database since. */
  let latest: { prepared: PreparedMigration; snapshot: SchemaSnapshot } | undefined;
  /** Formats without downs get one notice for the run, not one error per migration. */
  let upOnlyNoticed = false;

  let roundTripStart = 0;
  const settle = (step: WalkStep, status: 'pass' | 'fail' | 'skip', note?: string) => {
    const { version, name } = step.prepared.migration;
    outcome.perMigration.set(version, status);
    const durationMs = roundTripStart > 0 ? performance.now() - roundTripStart : 0;
    ctx.progress({ kind: 'migration', stage: 'rollback', version, name, status, durationMs, ...(note ? { note } : {}) });
  };
  const finish = (step: WalkStep) => {
    const version = step.prepared.migration.version;
    const failed = outcome.findings.some((f) => f.migration === version && f.severity === 'error');
    settle(step, failed ? 'fail' : 'pass');
  };

  return {
    outcome,
    wantsRoundTrip: true,

    async beforeUp(step) {
      const last = latest;
      latest = undefined;
      beforeUp = afterUp = undefined;
      reported = new Set();
      roundTripStart = 0;
      const { migration } = step.prepared;
      const hasDown = commandMode ? ctx.config.downCommand !== undefined : migration.down !== undefined;
      // A repeatable migration (Flyway R__) is re-applied, never rolled back: nothing to test, nothing missing.
      if (!hasDown && migration.repeatable) {
        settle(step, 'skip', 'repeatable');
        return;
      }
      if (!hasDown && migration.upOnly && !ctx.config.requireDown) {
        if (!upOnlyNoticed) {
          upOnlyNoticed = true;
          outcome.findings.push({
            stage: 'rollback',
            severity: 'notice',
            rule: 'format-without-down',
            migration: migration.version,
            file: migration.up.file,
            line: 1,
            message: `${migration.upOnly} migrations have no down: those without one are not rolled back`,
            hint: 'set require-down to make every migration without a down an error',
          });
        }
        settle(step, 'skip', 'no down in this format');
        return;
      }
      if (!hasDown) {
        const f = missingDownFinding(step, ctx.config.allowIrreversible, commandMode);
        outcome.findings.push(f);
        settle(step, f.severity === 'error' ? 'fail' : 'skip', 'no down');
        return;
      }
      // A down that does not parse is reported by the syntax stage; there is nothing to run.
      if (!commandMode && !step.down) return;
      // Right after the previous migration's staircase only seed rows went in: its last snapshot is this one's first.
      const previous = ctx.migrations[ctx.migrations.indexOf(step.prepared) - 1];
      beforeUp = last !== undefined && last.prepared === previous ? last.snapshot : await take(step);
    },

    async afterUp(step) {
      if (!beforeUp) return;
      afterUp = await take(step);
      roundTripStart = performance.now();
    },

    async afterDown(step, result) {
      if (!beforeUp || !afterUp) return;
      if (!result.ok) {
        // The walk reports the failing statement.
        settle(step, 'fail', 'the down fails');
        beforeUp = afterUp = undefined;
        return;
      }
      const afterDown = await take(step);
      const changes = compareSnapshots(beforeUp, afterDown);
      for (const c of changes) reported.add(changeKey(c));
      outcome.findings.push(...downFindings(step, changes, { beforeUp, afterUp, afterDown }));
    },

    async afterReup(step, result) {
      if (!afterUp) return;
      if (!result.ok) {
        settle(step, 'fail', 'the second up fails');
        return;
      }
      const again = await take(step);
      const changes = compareSnapshots(afterUp, again).filter((c) => !reported.has(changeKey(c)));
      outcome.findings.push(...reupFindings(step, changes, afterUp, again));
      latest = { prepared: step.prepared, snapshot: again };
      finish(step);
    },
  };
}

function missingDownFinding(step: WalkStep, allowIrreversible: boolean, commandMode: boolean): Finding {
  const m = step.prepared.migration;
  const base = { stage: 'rollback' as const, rule: 'missing-down', migration: m.version, file: m.up.file, line: 1 };
  if (isMarkedIrreversible(m.up.text) || m.irreversible) {
    return { ...base, severity: 'notice', message: `${m.version} is marked irreversible: it has no down migration to test` };
  }
  if (allowIrreversible) {
    return { ...base, severity: 'notice', message: `${m.version} has no down migration (allowed by allow-irreversible)` };
  }
  if (commandMode) {
    return {
      ...base,
      severity: 'error',
      message: `no down-command is given: ${m.version} cannot be rolled back`,
      hint: 'set down-command to the command that rolls one migration step back, or allow-irreversible if there is none',
    };
  }
  // golang-migrate's `.up.sql` and the directory layouts' `up.sql` have their down beside them.
  const expected = /(^|\/|\.)up\.sql$/.test(m.up.file) ? ` (${m.up.file.replace(/up\.sql$/, 'down.sql')})` : '';
  return {
    ...base,
    severity: 'error',
    message: `${m.version} has no down migration: it cannot be rolled back`,
    hint: `add the down migration${expected}; if the change cannot be undone, put the line "-- migration-ci: irreversible" in the up file`,
  };
}

// ---------------------------------------------------------------------------------------------
// Findings

function locate(parsed: ParsedSource | undefined, d: Described): number | undefined {
  if (!parsed) return undefined;
  return findStatementNaming(parsed, d.locate)?.line;
}

function toFinding(step: WalkStep, d: Described, rule: string, detail: string): Finding {
  const { migration } = step.prepared;
  const blamed = d.blame === 'up' ? step.up : step.down;
  const line = locate(blamed, d);
  // No statement to point at: the file that has to change, from its top.
  const fallback = rule === 'reup-differs' ? step.up : (step.down ?? step.up);
  const file = line !== undefined ? blamed!.source.file : fallback.source.file;
  return {
    stage: 'rollback',
    severity: d.rule !== undefined && SAME_MEANING.has(d.rule) ? 'notice' : 'error',
    rule: d.rule ?? rule,
    migration: migration.version,
    file,
    line: line ?? 1,
    message: d.message,
    ...(detail ? { detail } : {}),
    ...(d.hint ? { hint: d.hint } : {}),
  };
}

function downFindings(step: WalkStep, changes: ObjectChange[], s: Snapshots): Finding[] {
  const version = step.prepared.migration.version;
  const labels = { before: `schema before the up of ${version}`, after: `schema after the down of ${version}` };
  return describeDown(changes, s, version).map((d) => toFinding(step, d, 'down-not-restoring', objectDiff(s.beforeUp, s.afterDown, d.keys, labels)));
}

function reupFindings(step: WalkStep, changes: ObjectChange[], afterUp: SchemaSnapshot, again: SchemaSnapshot): Finding[] {
  const version = step.prepared.migration.version;
  const labels = { before: `schema after the first up of ${version}`, after: `schema after the second up of ${version}` };
  return describeReup(changes, version).map((d) => toFinding(step, d, 'reup-differs', objectDiff(afterUp, again, d.keys, labels)));
}
