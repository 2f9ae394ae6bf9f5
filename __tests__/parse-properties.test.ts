import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { discoverMigrations } from '../src/migrations/discover.js';
import { parseLiquibaseSql } from '../src/migrations/liquibase.js';
import { splitNodePgMigrateFile } from '../src/migrations/node-pg-migrate.js';
import { splitSqlMigrateFile } from '../src/migrations/sql-migrate.js';
import { splitTernFile } from '../src/migrations/tern.js';
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

describe('format parsers keep every byte at its line', () => {
  const blanked = (l: string) => l.replace(/[^\r]/g, ' ');
  const anyLine = fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n'));
  const fileOf = (markers: string[]) => fc.array(fc.oneof(fc.constantFrom(...markers, ''), anyLine), { maxLength: 25 }).map((ls) => ls.join('\n'));

  /** Same shape as the file; each line kept or blanked; no non-blank line in both directions; every SQL line kept somewhere. */
  function checkSections(text: string, up: string, down: string | undefined, isMarker: (line: string) => boolean) {
    const original = text.split('\n');
    const u = up.split('\n');
    const d = down?.split('\n') ?? original.map(blanked);
    expect(u).toHaveLength(original.length);
    expect(d).toHaveLength(original.length);
    original.forEach((l, i) => {
      expect([l, blanked(l)]).toContain(u[i]);
      expect([l, blanked(l)]).toContain(d[i]);
      if (l.trim() !== '') expect(u[i] === l && d[i] === l).toBe(false);
      if (isMarker(l)) expect(u[i] === l || d[i] === l).toBe(false);
    });
  }

  const splitters = [
    ['sql-migrate', splitSqlMigrateFile, ['-- +migrate Up', '-- +migrate Down', '-- +migrate Up notransaction', '-- +migrate StatementBegin', '-- +migrate StatementEnd'], /^\s*--\s*\+migrate\s+(up|down)\b/i],
    ['tern', splitTernFile, ['---- create above / drop below ----', '---- tern: disable-tx ----'], /^\s*----\s*create above/i],
    ['node-pg-migrate', splitNodePgMigrateFile, ['-- Up Migration', '-- Down Migration'], /^\s*--\s*(up|down)\s+migration\b/i],
  ] as const;

  for (const [name, split, markers, marker] of splitters) {
    it(`${name} sections`, () => {
      fc.assert(
        fc.property(fileOf([...markers]), (text) => {
          let parts;
          try {
            parts = split('f.sql', text);
          } catch (e) {
            expect(e).toBeInstanceOf(InputError);
            return;
          }
          checkSections(text, parts.up.text, parts.down?.text, (l) => marker.test(l));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('Liquibase changesets: every line of a changeset in its up or its down, nowhere else, at its own line', () => {
    const markers = ['--changeset a:1', '--changeset b:2 runInTransaction:false', '--changeset c:3 endDelimiter:/', '--rollback DROP TABLE t;', '--rollback not required', '/* liquibase rollback', '*/', '/', '--ignoreLines:1'];
    fc.assert(
      fc.property(fileOf(markers), (body) => {
        const text = `--liquibase formatted sql\n${body}`;
        let sets;
        try {
          sets = parseLiquibaseSql('f.sql', text);
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          return;
        }
        const original = text.split('\n');
        const owners = original.map(() => 0);
        for (const c of sets) {
          const u = c.up.text.split('\n');
          const d = c.down?.text.split('\n') ?? original.map(blanked);
          expect(u).toHaveLength(original.length);
          expect(d).toHaveLength(original.length);
          original.forEach((l, i) => {
            // Kept, blanked, or the same width with only a marker gone: the `--rollback` prefix, an end delimiter.
            expect(u[i]!.length).toBe(l.length);
            expect(d[i]!.length).toBe(l.length);
            expect(u[i] === l || u[i] === blanked(l) || (/\/\s*$/.test(l) && /;\s*$/.test(u[i]!))).toBe(true);
            expect(d[i] === l || d[i]!.trim() === '' || l.endsWith(d[i]!.trimStart()) || l.startsWith(d[i]!.trimEnd())).toBe(true);
            if (u[i]!.trim() !== '' || d[i]!.trim() !== '') owners[i]!++;
          });
        }
        // Plain SQL after the first changeset is in exactly one changeset; no line is in two.
        const first = original.findIndex((l) => /^\s*--\s*changeset\s/i.test(l));
        original.forEach((l, i) => {
          expect(owners[i]).toBeLessThanOrEqual(1);
          const plain = l.trim() !== '' && !/--|\/\*|\*\/|\/\s*$/.test(l) && !/^\s*--\s*ignoreLines/i.test(original[i - 1] ?? '');
          if (first !== -1 && i > first && plain) expect(owners[i]).toBe(1);
        });
      }),
      { numRuns: 400 },
    );
  });
});

describe('folder formats read each file whole', () => {
  const content = fc.string({ unit: 'grapheme', maxLength: 120 }).map((s) => s.replace(/\0/g, '').replace(/^\uFEFF/, ''));
  const layouts = [
    ['diesel', (up: string, down: string) => ({ '2024-01-01-000000_a/up.sql': up, '2024-01-01-000000_a/down.sql': down, '2024-01-01-000000_a/metadata.toml': '' })],
    ['prisma', (up: string, down: string) => ({ 'migration_lock.toml': 'provider = "postgresql"\n', '20240101000000_a/migration.sql': up, '20240101000000_a/down.sql': down })],
    ['postgrator', (up: string, down: string) => ({ '001.do.a.sql': up, '001.undo.a.sql': down })],
    ['sqlx', (up: string) => ({ '20240101000000_a.sql': up })],
  ] as const;

  for (const [format, layout] of layouts) {
    it(`${format}: the up and down are the files, byte for byte`, () => {
      fc.assert(
        fc.property(content, content, (up, down) => {
          const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-props-'));
          try {
            for (const [name, text] of Object.entries(layout(up, down))) {
              fs.mkdirSync(path.dirname(path.join(root, 'm', name)), { recursive: true });
              fs.writeFileSync(path.join(root, 'm', name), text);
            }
            const [m] = discoverMigrations(root, path.join(root, 'm'), format).migrations;
            expect(m!.up.text).toBe(up);
            if (format !== 'sqlx') expect(m!.down!.text).toBe(down);
          } finally {
            fs.rmSync(root, { recursive: true, force: true });
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});
