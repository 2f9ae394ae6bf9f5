/**
 * The SQL that would make a down give back the schema before its up, written from the two
 * snapshots: a DROP for what is left behind, the CREATE of what is missing, the ALTER that puts
 * an attribute back. Undefined where the snapshots do not hold enough to write it.
 */

import type { SchemaObject, SchemaSnapshot } from '../db/schema-model.js';
import type { AttributeChange } from './schema-diff.js';

/** Words Postgres reserves (and a few it treats specially as names): these are quoted. */
const RESERVED = new Set(
  'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset on only or order placing primary references returning select session_user some symmetric system_user table then to trailing true union unique user using variadic when where window with'.split(
    ' ',
  ),
);

/** An identifier as people write it: bare when Postgres would read it back the same, quoted otherwise. */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function qualified(schema: string, name: string): string {
  return schema === 'public' || schema === '' ? ident(name) : `${ident(schema)}.${ident(name)}`;
}

function attr(o: SchemaObject, name: string): string | undefined {
  return o.attributes.find((a) => a.name === name)?.value;
}

function has(o: SchemaObject, name: string): boolean {
  return o.attributes.some((a) => a.name === name);
}

/** The table a child object belongs to, as SQL. */
function tableOf(o: SchemaObject, s: SchemaSnapshot): string | undefined {
  if (o.parent === undefined) return undefined;
  const p = s.objects.get(o.parent);
  if (p !== undefined) return qualified(p.schema, p.ident);
  const m = /^relation (.+)$/.exec(o.parent);
  if (!m) return undefined;
  const [schema, ...rest] = m[1]!.split('.');
  return qualified(schema!, rest.join('.'));
}

const endStatement = (sql: string) => (/;\s*$/.test(sql) ? sql.trimEnd() : `${sql.trimEnd()};`);

/** `'active'` for `'active'::text`: the cast Postgres adds to a literal says nothing. */
function plainDefault(value: string): string {
  const m = /^('(?:[^']|'')*')::[a-z ]+$/.exec(value);
  return m ? m[1]! : value;
}

function columnDefinition(o: SchemaObject): string | undefined {
  const type = attr(o, 'type');
  if (type === undefined) return undefined;
  const parts = [ident(o.ident), type];
  const collation = attr(o, 'collation');
  if (collation !== undefined) parts.push(`COLLATE ${collation}`);
  const generated = attr(o, 'generated');
  if (generated !== undefined) parts.push(`GENERATED ${generated}`);
  const def = attr(o, 'default');
  if (def !== undefined) parts.push(`DEFAULT ${plainDefault(def)}`);
  const identity = attr(o, 'identity');
  if (identity !== undefined) parts.push(`${identity} AS IDENTITY`);
  if (has(o, 'NOT NULL')) parts.push('NOT NULL');
  return parts.join(' ');
}

const COMMENT_KIND: Record<string, string> = { table: 'TABLE', view: 'VIEW', 'materialized view': 'MATERIALIZED VIEW', index: 'INDEX', sequence: 'SEQUENCE', type: 'TYPE', schema: 'SCHEMA', function: 'FUNCTION', procedure: 'PROCEDURE' };

/** The statement that removes an object the down leaves behind (or adds). */
export function dropStatement(o: SchemaObject, s: SchemaSnapshot): string | undefined {
  const table = tableOf(o, s);
  const name = qualified(o.schema, o.ident);
  switch (o.kind) {
    case 'table':
      return `DROP TABLE ${name};`;
    case 'view':
      return `DROP VIEW ${name};`;
    case 'materialized view':
      return `DROP MATERIALIZED VIEW ${name};`;
    case 'foreign table':
      return `DROP FOREIGN TABLE ${name};`;
    case 'column':
      return table && `ALTER TABLE ${table} DROP COLUMN ${ident(o.ident)};`;
    case 'constraint':
      return table && `ALTER TABLE ${table} DROP CONSTRAINT ${ident(o.ident)};`;
    case 'index':
      return `DROP INDEX ${name};`;
    case 'trigger':
    case 'policy':
    case 'rule':
      return table && `DROP ${o.kind.toUpperCase()} ${ident(o.ident)} ON ${table};`;
    case 'statistics':
      return `DROP STATISTICS ${name};`;
    case 'sequence':
      return `DROP SEQUENCE ${name};`;
    case 'type':
      return `DROP TYPE ${name};`;
    case 'function':
    case 'procedure':
    case 'aggregate':
      // The name of a routine carries its argument types: `f(integer)`.
      return `DROP ${o.kind.toUpperCase()} ${o.name};`;
    case 'schema':
      return `DROP SCHEMA ${ident(o.ident)};`;
    case 'extension':
      return `DROP EXTENSION ${ident(o.ident)};`;
    default:
      return undefined;
  }
}

