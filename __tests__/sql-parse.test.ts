import { describe, expect, it } from 'vitest';
import { parseSource, statementHead } from '../src/sql/parse.js';
import { parse } from './support/sql.js';

describe('parseSource', () => {
  it('splits on semicolons outside strings, comments and dollar quotes', () => {
    const text = [
      "SELECT 'a;b';",
      '-- a comment; with a semicolon',
      '/* block; comment /* nested; */ */',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; SELECT 2; $body$;',
      'SELECT $$;$$, E\'\\\';\';',
      'CREATE TABLE t (id int)',
    ].join('\n');
    const p = parse(text);
    expect(p.statements.map((s) => s.kind)).toEqual(['SelectStmt', 'CreateFunctionStmt', 'SelectStmt', 'CreateStmt']);
    expect(p.statements.map((s) => s.line)).toEqual([1, 4, 5, 6]);
    expect(p.statements[1]!.column).toBe(1);
    // The text sent to the server is exactly the file's bytes between separators.
    expect(p.statements.map((s) => s.sql).join(';')).toBe(text);
    expect(statementHead(p.statements[1]!)).toMatch(/^CREATE FUNCTION f\(\) RETURNS int/);
  });

  it('keeps comments and empty statements before a statement in its text, and its line at its first token', () => {
    const text = 'SELECT 1;;\n-- why; because\n;  /* note */ SELECT 2 ;\nCREATE TABLE v (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL)';
    const p = parse(text);
    expect(p.statements.map((s) => [s.kind, s.line, s.column])).toEqual([
      ['SelectStmt', 1, 1],
      ['SelectStmt', 3, 15],
      ['CreateStmt', 4, 1],
    ]);
    expect(p.statements[1]!.sql).toBe('  /* note */ SELECT 2 ');
  });

  it('splits a file it refuses by tokens, so the server can judge the statements it does not know', () => {
    const text = [
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END;',
      "-- ünïcode; and a semicolon\nSELECT 5 !;",
      "SELECT 'a;b'",
    ].join('\n');
    const r = parseSource({ file: 'm.sql', text });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ line: 3, column: 11 });
    const lenient = r.lenient!;
    expect(lenient.statements.map((s) => [s.kind, s.line, s.unparsed?.line])).toEqual([
      ['CreateFunctionStmt', 1, undefined],
      ['Unknown', 3, 3],
      ['SelectStmt', 4, undefined],
    ]);
    expect(lenient.statements.map((s) => s.sql).join(';')).toBe(text);
    // An unterminated string leaves nothing to split.
    const open = parseSource({ file: 'm.sql', text: "SELECT 'never closed" });
    expect(!open.ok && open.lenient).toBe(undefined);
  });

  it('maps byte offsets to characters after non-ASCII text', () => {
    const text = "-- Überprüfung der Städte 🚀\nINSERT INTO t VALUES ('ü');\n  CREATE INDEX i ON t (x);";
    const p = parse(text);
    expect(p.statements).toHaveLength(2);
    expect(p.statements[0]!.line).toBe(2);
    expect(p.statements[0]!.column).toBe(1);
    expect(p.statements[1]!.line).toBe(3);
    expect(p.statements[1]!.column).toBe(3);
    expect(p.statements[1]!.sql.trim()).toBe('CREATE INDEX i ON t (x)');
  });

  it('reports a syntax error at its exact line and column, also after multi-byte characters', () => {
    const text = "-- día 1 🚀\nCREATE TABLE ä (id int);\n\nALTER TABLE ä AERT COLUMN x;";
    const r = parseSource({ file: 'm.sql', text });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toBe('syntax error at or near "AERT"');
    expect(r.error.line).toBe(4);
    expect(r.error.column).toBe(15);
  });

  it('points an unterminated string at its opening quote', () => {
    const r = parseSource({ file: 'm.sql', text: "SELECT 1;\nSELECT 'open" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.error.line, r.error.column]).toEqual([2, 8]);
  });

  it('classifies statements that cannot run inside a transaction', () => {
    const p = parse(
      [
        'CREATE INDEX CONCURRENTLY a ON t (x);',
        'CREATE INDEX b ON t (x);',
        'DROP INDEX CONCURRENTLY a;',
        'REINDEX INDEX CONCURRENTLY b;',
        'VACUUM t;',
        'ANALYZE t;',
        'ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;',
        'BEGIN;',
        'COMMIT;',
      ].join('\n'),
    );
    expect(p.statements.map((s) => s.nonTransactional)).toEqual([true, false, true, true, true, false, true, false, false]);
    expect(p.statements.map((s) => s.transactionControl)).toEqual([false, false, false, false, false, false, false, true, true]);
  });

  it('keeps CRLF files and positions intact', () => {
    const p = parse('CREATE TABLE a (id int);\r\n\r\n  ALTER TABLE a ADD COLUMN b int;\r\n');
    expect(p.statements.map((s) => [s.line, s.column])).toEqual([
      [1, 1],
      [3, 3],
    ]);
  });

  it('returns no statements for a file of comments only', () => {
    expect(parse('-- nothing here\n/* still nothing */\n').statements).toEqual([]);
  });
});
