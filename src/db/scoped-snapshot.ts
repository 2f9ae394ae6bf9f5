import type pg from 'pg';
import { baseOf, unchangedOutside, type ScopeBase } from './catalog-scope.js';
import { buildSnapshot, IgnoreRules, type SchemaObject, type SchemaSnapshot } from './schema-model.js';
import { readScoped, type SnapshotOptions, type TaggedRead } from './snapshot.js';

/**
 * Full schema snapshots at the cost of what one migration can reach. The first snapshot of a run
 * reads the whole catalog; each later one reads in detail only the units the migration's names
 * reach, with the catalog rows that prove the rest unchanged, and takes everything else from the
 * snapshot before it. That is only allowed while the rest is provably the same: every catalog row
 * outside the scope must be the row the last read held outside it (`unchangedOutside`). When it
 * is not, or when the migration's reach cannot be read, the whole catalog is read again. Every snapshot handed out is
 * therefore the one `snapshotSchema` would give, object for object.
 */
export class ScopedSnapshots {
  private readonly rules: IgnoreRules;
  private readonly strictColumnOrder: boolean;
  /** The last state read: every object (ignore rules not applied) with its unit, and the snapshot. */
  private state: { objects: Map<string, SchemaObject>; units: Map<string, string>; snapshot: SchemaSnapshot } | undefined;
  /** The current migration's names, their units in the last state and that state's base under them. */
  private chain: Scope<readonly string[] | undefined> = { names: undefined, units: new Set(), base: undefined };
  /** The last state under the next migration's names, when the last read was asked for them. */
  private next: Scope<readonly string[]> | undefined;
  /** Reads done: in detail, whole, and whole because something outside the scope changed. */
  readonly stats = { detail: 0, whole: 0, outsideMoved: 0 };

  constructor(opts: SnapshotOptions = {}) {
    this.rules = new IgnoreRules(opts.ignore, opts.bookkeeping);
    this.strictColumnOrder = opts.strictColumnOrder ?? false;
  }

  /**
   * The first snapshot of a migration whose up and down reach `names` (undefined: cannot be told).
   * `unchanged`: the schema is as the last snapshot saw it, which was asked for these names.
   */
  async first(client: pg.ClientBase, names: readonly string[] | undefined, unchanged: boolean): Promise<SchemaSnapshot> {
    const next = this.next;
    this.next = undefined;
    if (unchanged && this.state && next && names && sameNames(next.names, names)) {
      this.chain = next;
      return this.state.snapshot;
    }
    const read = await this.read(client, [names ?? []], true);
    this.chain = scopeOf(names, read, 0);
    return this.state!.snapshot;
  }

  /** A later snapshot of the same migration; `nextNames`: the next migration's, when this one may be its first. */
  async then(client: pg.ClientBase, nextNames?: readonly string[]): Promise<SchemaSnapshot> {
    const scopes = [this.chain.names ?? [], ...(nextNames ? [nextNames] : [])];
    let read: TaggedRead | undefined;
    const base = this.chain.base;
    if (this.chain.names !== undefined && this.state && base) {
      const scoped = await readScoped(client, scopes, false, this.strictColumnOrder, base);
      this.stats.detail++;
      if (unchangedOutside(base, scoped.catalog) && this.merge(scoped)) read = scoped;
      else this.stats.outsideMoved++;
    }
    read ??= await this.read(client, scopes, false);
    this.chain = scopeOf(this.chain.names, read, 0);
    this.next = nextNames ? scopeOf(nextNames, read, 1) : undefined;
    return this.state!.snapshot;
  }

  private async read(client: pg.ClientBase, scopes: ReadonlyArray<readonly string[]>, isFirst: boolean): Promise<TaggedRead> {
    const read = await readScoped(client, scopes, true, this.strictColumnOrder);
    this.stats.whole++;
    this.state = { objects: new Map(read.objects.map((o) => [o.key, o])), units: read.units, snapshot: this.build(read.objects) };
    if (isFirst) this.next = undefined;
    return read;
  }

  /** The last state outside the scope with the scope's objects as read now; false if they overlap, which a sound scope never does. */
  private merge(scoped: TaggedRead): boolean {
    const prev = this.state!;
    const objects = new Map<string, SchemaObject>();
    const units = new Map<string, string>();
    for (const [key, o] of prev.objects) {
      const unit = prev.units.get(key)!;
      if (this.chain.units.has(unit)) continue;
      objects.set(key, o);
      units.set(key, unit);
    }
    for (const o of scoped.objects) {
      const unit = scoped.units.get(o.key)!;
      // Kinds read whole every time (schemas, extensions...) replace their old selves.
      if (objects.has(o.key) && units.get(o.key) !== '0') return false;
      objects.set(o.key, o);
      units.set(o.key, unit);
    }
    for (const [key, unit] of units) {
      if (unit !== '0' || scoped.units.has(key)) continue;
      objects.delete(key);
      units.delete(key);
    }
    this.state = { objects, units, snapshot: this.build([...objects.values()]) };
    return true;
  }

  private build(objects: readonly SchemaObject[]): SchemaSnapshot {
    // Ignore rules drop an object's children with it: parents first.
    const ordered = [...objects.filter((o) => o.parent === undefined), ...objects.filter((o) => o.parent !== undefined)];
    return buildSnapshot(this.rules.apply(ordered));
  }
}

interface Scope<N> {
  names: N;
  /** Units the names reach in the last state read. */
  units: Set<string>;
  /** That state under these names, for the next read to be checked against; undefined: it cannot be. */
  base: ScopeBase | undefined;
}

function scopeOf<N>(names: N, read: TaggedRead, i: number): Scope<N> {
  return { names, units: read.catalog.scopes[i]!.units, base: baseOf(read.catalog, i) };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
