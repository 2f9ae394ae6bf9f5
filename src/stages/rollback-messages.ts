/**
 * What the rollback stage says about each difference between two snapshots: one sentence that
 * names the object, which migration file is to blame, and how to find the statement there.
 */

import type { SchemaObject, SchemaSnapshot } from '../db/schema-model.js';
import { createStatement, dropStatement, renameStatement, restoreStatement } from './rollback-fix.js';
import { changedObject, type AttributeChange, type ObjectChange } from './schema-diff.js';

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
export const SAME_MEANING = new Set(['expression-rewritten', 'layout-differs']);

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
export interface Described {
  message: string;
  hint?: string;
  /** Set for differences that are no error (see `SAME_MEANING`). */
  rule?: string;
  blame: 'up' | 'down';
  locate: readonly (readonly string[])[];
  keys: string[];
  /** The SQL that would make the down give back the schema before the up. */
  fix?: string;
}

function withFix(d: Described, fix: string | undefined): Described {
  return fix === undefined ? d : { ...d, fix };
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

export interface Snapshots {
  beforeUp: SchemaSnapshot;
  afterUp: SchemaSnapshot;
  afterDown: SchemaSnapshot;
}

/** What is wrong with the state after the down, object by object, said from the down's point of view. */
export function describeDown(changes: ObjectChange[], s: Snapshots, version: string): Described[] {
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
    const d: Described = { message, blame, locate: [[oldName.ident, newName.ident], ...(blame === 'up' ? oldName.locate : newName.locate)], keys: [oldName.key, newName.key] };
    out.push(withFix(d, renameStatement(newName, oldName, s.afterDown)));
  }

  for (const c of changes) {
    if (paired.has(c)) continue;
    if (c.type === 'added') {
      const o = c.object;
      const d: Described = s.afterUp.objects.has(o.key)
        ? { message: `${label(o)} is left behind by ${down}`, blame: 'up', locate: o.locate, keys: [o.key] }
        : { message: `${label(o)} is added by ${down} but was never there`, blame: 'down', locate: o.locate, keys: [o.key] };
      out.push(withFix(d, dropStatement(o, s.afterDown)));
    } else if (c.type === 'removed') {
      const o = c.object;
      const d: Described = s.afterUp.objects.has(o.key)
        ? { message: `${label(o)} is dropped by ${down}, but its up did not create it`, blame: 'down', locate: o.locate, keys: [o.key] }
        : { message: `${label(o)} is not restored by ${down}`, blame: 'up', locate: o.locate, keys: [o.key] };
      out.push(withFix(d, createStatement(o, s.beforeUp)));
    } else {
      for (const a of c.attributes) {
        const d = describeAttribute(c.after, a, attributeOf(s.afterUp, c.after.key, a.name), s.afterUp.objects.has(c.after.key), down);
        out.push(d.rule !== undefined && SAME_MEANING.has(d.rule) ? d : withFix(d, restoreStatement(c.after, a, s.beforeUp, s.afterDown)));
      }
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
export function describeReup(changes: ObjectChange[], version: string): Described[] {
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

/**
 * A schema diff as a reviewer reads it: the two labels, then per object its heading and the
 * lines that differ; hunk headers and unchanged attributes left out.
 */
export function trimDiff(diff: string): string {
  const out: string[] = [];
  for (const line of diff.split('\n')) {
    if (line.startsWith('@@')) continue;
    // An unchanged line stays when it names an object (no indent): it says whose lines follow.
    if (line.startsWith(' ') && /^ {2}/.test(line.slice(1))) continue;
    if (line === ' ' || line === '') continue;
    out.push(line);
  }
  // A heading with nothing under it says nothing.
  return out.filter((l, i) => !(l.startsWith(' ') && (out[i + 1] === undefined || out[i + 1]!.startsWith(' ')))).join('\n');
}
