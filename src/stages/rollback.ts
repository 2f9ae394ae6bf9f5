import { performance } from 'node:perf_hooks';
import { dumpSchema } from '../db/pg-dump.js';
import type { SchemaObject, SchemaSnapshot } from '../db/schema-model.js';
import { snapshotSchema } from '../db/snapshot.js';
import type { Finding } from '../report/model.js';
import { findStatementNaming } from '../sql/names.js';
import type { ParsedSource } from '../sql/parse.js';
import { emptyOutcome, type StageContext } from './context.js';
import { changedObject, changeKey, compareSnapshots, objectDiff, type AttributeChange, type ObjectChange } from './schema-diff.js';
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
      beforeUp = afterUp = undefined;
      reported = new Set();
      roundTripStart = 0;
      const { migration } = step.prepared;
      const hasDown = commandMode ? ctx.config.downCommand !== undefined : migration.down !== undefined;
      if (!hasDown) {
        const f = missingDownFinding(step, ctx.config.allowIrreversible, commandMode);
        outcome.findings.push(f);
        settle(step, f.severity === 'error' ? 'fail' : 'skip', 'no down');
        return;
      }
      // A down that does not parse is reported by the syntax stage; there is nothing to run.
      if (!commandMode && !step.down) return;
      beforeUp = await take(step);
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
      finish(step);
    },
  };
}

