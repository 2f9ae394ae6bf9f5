import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { InputError } from '../src/errors.js';
import { splitDbmateFile } from '../src/migrations/dbmate.js';
import { splitGooseFile } from '../src/migrations/goose.js';
import { parseSqitchPlan } from '../src/migrations/sqitch.js';
import { makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const url = () => servers()[0]!.url;

async function cli(root: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--stages', 'syntax', ...args], {
    cwd: root,
    env: { DATABASE_URL: url() },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** Broken inputs and the exact words each must get: exit 2, nothing run, nothing left behind. */
const CORPUS: Array<{ name: string; files: Record<string, string | Buffer>; args?: string[]; message: string }> = [
  { name: 'binary junk', files: { 'migrations/1_a.up.sql': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x1a]) }, message: 'migrations/1_a.up.sql is not a text file (NUL byte at offset 4)' },
  { name: 'invalid UTF-8', files: { 'migrations/1_a.up.sql': Buffer.from('SELECT \xff\xfe;', 'latin1') }, message: 'migrations/1_a.up.sql is not valid UTF-8 text' },
  { name: 'a down without an up', files: { 'migrations/1_a.up.sql': 'SELECT 1;', 'migrations/2_b.down.sql': 'SELECT 1;' }, message: 'migrations/2_b.down.sql is a down migration without an up migration (expected 2_b.up.sql)' },
  {
    name: 'duplicate versions',
    files: { 'migrations/01_a.up.sql': 'SELECT 1;', 'migrations/1_b.up.sql': 'SELECT 1;' },
    message: 'duplicate migration version 1: migrations/01_a.up.sql and migrations/1_b.up.sql are both up migrations',
  },
  { name: 'a missing folder', files: {}, args: ['--dir', 'db/migrations'], message: 'migrations folder db/migrations does not exist' },
  { name: 'a folder that is a file', files: { 'db.sql': 'SELECT 1;' }, args: ['--dir', 'db.sql'], message: 'migrations folder db.sql is not a folder' },
  { name: 'an empty folder', files: { 'migrations/.keep': '' }, message: 'no migrations found in migrations: it is empty but for hidden files' },
  {
    name: 'a command over a folder with no step in it',
    files: { 'migrations/2024-01-01-000000_a/up.sql': 'SELECT 1;\n' },
    args: ['--up-command', 'true'],
    message: 'no migrations found in migrations for up-command: no file named <version>_<name>.<ext>; this folder looks like diesel',
  },
  { name: 'an unknown format', files: { 'migrations/1_a.up.sql': 'SELECT 1;' }, args: ['--format', 'mybatis'], message: 'unknown format "mybatis"; formats are auto, golang-migrate, dbmate, goose, flyway, sqitch, diesel' },
  { name: 'an unknown flag', files: {}, args: ['--fromat', 'dbmate'], message: "Unknown option '--fromat'" },
  { name: 'a negative row count', files: {}, args: ['--perf-rows=-5'], message: 'perf-rows must be a whole number, got "-5"' },
  { name: 'a fractional row count', files: {}, args: ['--perf-rows', '1.5'], message: 'perf-rows must be a whole number, got "1.5"' },
  { name: 'a zero threshold', files: {}, args: ['--perf-threshold-ms', '0'], message: 'perf-threshold-ms must be a whole number of at least 1, got "0"' },
  { name: 'a word as a timeout', files: {}, args: ['--statement-timeout', 'soon'], message: 'statement-timeout must be a whole number, got "soon"' },
  { name: 'a shard past the count', files: {}, args: ['--shard', '5/4'], message: 'shard must look like 2/4 (index from 1 to the number of shards), got "5/4"' },
  { name: 'a missing folder outside the repository', files: {}, args: ['--dir', '/nonexistent/mci-migrations'], message: 'migrations folder /nonexistent/mci-migrations does not exist' },
  { name: 'an unknown stage', files: {}, args: ['--stages', 'syntax,lint'], message: 'unknown stage "lint"; stages are syntax, rollback, data, performance, dependencies' },
  {
    name: 'a dbmate file without its up marker',
    files: { 'migrations/20240101_a.sql': '-- migrate:up\nSELECT 1;\n', 'migrations/20240102_b.sql': 'SELECT 2;\n-- migrate:down\n' },
    message: 'migrations/20240102_b.sql must have exactly one "-- migrate:up" line, found 0',
  },
  {
    name: 'a sqitch change without a deploy script',
    files: { 'migrations/sqitch.plan': '%project=x\nusers 2026-01-01T00:00:00Z A <a@b.c>\n' },
    message: 'migrations/sqitch.plan:2: change users has no deploy script (expected migrations/deploy/users.sql)',
  },
  { name: 'a malformed database URL', files: {}, args: ['--database-url', 'mysql://root@localhost/db'], message: 'database URL must start with postgres:// or postgresql://, got mysql://' },
];

