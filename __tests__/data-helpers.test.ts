import { beforeAll, describe, expect, it } from 'vitest';
import { databaseEnv } from '../src/stages/data-command.js';
import { assertionName, renderRows } from '../src/stages/data-fixtures.js';
import { allowsDataLoss, mentions } from '../src/stages/data-roundtrip.js';
import { loadParser, parseSource } from '../src/sql/parse.js';

beforeAll(async () => {
  await loadParser();
});

describe('data stage helpers', () => {
  it('renders violating rows so that NULL, the empty string and numbers stay apart', () => {
    const text = renderRows({
      fields: [
        { name: 'id', dataTypeID: 20 },
        { name: 'email', dataTypeID: 25 },
        { name: 'note', dataTypeID: 25 },
        { name: 'ok', dataTypeID: 16 },
      ],
      rows: [
        ['1', '', null, 't'],
        ['22', "it's", 'line 1\nline 2', 'f'],
        ['3', 'x'.repeat(80), 'y', null],
      ],
      total: 7,
    });
    expect(text.split('\n')).toEqual([
      `id | email${' '.repeat(57)} | note             | ok`,
      `---+-${'-'.repeat(62)}-+------------------+-----`,
      `1  | ''${' '.repeat(60)} | NULL             | t`,
      `22 | 'it''s'${' '.repeat(55)} | 'line 1\\nline 2' | f`,
      `3  | '${'x'.repeat(59)}…' | 'y'              | NULL`,
      '(first 3 of 7 rows)',
    ]);
  });

  it('names an assertion by the comment right above it, else by its first words', () => {
    const r = parseSource({
      file: 'a.sql',
      text: '-- first\nSELECT 1;\n\n/* unrelated */\n-- emails keep their case\nSELECT 2;\nSELECT id FROM users WHERE email <> lower(email);\n',
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.parsed.statements.map(assertionName)).toEqual(['first', 'emails keep their case', 'SELECT id FROM users WHERE email <> lower(email)']);
  });

  it('gives a command DATABASE_URL and the libpq variables of the scratch database', () => {
    expect(databaseEnv({ name: 'mci_x_1', url: 'postgres://app:s%40cret@db.internal:6543/mci_x_1?sslmode=require' })).toEqual({
      DATABASE_URL: 'postgres://app:s%40cret@db.internal:6543/mci_x_1?sslmode=require',
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'app',
      PGPASSWORD: 's@cret',
      PGDATABASE: 'mci_x_1',
      PGSSLMODE: 'require',
    });
    expect(databaseEnv({ name: 'd', url: 'postgresql://postgres@[::1]/d' })).toEqual({
      DATABASE_URL: 'postgresql://postgres@[::1]/d',
      PGHOST: '::1',
      PGPORT: '5432',
      PGUSER: 'postgres',
      PGDATABASE: 'd',
    });
    expect(databaseEnv({ name: 'd', url: 'postgres:///d?host=/var/run/postgresql' }).PGHOST).toBe('/var/run/postgresql');
  });

  it('finds a column named in SQL as a whole word', () => {
    expect(mentions('ALTER TABLE users DROP COLUMN nickname;', 'nickname')).toBe(true);
    expect(mentions('ALTER TABLE users DROP COLUMN "Nickname";', 'Nickname')).toBe(true);
    expect(mentions('UPDATE users SET nickname_old = 1', 'nickname')).toBe(false);
    expect(mentions('UPDATE users SET x = updated_at', 'at')).toBe(false);
    expect(mentions('SET a.b = 1', 'b')).toBe(true);
  });

  it('reads the allow-data-loss marker however it is spaced', () => {
    expect(allowsDataLoss('-- migration-ci: allow-data-loss\nDROP TABLE x;')).toBe(true);
    expect(allowsDataLoss('DROP TABLE x; --migration-ci:allow-data-loss (nobody reads it)')).toBe(true);
    expect(allowsDataLoss('-- migration-ci: allow-data-lossy')).toBe(false);
    expect(allowsDataLoss('DROP TABLE x;')).toBe(false);
  });
});
