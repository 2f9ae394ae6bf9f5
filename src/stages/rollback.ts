import { performance } from 'node:perf_hooks';
import { dumpSchema } from '../db/pg-dump.js';
import { compareRoles, type RoleChange, type RoleSnapshot } from '../db/roles.js';
import type { SchemaSnapshot } from '../db/schema-model.js';
import { ScopedSnapshots } from '../db/scoped-snapshot.js';
import type { Finding } from '../report/model.js';
import { findStatementNaming } from '../sql/names.js';
import type { ParsedSource } from '../sql/parse.js';
import { reachableNames } from '../sql/reach.js';
import { emptyOutcome, type PreparedMigration, type StageContext } from './context.js';
import { describeDown, describeReup, SAME_MEANING, trimDiff, type Described, type Snapshots } from './rollback-messages.js';
import { changeKey, compareSnapshots, objectDiff, type ObjectChange } from './schema-diff.js';
import type { WalkObserver, WalkStep } from './walk.js';

/** A line in the up file that says "this migration has no way back, on purpose". */
const IRREVERSIBLE_MARK = /^[ \t]*--[ \t]*migration-ci:[ \t]*irreversible\b/im;

export function isMarkedIrreversible(upText: string): boolean {
  return IRREVERSIBLE_MARK.test(upText);
}

interface Snapshotter {
  /** Snapshot A; `reuse`: the last snapshot taken, when nothing but rows went in since. */
  first(step: WalkStep, reuse: SchemaSnapshot | undefined): Promise<SchemaSnapshot>;
  /** B, C and D; `last`: D, which the next migration may reuse as its A. */
  then(step: WalkStep, last: boolean): Promise<SchemaSnapshot>;
}

function snapshotter(ctx: StageContext, position: ReadonlyMap<PreparedMigration, number>): Snapshotter {
  const opts = { ignore: ctx.config.ignore, strictColumnOrder: ctx.config.strictColumnOrder, bookkeeping: ctx.bookkeeping };
  if (ctx.config.snapshot === 'pg_dump') {
    const dump = (step: WalkStep) => dumpSchema(step.db.url, { ...opts, runCommand: ctx.runCommand, cwd: ctx.config.root, timeoutMs: ctx.config.statementTimeoutMs });
    return { first: async (step, reuse) => reuse ?? dump(step), then: dump };
  }
  // Scoped to what each migration can reach, the rest proved unchanged from catalog row versions: the same snapshots, at a cost that follows the scope, not the schema.
  const scoped = new ScopedSnapshots(opts);
  const names = new Map<PreparedMigration, string[] | undefined>();
  const namesOf = (p: PreparedMigration | undefined) => {
    // A migration tool's own steps may run anything: its files say nothing sure.
    if (!p || ctx.config.upCommand !== undefined) return undefined;
    if (!names.has(p)) names.set(p, migrationReach(p));
    return names.get(p);
  };
  return {
    first: (step, reuse) => scoped.first(step.client, namesOf(step.prepared), reuse !== undefined),
    then: (step, last) => scoped.then(step.client, last ? namesOf(ctx.migrations[position.get(step.prepared)! + 1]) : undefined),
  };
}

/** Each migration's place in the run: looked up per migration, so not searched for. */
function positions(ctx: StageContext): Map<PreparedMigration, number> {
  return new Map(ctx.migrations.map((p, i) => [p, i]));
}

/** The names a migration's up and down can reach; undefined when that cannot be read from them. */
function migrationReach(p: PreparedMigration): string[] | undefined {
  if (p.migration.code || !p.up.ok || (p.down !== undefined && !p.down.ok)) return undefined;
  return reachableNames([p.up.parsed, ...(p.down ? [p.down.parsed] : [])]);
}

/**
 * Stage 2 riding along the walk: for each migration under test, on the database that holds
 * everything before it, snapshot A; up; B; down; C; up again; D. C must equal A and D must equal
 * B; every difference is a finding that names the object.
 */
