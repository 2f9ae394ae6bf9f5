import type { Migration, SqlSource } from './types.js';

export interface Substitutions {
  /** `${name}` -> value (Flyway placeholders). */
  placeholders: Record<string, string>;
  /** Literal text replacements, in order (projects that template SQL with comments). */
  replacements: Array<{ from: string; to: string }>;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Applies placeholders and replacements to SQL text before parsing. Line numbers stay those of
 * the file as long as values hold no newline; columns after a replacement on the same line shift
 * by the difference in length.
 */
export function substituteText(text: string, subs: Substitutions): string {
  let out = text;
  for (const { from, to } of subs.replacements) {
    if (from !== '') out = out.split(from).join(to);
  }
  const names = Object.keys(subs.placeholders);
  if (names.length > 0) {
    const pattern = new RegExp(`\\$\\{(${names.map(escapeRegExp).join('|')})\\}`, 'g');
    out = out.replace(pattern, (_, name: string) => subs.placeholders[name]!);
  }
  return out;
}

function substituteSource(source: SqlSource, subs: Substitutions): SqlSource {
  return { ...source, text: substituteText(source.text, subs) };
}

export function substituteMigration(m: Migration, subs: Substitutions): Migration {
  if (subs.replacements.length === 0 && Object.keys(subs.placeholders).length === 0) return m;
  return {
    ...m,
    up: substituteSource(m.up, subs),
    down: m.down ? substituteSource(m.down, subs) : undefined,
    ...(m.verify ? { verify: substituteSource(m.verify, subs) } : {}),
  };
}
