/**
 * The names a migration can reach: every identifier and string its up and down write, from the
 * parse trees (DO bodies read with the PL/pgSQL parser). A scoped schema snapshot reads the
 * objects of these names in detail and proves the rest unchanged from row versions, so the list may
 * hold too much (a column alias, a word in a comment string) but must name what the statements
 * name. Undefined when the reach cannot be read: dynamic SQL in a DO block, a statement the parser
 * refused, a migration that is code.
 */
import { isNode, routineSource, walk, type Node } from './nodes.js';
import type { ParsedSource } from './parse.js';
import { plpgsqlTrees, readPlpgsqlBody } from './plpgsql.js';

/** Postgres truncates identifiers to NAMEDATALEN - 1 bytes. */
const MAX_IDENTIFIER_BYTES = 63;

const IDENTIFIER = /"((?:[^"]|"")+)"|([\p{L}_][\p{L}\p{N}_$]*)/gu;

export function reachableNames(sources: readonly ParsedSource[]): string[] | undefined {
  const names = new Set<string>();
  for (const source of sources) {
    for (const stmt of source.statements) {
      if (stmt.unparsed || Object.keys(stmt.node).length === 0) return undefined;
      if (!collect(stmt.node, names)) return undefined;
    }
  }
  return [...names].sort();
}

/** Adds the names of one tree; false when a DO block in it runs SQL that cannot be read. */
function collect(tree: unknown, names: Set<string>): boolean {
  for (const node of walk(tree)) {
    for (const v of Object.values(node)) if (typeof v === 'string') addWords(v, names);
    const d = isNode(node.DoStmt) ? node.DoStmt : undefined;
    if (d && !readableDo(d, names)) return false;
  }
  return true;
}

function readableDo(d: Node, names: Set<string>): boolean {
  const source = routineSource('DoStmt', d);
  if (!source) return true;
  if (source.language !== 'plpgsql') return false;
  // Dynamic SQL names what only the run knows.
  const inner = plpgsqlTrees(readPlpgsqlBody(source.text));
  if (!inner || inner.dynamic) return false;
  return inner.trees.every((n) => collect(n, names));
}

/** A string of the tree and every identifier inside it (`'billing.invoice_seq'` -> billing, invoice_seq). */
function addWords(text: string, names: Set<string>): void {
  add(text, names);
  if (!/[^\p{L}\p{N}_$]/u.test(text)) return;
  for (const m of text.matchAll(IDENTIFIER)) {
    if (m[1] !== undefined) add(m[1].replace(/""/g, '"'), names);
    else {
      add(m[2]!, names);
      add(m[2]!.toLowerCase(), names);
    }
  }
}

function add(name: string, names: Set<string>): void {
  if (name === '') return;
  names.add(name);
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > MAX_IDENTIFIER_BYTES) {
    // Cut at a character boundary, as Postgres does.
    let end = MAX_IDENTIFIER_BYTES;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    names.add(bytes.subarray(0, end).toString('utf8'));
  }
}
