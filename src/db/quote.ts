/**
 * Quoting helpers: every identifier and every literal the engine splices into SQL goes through
 * one of these. Identifiers are always double-quoted (never case-folded), literals are quoted the
 * way Postgres' own quote_literal() does it.
 */

/** `"name"`, with embedded double quotes doubled. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new TypeError('identifier contains a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"`. */
export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * A string literal: `'it''s'`; with backslashes an escape string `E'a\\b'`, so the result means
 * the same whatever standard_conforming_strings is set to. `null` gives `NULL`.
 */
export function quoteLiteral(value: string | number | boolean | bigint | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `'${String(value)}'`;
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value.includes('\0')) throw new TypeError('string literal contains a NUL character');
  const body = value.replace(/'/g, "''");
  if (body.includes('\\')) return `E'${body.replace(/\\/g, '\\\\')}'`;
  return `'${body}'`;
}
