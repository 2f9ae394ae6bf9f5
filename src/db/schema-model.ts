import { ANY_TOOL, isBookkeepingTable, type Bookkeeping } from './bookkeeping.js';

/**
 * The schema of a database as a set of named objects with ordered attributes: what the rollback
 * stage compares. Built from the catalogs (`snapshot.ts`) or from pg_dump (`pg-dump.ts`); rendered
 * as text, one object per block in a stable order, for unified diffs.
 */

export interface SchemaAttribute {
  /** `type`, `default`, `definition`, `NOT NULL`... */
  name: string;
  /** Empty for a flag whose presence is the whole fact (`NOT NULL`, `row level security`). */
  value: string;
}

export interface SchemaObject {
  /** Unique within a snapshot; the same object has the same key in every snapshot of a run. */
  key: string;
  /** How people name the kind: `table`, `column`, `index`, `type`, `function`... */
  kind: string;
  /** How findings name it: `users_status_idx`, `users.status`, `billing.invoices`. */
  name: string;
  /** Its own identifier, unqualified: `users_status_idx`, `status`. */
  ident: string;
  /** Key of the object it belongs to (a column's table); absent for top-level objects. */
  parent?: string;
  /** Identifier sets a statement creating, dropping or altering this object would mention, most specific first. */
  locate: string[][];
  /** Names matched against ignore patterns (bare and schema-qualified). */
  names: string[];
  schema: string;
  /** Sort key: objects of one table sort together, the table first. */
  order: string;
  attributes: SchemaAttribute[];
}

export interface SchemaSnapshot {
  /** In rendering order. */
  objects: Map<string, SchemaObject>;
}

/** `users` for the public schema, `billing.invoices` otherwise. */
export function displayName(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

/** Glob on names: `*` is any run of characters but a dot, `?` one such character; case-insensitive. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '[^.]*';
    else if (ch === '?') re += '[^.]';
    else re += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

/**
 * Decides which objects a comparison leaves out: the tool's bookkeeping, and whatever the
 * user's patterns name (an object, its table or its schema).
 */
export class IgnoreRules {
  private readonly patterns: RegExp[];
  private readonly bookkeeping: Bookkeeping;

  constructor(patterns: readonly string[] = [], bookkeeping: Bookkeeping = ANY_TOOL) {
    this.bookkeeping = bookkeeping;
    this.patterns = patterns.filter((p) => p.trim() !== '').map((p) => globToRegExp(p.trim()));
  }

  schemaIgnored(schema: string): boolean {
    return this.bookkeeping.schemas.has(schema) || this.patterns.some((p) => p.test(schema));
  }

  /** For top-level objects: the bookkeeping tables of migration tools count only as tables. */
  objectIgnored(o: Pick<SchemaObject, 'kind' | 'ident' | 'names' | 'schema'>): boolean {
    if (this.schemaIgnored(o.schema)) return true;
    if (o.kind === 'table' && isBookkeepingTable(o.schema, o.ident, this.bookkeeping)) return true;
    return o.names.some((n) => this.patterns.some((p) => p.test(n)));
  }

  /** Drops ignored objects and everything that belongs to one. */
  apply(objects: SchemaObject[]): SchemaObject[] {
    const dropped = new Set<string>();
    const kept: SchemaObject[] = [];
    // Parents come before their children: tables are listed before columns, indexes...
    for (const o of objects) {
      if ((o.parent !== undefined && dropped.has(o.parent)) || this.objectIgnored(o)) {
        dropped.add(o.key);
        continue;
      }
      kept.push(o);
    }
    return kept;
  }
}

/** Code-point order, independent of locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A snapshot from objects in any order: sorted, and objects whose parent is missing are dropped. */
export function buildSnapshot(objects: SchemaObject[]): SchemaSnapshot {
  const keys = new Set(objects.map((o) => o.key));
  const sorted = objects.filter((o) => o.parent === undefined || keys.has(o.parent)).sort((a, b) => compareText(a.order, b.order) || compareText(a.key, b.key));
  return { objects: new Map(sorted.map((o) => [o.key, o])) };
}

/** One object as a block of text: its kind and name, then one attribute a line. */
export function renderObject(o: SchemaObject): string {
  const lines = [`${o.kind} ${o.name}`];
  for (const a of o.attributes) {
    if (a.value === '') lines.push(`  ${a.name}`);
    else if (!a.value.includes('\n')) lines.push(`  ${a.name}: ${a.value}`);
    else lines.push(`  ${a.name}:`, ...a.value.split('\n').map((l) => (l === '' ? '' : `    ${l}`)));
  }
  return lines.join('\n') + '\n';
}

/** The whole snapshot as text, objects in order, a blank line between blocks. */
export function renderSnapshot(s: SchemaSnapshot): string {
  return [...s.objects.values()].map(renderObject).join('\n');
}

/** An object and everything that belongs to it, as text: what a finding about it shows. */
export function renderObjectWithChildren(s: SchemaSnapshot, key: string): string {
  const out: string[] = [];
  for (const o of s.objects.values()) {
    if (o.key === key || isDescendant(s, o, key)) out.push(renderObject(o));
  }
  return out.join('\n');
}

function isDescendant(s: SchemaSnapshot, o: SchemaObject, ancestor: string): boolean {
  let p = o.parent;
  for (let depth = 0; p !== undefined && depth < 8; depth++) {
    if (p === ancestor) return true;
    p = s.objects.get(p)?.parent;
  }
  return false;
}
