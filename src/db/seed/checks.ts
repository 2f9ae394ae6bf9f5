/** CHECK constraint heuristics (single-column checks only): value lists and numeric bounds. */
import type { Bounds } from './values.js';

function columnRefPattern(col: string): string {
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const quoted = `"${col.replace(/"/g, '""')}"`;
  return /^[a-z_][a-z0-9_$]*$/.test(col) ? `(?:${esc(col)}|${esc(quoted)})` : esc(quoted);
}

/**
 * `CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))` (how Postgres prints `status IN ('a','b')`)
 * -> the ARRAY[...] text and its length.
 */
export function parseInListCheck(def: string, col: string): { array: string; length: number } | undefined {
  const at = def.indexOf(' = ANY (');
  if (at < 0 || !def.startsWith('CHECK ')) return undefined;
  const head = def.slice('CHECK '.length, at);
  const headRe = new RegExp(`^\\(*${columnRefPattern(col)}\\)?(?:::[a-z ]+(?:\\(\\d+\\))?)?$`);
  if (!headRe.test(head)) return undefined;
  let i = at + ' = ANY ('.length;
  while (def[i] === '(') i++;
  if (!def.startsWith('ARRAY[', i)) return undefined;
  const start = i;
  i += 'ARRAY['.length;
  let depth = 1;
  let commas = 0;
  let inQuote = false;
  for (; i < def.length && depth > 0; i++) {
    const ch = def[i];
    if (inQuote) {
      if (ch === "'") {
        if (def[i + 1] === "'") i++;
        else inQuote = false;
      }
      continue;
    }
    if (ch === "'") inQuote = true;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    else if (ch === ',' && depth === 1) commas++;
  }
  if (depth !== 0) return undefined;
  const array = def.slice(start, i);
  const tail = def.slice(i);
  if (!/^(?:\)|::[a-z ]+(?:\(\d+\))?\[\])*$/.test(tail)) return undefined;
  return { array, length: commas + 1 };
}

/** `CHECK (((rating >= 1) AND (rating <= 5)))` -> { lo: 1, hi: 5 }; `CHECK ((id = 1))` -> { lo: 1, hi: 1 }; undefined for anything else. */
export function parseBoundsCheck(def: string, col: string): Bounds | undefined {
  if (!def.startsWith('CHECK ')) return undefined;
  const body = def.slice('CHECK '.length).replace(/[()]/g, '');
  const partRe = new RegExp(`^${columnRefPattern(col)}(?:::[a-z ]+)? (>=|>|<=|<|=) '?(-?\\d+(?:\\.\\d+)?)'?(?:::[a-z ]+)?$`);
  const out: Bounds = {};
  for (const part of body.split(' AND ')) {
    const m = partRe.exec(part.trim());
    if (!m) return undefined;
    const v = Number(m[2]);
    switch (m[1]) {
      case '>=':
        out.lo = Math.max(out.lo ?? -Infinity, Math.ceil(v));
        break;
      case '>':
        out.lo = Math.max(out.lo ?? -Infinity, Math.floor(v) + 1);
        break;
      case '<=':
        out.hi = Math.min(out.hi ?? Infinity, Math.floor(v));
        break;
      case '<':
        out.hi = Math.min(out.hi ?? Infinity, Math.ceil(v) - 1);
        break;
      case '=':
        if (!Number.isInteger(v)) return undefined;
        out.lo = Math.max(out.lo ?? -Infinity, v);
        out.hi = Math.min(out.hi ?? Infinity, v);
        break;
    }
  }
  if (out.lo !== undefined && !Number.isSafeInteger(out.lo)) return undefined;
  if (out.hi !== undefined && !Number.isSafeInteger(out.hi)) return undefined;
  return out;
}
