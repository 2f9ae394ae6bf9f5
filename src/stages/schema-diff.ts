import { createTwoFilesPatch } from 'diff';
import { renderObjectWithChildren, type SchemaObject, type SchemaSnapshot } from '../db/schema-model.js';

/** One value of one attribute on both sides; `undefined` where the attribute is absent. */
export interface AttributeChange {
  name: string;
  before: string | undefined;
  after: string | undefined;
}

export type ObjectChange =
  /** In the second snapshot only. */
  | { type: 'added'; object: SchemaObject }
  /** In the first snapshot only. */
  | { type: 'removed'; object: SchemaObject }
  | { type: 'changed'; before: SchemaObject; after: SchemaObject; attributes: AttributeChange[] };

export function changeKey(c: ObjectChange): string {
  return c.type === 'changed' ? c.after.key : c.object.key;
}

/** The object a change is about (the newer side when both exist). */
export function changedObject(c: ObjectChange): SchemaObject {
  return c.type === 'changed' ? c.after : c.object;
}

function attributeChanges(a: SchemaObject, b: SchemaObject): AttributeChange[] {
  const before = new Map(a.attributes.map((x) => [x.name, x.value]));
  const after = new Map(b.attributes.map((x) => [x.name, x.value]));
  const names = [...before.keys(), ...[...after.keys()].filter((n) => !before.has(n))];
  return names.filter((n) => before.get(n) !== after.get(n)).map((n) => ({ name: n, before: before.get(n), after: after.get(n) }));
}

/**
 * Object-level differences between two snapshots, in the order of the snapshots. An object added
 * or removed together with the object it belongs to (a column with its table) is not listed on
 * its own: the table is the one fact.
 */
export function compareSnapshots(before: SchemaSnapshot, after: SchemaSnapshot): ObjectChange[] {
  const out: ObjectChange[] = [];
  const removed = new Set<string>();
  const added = new Set<string>();
  for (const [key, o] of before.objects) {
    const other = after.objects.get(key);
    if (!other) {
      removed.add(key);
      if (o.parent === undefined || !removed.has(o.parent)) out.push({ type: 'removed', object: o });
      continue;
    }
    // Scoped snapshots share the objects nothing could have changed: the same object, no change.
    if (o === other) continue;
    const attributes = attributeChanges(o, other);
    if (attributes.length > 0) out.push({ type: 'changed', before: o, after: other, attributes });
  }
  for (const [key, o] of after.objects) {
    if (before.objects.has(key)) continue;
    added.add(key);
    if (o.parent === undefined || !added.has(o.parent)) out.push({ type: 'added', object: o });
  }
  return out;
}

export function snapshotsEqual(a: SchemaSnapshot, b: SchemaSnapshot): boolean {
  return compareSnapshots(a, b).length === 0;
}

/**
 * Unified diff of what two snapshots hold for some objects (each with everything that belongs
 * to it), under the given labels.
 */
export function objectDiff(
  before: SchemaSnapshot,
  after: SchemaSnapshot,
  keys: readonly string[],
  labels: { before: string; after: string },
): string {
  const text = (s: SchemaSnapshot) =>
    keys
      .map((k) => renderObjectWithChildren(s, k))
      .filter((t) => t !== '')
      .join('\n');
  return trimPatch(createTwoFilesPatch(labels.before, labels.after, text(before), text(after), undefined, undefined, { context: 3 }));
}

/** Unified diff of two whole texts (pg_dump output, say). */
export function textDiff(before: string, after: string, labels: { before: string; after: string }): string {
  return trimPatch(createTwoFilesPatch(labels.before, labels.after, before, after, undefined, undefined, { context: 3 }));
}

/** Without the `=====` banner the diff package puts above the file names. */
function trimPatch(patch: string): string {
  return patch.replace(/^=+\n/, '').replace(/\n+$/, '');
}
