import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import type { Report } from '../src/report/model.js';
import { ident } from '../src/stages/rollback-fix.js';
import { configFor, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

const BASE = [
  "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, status text NOT NULL DEFAULT 'active', age integer, nickname text NOT NULL DEFAULT 'anon' COLLATE \"C\");",
  'CREATE INDEX users_email_idx ON users (email);',
  'CREATE TABLE tags (id serial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), label varchar(40) NOT NULL, CONSTRAINT tags_label_check CHECK (label <> \'\'), UNIQUE (user_id, label));',
  'CREATE INDEX tags_label_idx ON tags (lower(label));',
].join('\n');

/** Ups whose down does nothing: the fix must be all the down needs. */
const CASES: Record<string, string> = {
  'a dropped default': 'ALTER TABLE users ALTER COLUMN status DROP DEFAULT;',
  'a new index': 'CREATE INDEX users_status_idx ON users (status);',
  'a dropped index': 'DROP INDEX users_email_idx;',
  'a dropped column': 'ALTER TABLE users DROP COLUMN nickname;',
  'a new table': 'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint REFERENCES users (id), total integer NOT NULL CHECK (total >= 0));\nCREATE INDEX orders_user_id_idx ON orders (user_id);',
  'a dropped table': 'DROP TABLE tags;',
  'a new check': 'ALTER TABLE users ADD CONSTRAINT users_age_check CHECK (age >= 0);',
  'a comment': "COMMENT ON COLUMN users.status IS 'what the account can do';",
  'a type change': 'ALTER TABLE users ALTER COLUMN age TYPE bigint;',
  'a NOT NULL': 'ALTER TABLE users ALTER COLUMN age SET NOT NULL;',
  'a view': 'CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = \'active\';',
  'a renamed index': 'ALTER INDEX users_email_idx RENAME TO users_email_key2;',
  'a renamed column': 'ALTER TABLE users RENAME COLUMN nickname TO handle;',
  'an enum': "CREATE TYPE mood AS ENUM ('happy', 'it''s fine');",
};

function rollbackProblems(r: Report) {
  return r.findings.filter((f) => f.stage === 'rollback' && f.severity === 'error');
}

describe.each(servers().slice(0, 1))('the fix of a rollback finding, on $name', ({ url }) => {
  it.each(Object.entries(CASES))('for %s, is all the down needs to give the schema back', async (_name, up) => {
    const root = makeRepo({
      'migrations/0001_base.up.sql': `${BASE}\n`,
      'migrations/0001_base.down.sql': 'DROP TABLE tags;\nDROP TABLE users;\n',
      'migrations/0002_change.up.sql': `${up}\n`,
      'migrations/0002_change.down.sql': '-- forgot to undo it\nSELECT 1;\n',
    });
    const first = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    const problems = rollbackProblems(first).filter((f) => f.rule === 'down-not-restoring');
    expect(problems.length).toBeGreaterThan(0);
    for (const f of problems) {
      expect(f.fix, f.message).toBeDefined();
      // Annotated on the down, where the fix goes.
      expect(f.file).toBe('migrations/0002_change.down.sql');
    }
    const fixes = problems.map((f) => f.fix!).join('\n');
    fs.appendFileSync(path.join(root, 'migrations/0002_change.down.sql'), `${fixes}\n`);
    const second = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    expect(rollbackProblems(second).map((f) => f.message), fixes).toEqual([]);
  });
});

describe('ident', () => {
  it('leaves plain names bare and quotes the rest', () => {
    expect(ident('users_status_idx')).toBe('users_status_idx');
    expect(ident('user')).toBe('"user"');
    expect(ident('Users')).toBe('"Users"');
    expect(ident('a"b')).toBe('"a""b"');
  });
});
