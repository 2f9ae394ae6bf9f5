import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/cli/embedded.js';
import { runPipeline } from '../src/pipeline.js';
import { fixForMajor } from '../src/stages/performance-findings.js';
import type { Finding, Report } from '../src/report/model.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';

/**
 * The whole pipeline on every major the tool supports, one embedded server at a time: a schema
 * of every kind of object the catalog reads (snapshot, fingerprint, seed, lock probes) know,
 * written in the SQL each major accepts.
 */
const MAJORS = [13, 14, 15, 16, 17, 18] as const;

const BASE_UP = `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN email AS text CHECK (length(VALUE) < 320);
CREATE DOMAIN quantity AS int CHECK (VALUE > 0);
CREATE TABLE accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  contact email NOT NULL,
  feeling mood NOT NULL DEFAULT 'ok',
  name text NOT NULL,
  name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
  UNIQUE (name)
);
CREATE TABLE bookings (
  id serial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  room int NOT NULL,
  seats quantity NOT NULL DEFAULT 1,
  note text DEFAULT 'n',
  during tsrange NOT NULL,
  EXCLUDE USING gist (during WITH &&)
);
CREATE INDEX bookings_account_idx ON bookings (account_id);
CREATE TABLE events (
  id bigint NOT NULL,
  at date NOT NULL,
  payload jsonb,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_rest PARTITION OF events DEFAULT;
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY accounts_own ON accounts USING (name = current_user);
CREATE FUNCTION touch_booking() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.room := coalesce(NEW.room, 0);
  RETURN NEW;
END $$;
CREATE TRIGGER bookings_touch BEFORE INSERT OR UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION touch_booking();
CREATE VIEW account_names AS SELECT id, name_upper FROM accounts;
COMMENT ON TABLE accounts IS 'who books';
`;

const BASE_DOWN = `DROP VIEW account_names;
DROP TABLE events;
DROP TABLE bookings;
DROP FUNCTION touch_booking();
DROP TABLE accounts;
DROP DOMAIN quantity;
DROP DOMAIN email;
DROP TYPE mood;
`;

const CHANGE_UP = `SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN note text NOT NULL DEFAULT '';
ALTER TABLE bookings ADD CONSTRAINT bookings_room_positive CHECK (room >= 0) NOT VALID;
ALTER TABLE bookings VALIDATE CONSTRAINT bookings_room_positive;
ALTER TABLE bookings ALTER COLUMN room SET DATA TYPE bigint;
CREATE INDEX events_payload_idx ON events USING gin (payload);
ALTER TABLE bookings ALTER COLUMN note SET NOT NULL;
`;

const CHANGE_DOWN = `ALTER TABLE bookings ALTER COLUMN note DROP NOT NULL;
DROP INDEX events_payload_idx;
ALTER TABLE bookings ALTER COLUMN room SET DATA TYPE int;
ALTER TABLE bookings DROP CONSTRAINT bookings_room_positive;
ALTER TABLE accounts DROP COLUMN note;
`;

/** What a major adds: each migration is written in the SQL of the majors that accept it. */
function majorMigrations(major: number): Record<string, string> {
  const files: Record<string, string> = {};
  if (major >= 15) {
    files['migrations/3_nulls_not_distinct.up.sql'] = `CREATE TABLE tags (id int PRIMARY KEY, account_id bigint REFERENCES accounts (id), label text,
  UNIQUE NULLS NOT DISTINCT (account_id, label));
MERGE INTO tags t USING (SELECT id FROM accounts) a ON t.account_id = a.id
  WHEN NOT MATCHED THEN INSERT (id, account_id, label) VALUES (a.id, a.id, NULL);
`;
    files['migrations/3_nulls_not_distinct.down.sql'] = 'DROP TABLE tags;\n';
  }
  if (major >= 17) {
    files['migrations/4_set_expression.up.sql'] = `SET lock_timeout = '5s';
ALTER TABLE accounts ALTER COLUMN name_upper SET EXPRESSION AS (upper(name) || '!');
`;
    files['migrations/4_set_expression.down.sql'] = `SET lock_timeout = '5s';
ALTER TABLE accounts ALTER COLUMN name_upper SET EXPRESSION AS (upper(name));
`;
  }
  if (major >= 18) {
    files['migrations/5_pg18.up.sql'] = `SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN name_length int GENERATED ALWAYS AS (length(name)) VIRTUAL;
ALTER TABLE bookings ADD COLUMN label text DEFAULT 'x';
ALTER TABLE bookings ADD CONSTRAINT bookings_label_nn NOT NULL label;
ALTER TABLE bookings ADD CONSTRAINT bookings_small_room CHECK (room < 100000) NOT ENFORCED;
`;
    files['migrations/5_pg18.down.sql'] = `ALTER TABLE bookings DROP CONSTRAINT bookings_small_room;
ALTER TABLE bookings DROP COLUMN label;
ALTER TABLE accounts DROP COLUMN name_length;
`;
  }
  return files;
}

