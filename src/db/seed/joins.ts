/**
 * The migration's own joins, as relations between generated rows. Columns a migration compares
 * (`templates.organization_id = organization_members.organization_id`) form one key space:
 * - when one of them is a table's single-column key, the others take their values from that
 *   table's rows, as through a foreign key nobody declared;
 * - when one already has a foreign key, the others follow the same parent;
 * - otherwise every one of them takes the same values for the same row number.
 */
import type { Catalog, CatalogColumn, CatalogTable, ForeignKey } from './catalog.js';

export interface JoinColumn {
  /** "schema.table" or "table" (any schema). */
  table: string;
  column: string;
}

export interface JoinHint {
  left: JoinColumn;
  right: JoinColumn;
}

/** Columns that share values row by row: table oid -> attnum -> the key space's name. */
export type SharedKeys = Map<number, Map<number, string>>;

interface Member {
  table: CatalogTable;
  col: CatalogColumn;
}

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8']);

function baseTypeName(catalog: Catalog, typid: number): string | undefined {
  let t = catalog.types.get(typid);
  for (let i = 0; t && t.typtype === 'd' && i < 10; i++) t = catalog.types.get(t.base);
  return t?.schema === 'pg_catalog' ? t.name : t ? `${t.schema}.${t.name}` : undefined;
}

/** Values of one column can stand for the other's without a failing cast. */
function compatible(catalog: Catalog, a: CatalogColumn, b: CatalogColumn): boolean {
  const x = baseTypeName(catalog, a.typid);
  const y = baseTypeName(catalog, b.typid);
  if (x === undefined || y === undefined) return false;
  return x === y || (INTEGER_TYPES.has(x) && INTEGER_TYPES.has(y));
}

/**
 * Adds the foreign keys the joins imply to a copy of the catalog (marked virtual), and names the
 * key spaces of joined columns no key or foreign key anchors.
 */
export function applyJoinHints(
  catalog: Catalog,
  hints: JoinHint[],
  tableOf: (name: string) => CatalogTable | undefined,
): { catalog: Catalog; shared: SharedKeys } {
  const shared: SharedKeys = new Map();
  if (hints.length === 0) return { catalog, shared };
  const memberOf = (c: JoinColumn): Member | undefined => {
    const table = tableOf(c.table);
    const col = table?.columns.find((x) => x.name === c.column);
    return table && col && col.generated === '' ? { table, col } : undefined;
  };
  // Union-find over "oid:attnum".
  const parent = new Map<string, string>();
  const members = new Map<string, Member>();
  const id = (m: Member): string => `${m.table.oid}:${m.col.attnum}`;
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const h of hints) {
    const a = memberOf(h.left);
    const b = memberOf(h.right);
    if (!a || !b || a.table.oid === b.table.oid || !compatible(catalog, a.col, b.col)) continue;
    for (const m of [a, b]) {
      if (!parent.has(id(m))) {
        parent.set(id(m), id(m));
        members.set(id(m), m);
      }
    }
    parent.set(find(id(a)), find(id(b)));
  }
  const groups = new Map<string, Member[]>();
  for (const k of members.keys()) {
    const root = find(k);
    groups.set(root, [...(groups.get(root) ?? []), members.get(k)!]);
  }

  const fks = new Map([...catalog.fks].map(([k, v]) => [k, [...v]]));
  const declared = (m: Member): ForeignKey | undefined =>
    (catalog.fks.get(m.table.oid) ?? []).find((fk) => fk.cols.length === 1 && fk.cols[0] === m.col.attnum);
  const singleKey = (m: Member): boolean =>
    (catalog.uniques.get(m.table.oid) ?? []).some((k) => k.length === 1 && k[0] === m.col.attnum);
  const referenced = (m: Member): boolean => catalog.referenced.has(`${m.table.oid}:${m.col.name}`);
  const rank = (m: Member): number =>
    (referenced(m) ? 8 : 0) + (m.col.name === 'id' ? 4 : 0) + (m.col.identity !== '' || /^nextval\(/i.test(m.col.defaultExpr ?? '') ? 2 : 0);

  for (const [root, group] of groups) {
    let source: { oid: number; schema: string; name: string; col: string; len: number } | undefined;
    const keys = group.filter((m) => singleKey(m) && !declared(m)).sort((a, b) => rank(b) - rank(a));
    const key = keys[0];
    if (key) {
      source = { oid: key.table.oid, schema: key.table.schema, name: key.table.name, col: key.col.name, len: catalog.types.get(key.col.typid)?.len ?? -1 };
    } else {
      const fk = group.map(declared).find((f) => f !== undefined);
      if (fk) source = { oid: fk.parent, schema: fk.parentSchema, name: fk.parentName, col: fk.parentCols[0]!, len: fk.parentLens[0]! };
    }
    if (!source) {
      for (const m of group) {
        const cols = shared.get(m.table.oid) ?? new Map<number, string>();
        cols.set(m.col.attnum, root);
        shared.set(m.table.oid, cols);
      }
      continue;
    }
    for (const m of group) {
      if (m.table.oid === source.oid || declared(m)) continue;
      const list = fks.get(m.table.oid) ?? [];
      list.push({
        name: `join ${m.table.name}.${m.col.name} = ${source.name}.${source.col}`,
        table: m.table.oid,
        cols: [m.col.attnum],
        parent: source.oid,
        parentSchema: source.schema,
        parentName: source.name,
        parentCols: [source.col],
        parentLens: [source.len],
        virtual: true,
      });
      fks.set(m.table.oid, list);
    }
  }
  return { catalog: { ...catalog, fks }, shared };
}