export function createRollbackObserver(ctx: StageContext): WalkObserver {
  const outcome = emptyOutcome('rollback');
  const position = positions(ctx);
  const take = snapshotter(ctx, position);
  // Migrations that are code: the project's tool takes each step, the down is its down command.
  const commandMode = ctx.config.upCommand !== undefined;
  let beforeUp: SchemaSnapshot | undefined;
  let afterUp: SchemaSnapshot | undefined;
  /** The server's roles before the up, when the run tracks them. */
  let rolesBeforeUp: RoleSnapshot | undefined;
  /** Objects already reported for the current migration: the second up does not report them again. */
  let reported = new Set<string>();
  /** The schema after the last migration's second up, while nothing but rows went into the database since. */
  let latest: { prepared: PreparedMigration; snapshot: SchemaSnapshot } | undefined;
  /** Formats without downs get one notice for the run, not one error per migration. */
  let upOnlyNoticed = false;

  /** Enum labels the down leaves behind: a warning if the up can run again, an error if not. */
  let enumLabels: Array<{ finding: Finding; hint: string }> = [];
  let roundTripStart = 0;
  const settle = (step: WalkStep, status: 'pass' | 'warn' | 'fail' | 'skip', note?: string) => {
    const { version, name } = step.prepared.migration;
    outcome.perMigration.set(version, status);
    const durationMs = roundTripStart > 0 ? performance.now() - roundTripStart : 0;
    ctx.progress({ kind: 'migration', stage: 'rollback', version, name, status, durationMs, ...(note ? { note } : {}) });
  };
  const finish = (step: WalkStep) => {
    const version = step.prepared.migration.version;
    const mine = outcome.findings.filter((f) => f.migration === version);
    settle(step, mine.some((f) => f.severity === 'error') ? 'fail' : mine.some((f) => f.severity === 'warning') ? 'warn' : 'pass');
  };

  return {
    outcome,
    wantsRoundTrip: true,

    async beforeUp(step) {
      const last = latest;
      latest = undefined;
      beforeUp = afterUp = undefined;
      reported = new Set();
      enumLabels = [];
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
      const previous = ctx.migrations[position.get(step.prepared)! - 1];
      rolesBeforeUp = ctx.server.tracksRoles ? await ctx.server.roles() : undefined;
      beforeUp = await take.first(step, last !== undefined && last.prepared === previous ? last.snapshot : undefined);
    },

    async afterUp(step) {
      if (!beforeUp) return;
      afterUp = await take.then(step, false);
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
      const afterDown = await take.then(step, false);
      const changes = compareSnapshots(beforeUp, afterDown);
      for (const c of changes) reported.add(changeKey(c));
      const labelsOnly = new Map(changes.filter(isEnumLabelsLeft).map((c) => [changeKey(c), c]));
      for (const f of downFindings(step, changes, { beforeUp, afterUp, afterDown })) {
        const change = f.keys.length === 1 ? labelsOnly.get(f.keys[0]!) : undefined;
        if (change) enumLabels.push({ finding: f.finding, hint: enumRecipe(change) });
        else outcome.findings.push(f.finding);
      }
      if (rolesBeforeUp) outcome.findings.push(...compareRoles(rolesBeforeUp, await ctx.server.roles()).map((c) => roleFinding(step, c)));
    },

    async afterReup(step, result) {
      if (!afterUp) return;
      // Postgres cannot drop an enum label: harmless while the up can run again, fatal when it cannot.
      const labels = enumLabels;
      enumLabels = [];
      if (!result.ok) {
        outcome.findings.push(...labels.map((l) => l.finding));
        settle(step, 'fail', 'the second up fails');
        return;
      }
      outcome.findings.push(...labels.map((l) => ({ ...l.finding, severity: 'warning' as const, rule: 'enum-label-kept', hint: l.hint })));
      const again = await take.then(step, true);
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
  let file = line !== undefined ? blamed!.source.file : fallback.source.file;
  let at = line ?? 1;
  let related: Finding['related'];
  // What the down lacks goes on the down, at its end, where the fix is added; the up statement it undoes is a pointer.
  if (rule === 'down-not-restoring' && d.blame === 'up' && step.down) {
    const last = step.down.statements.at(-1);
    if (line !== undefined) related = { file: step.up.source.file, line, message: `the down of ${migration.version} does not undo this` };
    file = step.down.source.file;
    at = last ? last.line : 1;
  }
  return {
    stage: 'rollback',
    severity: d.rule !== undefined && SAME_MEANING.has(d.rule) ? 'notice' : 'error',
    rule: d.rule ?? rule,
    migration: migration.version,
    file,
    line: at,
    message: d.message,
    ...(detail ? { detail: trimDiff(detail) } : {}),
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.fix ? { fix: d.fix } : {}),
    ...(related ? { related } : {}),
  };
}

function downFindings(step: WalkStep, changes: ObjectChange[], s: Snapshots): Array<{ finding: Finding; keys: string[] }> {
  const version = step.prepared.migration.version;
  const labels = { before: `schema before the up of ${version}`, after: `schema after the down of ${version}` };
  return describeDown(changes, s, version).map((d) => ({ finding: toFinding(step, d, 'down-not-restoring', objectDiff(s.beforeUp, s.afterDown, d.keys, labels)), keys: d.keys }));
}

/** A role the down leaves, loses or changes: roles are the server's, so this outlives any database. */
function roleFinding(step: WalkStep, c: RoleChange): Finding {
  const { version } = step.prepared.migration;
  const message =
    c.kind === 'added'
      ? `role ${c.role} is left behind by the down of ${version}`
      : c.kind === 'removed'
        ? `role ${c.role} is gone after the down of ${version}`
        : `role ${c.role} is changed after the down of ${version}`;
  const detail = [c.before !== undefined ? `before the up: ${c.before || '(no attributes)'}` : '', c.after !== undefined ? `after the down: ${c.after || '(no attributes)'}` : '']
    .filter(Boolean)
    .join('\n');
  return {
    stage: 'rollback',
    severity: 'error',
    rule: 'down-not-restoring',
    migration: version,
    file: (step.down ?? step.up).source.file,
    line: 1,
    message,
    detail,
    hint: c.kind === 'added' ? `drop the role in the down (DROP ROLE ${c.role}), after what it owns and was granted` : 'make the down undo exactly what the up does to the role',
  };
}

/** Quoted labels as the snapshot writes them: `'a', 'b'`. */
function labelList(v: string | undefined): string[] {
  return [...(v ?? '').matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!);
}

/** An enum that has more labels after the down than before the up, and lost none: labels the up added, which Postgres cannot drop. */
function isEnumLabelsLeft(c: ObjectChange): c is Extract<ObjectChange, { type: 'changed' }> {
  if (c.type !== 'changed' || c.after.kind !== 'type' || !c.after.attributes.some((a) => a.name === 'kind' && a.value === 'enum')) return false;
  if (c.attributes.length !== 1 || c.attributes[0]!.name !== 'labels') return false;
  const before = labelList(c.attributes[0]!.before);
  const after = new Set(labelList(c.attributes[0]!.after));
  return before.every((l) => after.has(l)) && after.size > before.length;
}

/** How a down gives an enum its old labels back: a new type, the columns moved to it, the old one dropped. */
function enumRecipe(c: Extract<ObjectChange, { type: 'changed' }>): string {
  const type = c.after.name;
  const old = `${c.after.ident}_old`;
  return [
    'Postgres cannot drop an enum label, and the up runs again after the down, so leaving the label is safe. To give the type back its old labels, the down rebuilds it:',
    `CREATE TYPE ${old} AS ENUM (${c.attributes[0]!.before ?? ''});`,
    `ALTER TABLE <each table using it> ALTER COLUMN <column> TYPE ${old} USING <column>::text::${old};`,
    `DROP TYPE ${type};`,
    `ALTER TYPE ${old} RENAME TO ${c.after.ident};`,
  ].join('\n');
}
function reupFindings(step: WalkStep, changes: ObjectChange[], afterUp: SchemaSnapshot, again: SchemaSnapshot): Finding[] {
  const version = step.prepared.migration.version;
  const labels = { before: `schema after the first up of ${version}`, after: `schema after the second up of ${version}` };
  return describeReup(changes, version).map((d) => toFinding(step, d, 'reup-differs', objectDiff(afterUp, again, d.keys, labels)));
}