function missingDownFinding(step: WalkStep, allowIrreversible: boolean, commandMode: boolean): Finding {
  const m = step.prepared.migration;
  const base = { stage: 'rollback' as const, rule: 'missing-down', migration: m.version, file: m.up.file, line: 1 };
  if (isMarkedIrreversible(m.up.text)) {
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
  const expected = /\.up\.sql$/.test(m.up.file) ? ` (${m.up.file.replace(/\.up\.sql$/, '.down.sql')})` : '';
  return {
    ...base,
    severity: 'error',
    message: `${m.version} has no down migration: it cannot be rolled back`,
    hint: `add the down migration${expected}; if the change cannot be undone, put the line "-- migration-ci: irreversible" in the up file`,
  };
}

// ---------------------------------------------------------------------------------------------
// Messages

/**
 * An expression with its casts and the parentheses around single terms taken out. When a column
 * changes type and back, Postgres rewrites the expressions that use it (checks, defaults, index
 * expressions) with explicit casts: `CHECK (n >= 0)` comes back as `CHECK (n::numeric >= 0::numeric)`.
 */
function withoutCasts(expression: string): string {
  let out = expression.replace(/::(?:"[^"]+"|[a-z_][\w$]*)(?:\.(?:"[^"]+"|[a-z_][\w$]*))?(?:\s+(?:varying|precision|with(?:out)? time zone))*(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*/gi, '');
  for (let previous = ''; previous !== out; ) {
    previous = out;
    out = out.replace(/\(\s*([\w.$']+)\s*\)/g, '$1');
  }
  return out;
}

const layout = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Rules of differences that are no error: the same definition, written otherwise. */
const SAME_MEANING = new Set(['expression-rewritten', 'layout-differs']);

/**
 * When two values of an attribute mean the same (an expression that only gained casts, a body
 * that only differs in spacing), the finding that says so; undefined for a real difference.
 */
function sameMeaning(o: SchemaObject, a: AttributeChange, after: string): Described | undefined {
  if (a.before === undefined || a.after === undefined || a.before === a.after) return undefined;
  const base = { blame: 'down' as const, locate: o.locate, keys: [o.key] };
  if (withoutCasts(a.before) === withoutCasts(a.after)) {
    return {
      ...base,
      message: `${label(o)}: ${a.name} differs only in casts after ${after}`,
      hint: 'Postgres rewrites the expressions that use a column when its type changes, and keeps the casts when it changes back; the meaning is the same. Drop and re-create the object in the down to get the original text back',
      rule: 'expression-rewritten',
    };
  }
  if (layout(a.before) === layout(a.after)) {
    return {
      ...base,
      message: `${label(o)}: ${a.name} differs only in spacing and line breaks after ${after}`,
      hint: 'the down re-creates it from a text laid out differently from the one it had; copy it as it was to get the same text back',
      rule: 'layout-differs',
    };
  }
  return undefined;
}

const COLUMN_ORDER = 'column order';
const COLUMN_ORDER_HINT = 'column positions are compared because strict-column-order is set; a column added again goes to the end of the table';

/** Two comma-separated lists without their common head and tail: `…, b, a` and `…, a, b`. */
function differingMiddle(a: string, b: string): [string, string] {
  const x = a.split(', ');
  const y = b.split(', ');
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const show = (l: string[]) => [...(head > 0 ? ['…'] : []), ...l.slice(head, l.length - tail), ...(tail > 0 ? ['…'] : [])].join(', ');
  return [show(x), show(y)];
}

/** `column age is at position 13 after X, 4 before Y` when one column moved, else the lists that differ. */
function describeOrder(before: string, after: string, afterWhen: string, beforeWhen: string): string {
  const x = before.split(', ');
  const y = after.split(', ');
  const moved = x.find((c) => {
    const without = (l: string[]) => l.filter((n) => n !== c).join(', ');
    return y.includes(c) && x.indexOf(c) !== y.indexOf(c) && without(x) === without(y);
  });
  if (moved !== undefined) return `column ${moved} is at position ${y.indexOf(moved) + 1} ${afterWhen}, ${x.indexOf(moved) + 1} ${beforeWhen}`;
  const [b, a] = differingMiddle(before, after);
  return `column order is (${a}) ${afterWhen}, (${b}) ${beforeWhen}`;
}

/** Values longer than this are left out of messages; the diff in the detail shows them. */
const MAX_VALUE_IN_MESSAGE = 80;

function label(o: SchemaObject): string {
  return `${o.kind} ${o.name}`;
}

function shortValue(attribute: string, value: string): string | undefined {
  if (value === '' || value.includes('\n') || value.length > MAX_VALUE_IN_MESSAGE) return undefined;
  return attribute === 'comment' ? `'${value.replace(/'/g, "''")}'` : value;
}

/** `default 'active'::text`, `NOT NULL`, `definition` (too long to quote). */
function phrase(attribute: string, value: string): string {
  const v = shortValue(attribute, value);
  return v === undefined ? attribute : `${attribute} ${v}`;
}

/** Which file holds the statement to blame, and which names find it there. */
interface Described {
  message: string;
  hint?: string;
  /** Set for differences that are no error: the same expression, written with other casts. */
  rule?: string;
  blame: 'up' | 'down';
  locate: readonly (readonly string[])[];
  keys: string[];
}

function attributeOf(s: SchemaSnapshot, key: string, attribute: string): string | undefined {
  return s.objects.get(key)?.attributes.find((a) => a.name === attribute)?.value;
}

/** Same kind, same owner, same attributes once the names are swapped: one object under two names. */
function sameObjectRenamed(a: SchemaObject, b: SchemaObject): boolean {
  if (a.kind !== b.kind || a.parent !== b.parent || a.attributes.length !== b.attributes.length) return false;
  const rename = (v: string) => v.split(b.ident).join(a.ident);
  return a.attributes.every((x, i) => {
    const y = b.attributes[i]!;
    return x.name === y.name && x.value === rename(y.value);
  });
}

interface Snapshots {
  beforeUp: SchemaSnapshot;
  afterUp: SchemaSnapshot;
  afterDown: SchemaSnapshot;
}

/** What is wrong with the state after the down, object by object, said from the down's point of view. */
function describeDown(changes: ObjectChange[], s: Snapshots, version: string): Described[] {
  const out: Described[] = [];
  const down = `the down of ${version}`;
  const paired = new Set<ObjectChange>();
  // One object under another name: a rename the down does not undo, or a re-creation under a new name.
  for (const gone of changes) {
    if (gone.type !== 'removed' || paired.has(gone)) continue;
    const twin = changes.find((c) => c.type === 'added' && !paired.has(c) && sameObjectRenamed(gone.object, c.object));
    if (!twin || twin.type !== 'added') continue;
    const oldName = gone.object;
    const newName = twin.object;
    const inUp = (o: SchemaObject) => s.afterUp.objects.has(o.key);
    let message: string | undefined;
    let blame: Described['blame'] = 'up';
    if (inUp(newName) && !inUp(oldName)) {
      message = `${label(newName)} is not renamed back to ${oldName.ident} by ${down}`;
    } else if (!inUp(newName) && !inUp(oldName)) {
      message = `${label(oldName)} is restored by ${down} under another name: ${newName.ident}`;
      blame = 'down';
    }
    if (message === undefined) continue;
    paired.add(gone).add(twin);
    out.push({ message, blame, locate: [[oldName.ident, newName.ident], ...(blame === 'up' ? oldName.locate : newName.locate)], keys: [oldName.key, newName.key] });
  }

  for (const c of changes) {
    if (paired.has(c)) continue;
    if (c.type === 'added') {
      const o = c.object;
      out.push(
        s.afterUp.objects.has(o.key)
          ? { message: `${label(o)} is left behind by ${down}`, blame: 'up', locate: o.locate, keys: [o.key] }
          : { message: `${label(o)} is added by ${down} but was never there`, blame: 'down', locate: o.locate, keys: [o.key] },
      );
    } else if (c.type === 'removed') {
      const o = c.object;
      out.push(
        s.afterUp.objects.has(o.key)
          ? { message: `${label(o)} is dropped by ${down}, but its up did not create it`, blame: 'down', locate: o.locate, keys: [o.key] }
          : { message: `${label(o)} is not restored by ${down}`, blame: 'up', locate: o.locate, keys: [o.key] },
      );
    } else {
      for (const a of c.attributes) out.push(describeAttribute(c.after, a, attributeOf(s.afterUp, c.after.key, a.name), s.afterUp.objects.has(c.after.key), down));
    }
  }
  return out;
}

/**
 * One attribute of an object that the down does not give back. `up` is its value after the up,
 * `inUp` whether the object existed then (if not, the down re-created it).
 */
function describeAttribute(o: SchemaObject, a: AttributeChange, up: string | undefined, inUp: boolean, down: string): Described {
  const what = `${label(o)}: `;
  const base = { locate: o.locate, keys: [o.key] };
  if (a.after === undefined) {
    if (!inUp) return { ...base, message: `${what}${phrase(a.name, a.before!)} is not restored by ${down}`, blame: 'down' };
    return up === undefined
      ? { ...base, message: `${what}${phrase(a.name, a.before!)} is not restored by ${down}`, blame: 'up' }
      : { ...base, message: `${what}${phrase(a.name, a.before!)} is removed by ${down}, but its up did not remove it`, blame: 'down' };
  }
  const same = sameMeaning(o, a, down);
  if (same) return same;
  if (a.name === COLUMN_ORDER && a.before !== undefined) {
    return {
      ...base,
      message: `${what}${describeOrder(a.before, a.after, `after ${down}`, 'before its up')}`,
      hint: COLUMN_ORDER_HINT,
      blame: inUp && up === a.after ? 'up' : 'down',
    };
  }
  if (a.before === undefined) {
    return inUp && up === a.after
      ? { ...base, message: `${what}${phrase(a.name, a.after)} is left behind by ${down}`, blame: 'up' }
      : { ...base, message: `${what}${phrase(a.name, a.after)} is added by ${down} but was never there`, blame: 'down' };
  }
  if (inUp && up === a.after) {
    const from = shortValue(a.name, a.after);
    const to = shortValue(a.name, a.before);
    const message =
      from !== undefined && to !== undefined
        ? `${what}${a.name} ${from} is not changed back to ${to} by ${down}`
        : `${what}${a.name} is not changed back by ${down}`;
    return { ...base, message, blame: 'up' };
  }
  const from = shortValue(a.name, a.before);
  const to = shortValue(a.name, a.after);
  const message =
    from !== undefined && to !== undefined
      ? `${what}${a.name} is ${from} before the up but ${to} after ${down}`
      : `${what}${a.name} after ${down} is not the one before its up`;
  return { ...base, message, blame: 'down' };
}

/** What the second up does differently from the first. */
function describeReup(changes: ObjectChange[], version: string): Described[] {
  const lead = `the second up of ${version} gives a different schema: `;
  return changes.flatMap((c): Described[] => {
    const o = changedObject(c);
    const base = { blame: 'up' as const, locate: o.locate, keys: [o.key] };
    if (c.type === 'added') return [{ ...base, message: `${lead}${label(o)} is there after it but not after the first up` }];
    if (c.type === 'removed') return [{ ...base, message: `${lead}${label(o)} is there after the first up but not after the second` }];
    return c.attributes.map((a): Described => {
      const same = sameMeaning(o, a, `the second up of ${version}`);
      if (same) return { ...same, blame: 'up' };
      if (a.name === COLUMN_ORDER && a.before !== undefined && a.after !== undefined) {
        return { ...base, message: `${lead}${label(o)}: ${describeOrder(a.before, a.after, 'after it', 'after the first up')}`, hint: COLUMN_ORDER_HINT };
      }
      const first = a.before === undefined ? 'none' : shortValue(a.name, a.before);
      const second = a.after === undefined ? 'none' : shortValue(a.name, a.after);
      const message =
        first !== undefined && second !== undefined
          ? `${lead}${label(o)}: ${a.name} is ${second} after it, ${first} after the first up`
          : `${lead}${label(o)}: ${a.name} differs from the first up`;
      return { ...base, message };
    });
  });
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