/** The statement that re-creates an object the down does not give back, as it was before the up. */
export function createStatement(o: SchemaObject, s: SchemaSnapshot): string | undefined {
  const table = tableOf(o, s);
  const name = qualified(o.schema, o.ident);
  const definition = attr(o, 'definition');
  switch (o.kind) {
    case 'column': {
      const def = columnDefinition(o);
      return table && def && `ALTER TABLE ${table} ADD COLUMN ${def};`;
    }
    case 'constraint':
      return table && definition && `ALTER TABLE ${table} ADD CONSTRAINT ${ident(o.ident)} ${definition};`;
    case 'index':
    case 'trigger':
    case 'rule':
    case 'statistics':
    case 'function':
    case 'procedure':
      // pg_get_*def gives the whole CREATE statement.
      return definition && (o.kind === 'statistics' ? endStatement(`CREATE STATISTICS ${definition}`) : endStatement(definition));
    case 'view':
    case 'materialized view':
      return definition && endStatement(`CREATE ${o.kind.toUpperCase()} ${name} AS\n${definition}`);
    case 'table':
      return createTable(o, s);
    case 'sequence':
      return `CREATE SEQUENCE ${name};`;
    case 'schema':
      return `CREATE SCHEMA ${ident(o.ident)};`;
    case 'extension':
      return `CREATE EXTENSION ${ident(o.ident)};`;
    case 'type': {
      const labels = attr(o, 'labels');
      return attr(o, 'kind') === 'enum' && labels !== undefined ? `CREATE TYPE ${name} AS ENUM (${labels});` : undefined;
    }
    default:
      return undefined;
  }
}

/** A table with its columns and constraints, then its other indexes. */
function createTable(t: SchemaObject, s: SchemaSnapshot): string | undefined {
  const children = [...s.objects.values()].filter((o) => o.parent === t.key);
  const columns = children.filter((o) => o.kind === 'column').map(columnDefinition);
  if (columns.length === 0 || columns.some((c) => c === undefined)) return undefined;
  const constraints = children.filter((o) => o.kind === 'constraint' && attr(o, 'type') !== 'not null' && attr(o, 'definition') !== undefined);
  const lines = [...columns, ...constraints.map((c) => `CONSTRAINT ${ident(c.ident)} ${attr(c, 'definition')}`)];
  // Sequences a serial column owns come first (its default names them) and are owned again after.
  const owned = children.filter((o) => o.kind === 'sequence' && attr(o, 'owned by') !== undefined);
  const out = owned.map((q) => `CREATE SEQUENCE ${qualified(q.schema, q.ident)}${attr(q, 'type') && attr(q, 'type') !== 'bigint' ? ` AS ${attr(q, 'type')}` : ''};`);
  out.push(`CREATE TABLE ${qualified(t.schema, t.ident)} (\n  ${lines.join(',\n  ')}\n);`);
  for (const q of owned) {
    const column = attr(q, 'owned by')!.split('.').pop()!;
    out.push(`ALTER SEQUENCE ${qualified(q.schema, q.ident)} OWNED BY ${qualified(t.schema, t.ident)}.${ident(column)};`);
  }
  // Indexes behind a constraint come with it.
  const constraintNames = new Set(constraints.map((c) => c.ident));
  for (const i of children.filter((o) => o.kind === 'index' && !constraintNames.has(o.ident))) {
    const def = attr(i, 'definition');
    if (def !== undefined) out.push(endStatement(def));
  }
  return out.join('\n');
}

/** The statement that puts one attribute back to its value before the up. */
export function restoreStatement(o: SchemaObject, a: AttributeChange, before: SchemaSnapshot, after: SchemaSnapshot): string | undefined {
  const table = tableOf(o, after);
  if (o.kind === 'column' && table !== undefined) {
    const column = `ALTER TABLE ${table} ALTER COLUMN ${ident(o.ident)}`;
    if (a.name === 'default') return a.before === undefined ? `${column} DROP DEFAULT;` : `${column} SET DEFAULT ${plainDefault(a.before)};`;
    if (a.name === 'NOT NULL') return a.before === undefined ? `${column} DROP NOT NULL;` : `${column} SET NOT NULL;`;
    if (a.name === 'type' && a.before !== undefined) return `${column} TYPE ${a.before};`;
  }
  if (a.name === 'comment') {
    const kind = o.kind === 'column' ? 'COLUMN' : COMMENT_KIND[o.kind];
    const target = o.kind === 'column' ? (table && `${table}.${ident(o.ident)}`) : ['function', 'procedure'].includes(o.kind) ? o.name : qualified(o.schema, o.ident);
    if (kind === undefined || target === undefined) return undefined;
    return `COMMENT ON ${kind} ${target} IS ${a.before === undefined ? 'NULL' : `'${a.before.replace(/'/g, "''")}'`};`;
  }
  if (a.name === 'definition' && a.before !== undefined) {
    // A definition cannot be altered in place: drop what is there, create what was.
    const was = before.objects.get(o.key);
    if (was === undefined) return undefined;
    if (o.kind === 'function' || o.kind === 'procedure') return endStatement(a.before);
    if (o.kind === 'view') return endStatement(`CREATE OR REPLACE VIEW ${qualified(o.schema, o.ident)} AS\n${a.before}`);
    const drop = dropStatement(o, after);
    const create = createStatement(was, before);
    return drop && create && `${drop}\n${create}`;
  }
  return undefined;
}

/** The statement that gives an object renamed by the up its old name back. */
export function renameStatement(now: SchemaObject, was: SchemaObject, s: SchemaSnapshot): string | undefined {
  const table = tableOf(now, s);
  const to = ident(was.ident);
  switch (now.kind) {
    case 'column':
      return table && `ALTER TABLE ${table} RENAME COLUMN ${ident(now.ident)} TO ${to};`;
    case 'constraint':
      return table && `ALTER TABLE ${table} RENAME CONSTRAINT ${ident(now.ident)} TO ${to};`;
    case 'trigger':
      return table && `ALTER TRIGGER ${ident(now.ident)} ON ${table} RENAME TO ${to};`;
    case 'table':
    case 'view':
    case 'materialized view':
    case 'index':
    case 'sequence':
    case 'type':
      return `ALTER ${now.kind.toUpperCase()} ${qualified(now.schema, now.ident)} RENAME TO ${to};`;
    default:
      return undefined;
  }
}