describe('bad input', () => {
  it.each(CORPUS)('$name: exit 2 with the exact message', async ({ files, args, message }) => {
    const root = makeRepo(files);
    const r = await cli(root, args ?? []);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^migration-ci: /);
  });

  it('runs BOM-prefixed and CRLF files and reports positions in them', async () => {
    const root = makeRepo({
      'migrations/1_bom.up.sql': '\uFEFFCREATE TABLE t (id int);\r\n',
      'migrations/2_crlf.up.sql': 'ALTER TABLE t ADD COLUMN a int;\r\n\r\nALTER TABLE t ADD COLUMN b int NOT NULL;\r\n',
      'migrations/3 añadir índice.up.sql': 'CREATE INDEX t_a ON t (a);',
    });
    const r = await cli(root, ['--no-color']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('migrations/2_crlf.up.sql:3:1: error [syntax/fails-with-rows]');
  });

  it('passes an empty migration with a notice', async () => {
    const root = makeRepo({ 'migrations/1_a.up.sql': 'CREATE TABLE t (id int);', 'migrations/2_empty.up.sql': '' });
    const r = await cli(root, []);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('migrations/2_empty.up.sql is empty: 2 changes nothing');
  });

  it('reads a 50 MB migration and reports its syntax error at the right line', async () => {
    const line = "INSERT INTO big VALUES (1, 'a row of data; with a semicolon and some padding text to be long enough');\n";
    const body = line.repeat(Math.ceil(50e6 / line.length));
    const lines = body.split('\n').length;
    const root = makeRepo({
      'migrations/1_big.up.sql': 'CREATE TABLE big (id int, v text);',
      'migrations/2_load.up.sql': `${body}INSERT INTO big VALUES (2, 'x') RETRUNING id;\n`,
    });
    expect(fs.statSync(path.join(root, 'migrations/2_load.up.sql')).size).toBeGreaterThan(50e6);
    const r = await cli(root, []);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`migrations/2_load.up.sql:${lines}:33: error [syntax/parse-error] syntax error at or near "RETRUNING"`);
  }, 120_000);
});

describe('format parsers never throw anything but InputError and never lose a line', () => {
  const line = fc.oneof(
    fc.constantFrom('-- migrate:up', '-- migrate:down', '-- migrate:up transaction:false', '-- +goose Up', '-- +goose Down', '-- +goose NO TRANSACTION', '-- +goose StatementBegin', '-- +goose StatementEnd', ''),
    fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n')),
  );
  const file = fc.array(line, { maxLength: 25 }).map((ls) => ls.join('\n'));

  for (const [name, split] of [
    ['dbmate', splitDbmateFile],
    ['goose', splitGooseFile],
  ] as const) {
    it(`${name} sections`, () => {
      fc.assert(
        fc.property(file, (text) => {
          let parts;
          try {
            parts = split('f.sql', text);
          } catch (e) {
            expect(e).toBeInstanceOf(InputError);
            return;
          }
          const original = text.split('\n');
          const up = parts.up.text.split('\n');
          const down = parts.down?.text.split('\n') ?? original.map((l) => l.replace(/[^\r]/g, ' '));
          // Same shape as the file, and every line is either kept as it is or blanked.
          expect(up).toHaveLength(original.length);
          expect(down).toHaveLength(original.length);
          original.forEach((l, i) => {
            expect([l, l.replace(/[^\r]/g, ' ')]).toContain(up[i]);
            expect([l, l.replace(/[^\r]/g, ' ')]).toContain(down[i]);
            // No line is in both directions.
            if (l.trim() !== '') expect(up[i] === l && down[i] === l).toBe(false);
          });
        }),
        { numRuns: 400 },
      );
    });
  }

  it('sqitch plans', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('%project=x', '@v1 2026 A <a@b>', '', '# note'), fc.string({ maxLength: 20 })), { maxLength: 15 }), (lines) => {
        try {
          const changes = parseSqitchPlan('sqitch.plan', lines.join('\n'));
          for (const c of changes) expect(lines[c.line - 1]).toContain(c.name);
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