const CORPUS = {
  'migrations/1_base.up.sql': BASE_UP,
  'migrations/1_base.down.sql': BASE_DOWN,
  'migrations/2_change.up.sql': CHANGE_UP,
  'migrations/2_change.down.sql': CHANGE_DOWN,
};

const errors = (r: Report): Finding[] => r.findings.filter((f) => f.severity === 'error');

describe('fixes by major', () => {
  it('offers NOT VALID for a partitioned foreign key only from 18 on, and says so before it', () => {
    const fix = 'add it NOT VALID, then VALIDATE CONSTRAINT';
    expect(fixForMajor('constraint-not-valid', fix, undefined, true, 18)).toBe(fix);
    expect(fixForMajor('constraint-not-valid', fix, undefined, false, 16)).toBe(fix);
    expect(fixForMajor('constraint-not-valid', fix, undefined, true, 16)).toMatch(/^on Postgres 16 a foreign key on a partitioned table cannot be added NOT VALID \(18 can\)/);
  });
});

describe.each(MAJORS)('Postgres %i', (major) => {
  let server: EmbeddedServer | undefined;
  let url = '';
  beforeAll(async () => {
    // 17 is the embedded server of the whole test run.
    if (major === 17) url = inject('pg17Url');
    else {
      server = await startEmbeddedPostgres(undefined, major);
      url = server.url;
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs every stage over the corpus of its major without an error, and leaves nothing behind', async () => {
    const root = makeRepo({ ...CORPUS, ...majorMigrations(major) });
    const report = await runPipeline(configFor(root, url, { perfRows: '2000' }));
    expect(report.postgres).toMatch(new RegExp(`^${major}\\.`));
    expect(errors(report)).toEqual([]);
    expect(report.stages.map((s) => [s.name, s.status === 'fail' ? 'fail' : 'ok'])).toEqual([
      ['syntax', 'ok'],
      ['rollback', 'ok'],
      ['data', 'ok'],
      ['dependencies', 'ok'],
      ['performance', 'ok'],
    ]);
    // The lock probe saw the type change take AccessExclusiveLock and rewrite bookings.
    // Filled, locked and rewritten as measured: the seed, the lock probe and the relfilenode check.
    expect(report.findings.filter((f) => f.rule === 'table-not-filled')).toEqual([]);
    const at = (m: string, line: number) => report.statements.find((s) => s.migration === m && s.line === line);
    expect(at('2', 3)?.locks).toContainEqual({ relation: 'bookings', mode: 'AccessExclusiveLock' });
    expect(at('2', 5)).toMatchObject({ rewrites: ['bookings'], rows: 2000 });
    const warnings = report.findings.filter((f) => f.severity === 'warning').map((f) => `${f.rule}@${f.migration}:${f.line}`);
    expect(warnings).toContain('column-type-rewrite@2:5');
    // SET EXPRESSION (17+) rewrites a stored column; the named NOT NULL (18) scans like SET NOT NULL.
    expect(warnings.includes('table-rewrite@4:2')).toBe(major >= 17);
    expect(warnings.includes('set-not-null@5:4')).toBe(major >= 18);
    // The way around the scan of SET NOT NULL depends on the major, and the hint says which.
    const setNotNull = report.findings.find((f) => f.rule === 'set-not-null' && f.migration === '2')!;
    if (major >= 18) expect(setNotNull.hint).toMatch(/^on Postgres 18: ADD CONSTRAINT \.\.\. NOT NULL note NOT VALID, then VALIDATE CONSTRAINT/);
    else expect(setNotNull.hint).toMatch(/^ADD CONSTRAINT \.\.\. CHECK \(note IS NOT NULL\) NOT VALID/);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('compares NOT NULL by column: the constraint names 18 gives them follow the table they were made in', async () => {
    const root = makeRepo({
      'migrations/1_a.up.sql': 'CREATE TABLE a (id int NOT NULL, label text NOT NULL);\n',
      'migrations/1_a.down.sql': 'DROP TABLE a;\n',
      'migrations/2_rename.up.sql': 'ALTER TABLE a RENAME TO b;\n',
      'migrations/2_rename.down.sql': 'ALTER TABLE b RENAME TO a;\n',
      'migrations/3_rebuild.up.sql': 'DROP TABLE b;\nCREATE TABLE b (id int NOT NULL, label text NOT NULL);\n',
      'migrations/3_rebuild.down.sql': 'DROP TABLE b;\nCREATE TABLE b (id int NOT NULL, label text);\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    // The down really loses one NOT NULL: said once, by column, on every major.
    expect(errors(report).map((f) => `${f.migration}:${f.message}`)).toEqual([expect.stringMatching(/^3:.*b\.label.*NOT NULL/)]);
  });

  it("trusts the server's grammar where the bundled parser refuses a statement the server accepts", async () => {
    // Postfix operators left the grammar in 14: 13 still reads `5 !`; the parser (18) does not.
    const root = makeRepo({
      'migrations/1_f.up.sql': "CREATE TABLE f (n numeric);\n-- the factorial\nINSERT INTO f VALUES (5 !);\nCREATE INDEX f_n_idx ON f (n);\n",
      'migrations/1_f.down.sql': 'DROP TABLE f;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    const at = (f: Finding) => `${f.rule}@${f.file}:${f.line}:${f.column}`;
    if (major === 13) {
      expect(report.verdict).toBe('pass');
      const notice = report.findings.find((f) => f.rule === 'parsed-by-server')!;
      expect(at(notice)).toBe('parsed-by-server@migrations/1_f.up.sql:3:1');
      expect(notice.message).toMatch(/^the bundled parser \(Postgres 18 grammar\) refuses this statement \(syntax error at or near "\)"\) but Postgres 13\.\d+ parses it/);
    } else {
      expect(errors(report).map(at)).toEqual(['parse-error@migrations/1_f.up.sql:3:26']);
      expect(report.findings.some((f) => f.rule === 'parsed-by-server')).toBe(false);
    }
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('applies Postgres 18 syntax only on 18; older servers fail it at its line with their own message', async () => {
    const root = makeRepo({
      'migrations/1_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY, c int);\n',
      'migrations/1_t.down.sql': 'DROP TABLE t;\n',
      'migrations/2_nn.up.sql': "SET lock_timeout = '5s';\n\nALTER TABLE t ADD CONSTRAINT t_c_nn NOT NULL c;\n",
      'migrations/2_nn.down.sql': 'ALTER TABLE t DROP CONSTRAINT t_c_nn;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    if (major >= 18) {
      expect(errors(report)).toEqual([]);
      expect(report.verdict).toBe('pass');
    } else {
      expect(report.verdict).toBe('fail');
      expect(errors(report)).toEqual([
        expect.objectContaining({
          rule: 'apply-failed',
          file: 'migrations/2_nn.up.sql',
          line: 3,
          message: expect.stringMatching(/^syntax error at or near "NOT"/),
        }),
      ]);
    }
  });
});
