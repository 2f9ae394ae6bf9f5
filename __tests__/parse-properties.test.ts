import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadParser, parseSource } from '../src/sql/parse.js';
import { skipTrivia } from '../src/sql/positions.js';

beforeAll(async () => {
  await loadParser();
});

// Prefixed so that no generated name is a reserved word.
const ident = fc.stringMatching(/^[a-z0-9_]{0,12}$/).map((s) => `t_${s}`);
// Text that stresses the splitter: semicolons, quotes, dollar signs, non-ASCII and astral characters.
const tricky = fc.array(fc.constantFrom('a', ';', "''", ' ', '$', 'é', '🚀', '--', '/*', '*/', '\\', '"', '\n', 'x'), { maxLength: 12 }).map((p) => p.join(''));
const literal = tricky.map((t) => `'${t.replace(/'/g, "''")}'`);
const dollar = tricky.filter((t) => !t.includes('$body$')).map((t) => `$body$${t}$body$`);

const statement = fc.oneof(
  fc.tuple(ident, ident).map(([t, c]) => `CREATE TABLE ${t} (${c} int, note text DEFAULT 'a;b')`),
  fc.tuple(ident, literal).map(([t, v]) => `INSERT INTO ${t} VALUES (1, ${v})`),
  fc.tuple(ident, dollar).map(([f, body]) => `CREATE FUNCTION ${f}() RETURNS text LANGUAGE sql AS ${body.replace(/\$body\$(.*)\$body\$/s, (_, b) => `$body$ SELECT ${"'" + b.replace(/'/g, "''") + "'"}; $body$`)}`),
  fc.tuple(ident, ident).map(([t, c]) => `CREATE INDEX CONCURRENTLY ${t}_${c}_idx ON ${t} (${c})`),
  fc.tuple(ident, literal).map(([t, v]) => `COMMENT ON TABLE ${t} IS ${v}`),
  // Line-ending semicolons inside a body: where a large file may be cut and must be mended.
  ident.map((f) => `CREATE FUNCTION ${f}() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 1;\nEND;\n$$`),
  ident.map((f) => `CREATE FUNCTION ${f}() RETURNS int LANGUAGE sql BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND`),
);
const trivia = fc.constantFrom('', ' ', '\n', '\r\n', '\n-- a comment; with é\n', ' /* block; /* nested */ 🚀 */ ', '\n\n');

describe('statement splitter properties', () => {
  it('finds every statement, exactly as written, and loses no byte between them', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(trivia, statement), { minLength: 1, maxLength: 8 }), trivia, (parts, tail) => {
        const text = parts.map(([lead, stmt]) => `${lead}${stmt};`).join('') + tail;
        const r = parseSource({ file: 'p.sql', text });
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const stmts = r.parsed.statements;
        expect(stmts.map((s) => text.slice(s.tokenStart, s.start + s.sql.length))).toEqual(parts.map(([, stmt]) => stmt));
        // What lies between statements is only separators and trivia: nothing is dropped.
        let at = 0;
        for (const s of stmts) {
          expect(text.slice(at, s.start).replace(/;/g, ' ').trim() === '' || skipTrivia(text.replace(/;/g, ' '), at, s.start) === s.start).toBe(true);
          expect(text.slice(s.start, s.start + s.sql.length)).toBe(s.sql);
          at = s.start + s.sql.length;
        }
        expect(skipTrivia(text.replace(/;/g, ' '), at)).toBe(text.length);
      }),
      { numRuns: 300 },
    );
  });

  it('splits a large file in pieces exactly as in one piece', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(trivia, statement), { minLength: 2, maxLength: 30 }), fc.integer({ min: 20, max: 400 }), (parts, chunkChars) => {
        const text = parts.map(([lead, stmt]) => `${lead}${stmt};\n`).join('');
        const whole = parseSource({ file: 'p.sql', text });
        const pieces = parseSource({ file: 'p.sql', text }, { chunkChars });
        expect(whole.ok && pieces.ok).toBe(true);
        if (!whole.ok || !pieces.ok) return;
        expect(pieces.parsed.statements.map((s) => [s.start, s.sql, s.kind])).toEqual(whole.parsed.statements.map((s) => [s.start, s.sql, s.kind]));
      }),
      { numRuns: 150 },
    );
  });

  it('never throws on arbitrary text, and places an error inside the file', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const r = parseSource({ file: 'junk.sql', text });
        if (!r.ok) {
          const lines = text.split('\n');
          expect(r.error.line).toBeGreaterThanOrEqual(1);
          expect(r.error.line).toBeLessThanOrEqual(lines.length);
          expect(r.error.column).toBeGreaterThanOrEqual(1);
          expect(r.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reports a syntax error at the same place whether the file is parsed whole or in pieces', () => {
    fc.assert(
      fc.property(fc.array(statement, { minLength: 3, maxLength: 20 }), fc.nat(), fc.integer({ min: 20, max: 300 }), (stmts, at, chunkChars) => {
        const i = at % stmts.length;
        const broken = stmts.map((s, k) => (k === i ? s.replace(/^(\w+)/, '$1 OOPS') : s));
        const text = broken.map((s) => `${s};\n`).join('');
        const whole = parseSource({ file: 'p.sql', text });
        const pieces = parseSource({ file: 'p.sql', text }, { chunkChars });
        expect(whole.ok).toBe(false);
        expect(pieces.ok).toBe(false);
        if (whole.ok || pieces.ok) return;
        expect(pieces.error).toEqual(whole.error);
      }),
      { numRuns: 150 },
    );
  });
});
