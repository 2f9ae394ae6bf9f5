import { describe, expect, it } from 'vitest';
import { runPipeline } from '../src/pipeline.js';
import type { Finding } from '../src/report/model.js';
import { findHazards, type Hazard } from '../src/sql/hazards.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';
import { parse } from './support/sql.js';

/** Hazards as `rule@line`, the likely ones only unless asked. */
function hazards(text: string, all = false): string[] {
  const p = parse(text);
  return findHazards(p)
    .filter((h) => all || h.likely)
    .map((h) => `${h.rule}@${p.statements[h.index]!.line}`);
}

const TIMEOUT = "SET lock_timeout = '5s';\n";

describe('findHazards', () => {
  it('flags indexes built without CONCURRENTLY on existing tables only', () => {
    expect(hazards(`${TIMEOUT}CREATE INDEX users_email_idx ON users (email);`)).toEqual(['index-not-concurrent@2']);
    expect(hazards(`${TIMEOUT}CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);`)).toEqual([]);
    expect(hazards('CREATE TABLE tags (id int, name text);\nCREATE INDEX tags_name_idx ON tags (name);')).toEqual([]);
    expect(hazards('CREATE TABLE app.tags (id int);\nCREATE INDEX ON app.tags (id);\nCREATE INDEX ON public.users (id);')).toEqual([
      'index-not-concurrent@3',
    ]);
    expect(hazards(`${TIMEOUT}ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);`)).toEqual(['index-not-concurrent@2']);
    expect(hazards(`${TIMEOUT}ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;`)).toEqual([]);
    expect(hazards(`${TIMEOUT}REINDEX TABLE users;`)).toEqual(['index-not-concurrent@2']);
    expect(hazards('REINDEX TABLE CONCURRENTLY users;')).toEqual([]);
  });

  it('flags volatile defaults, not stable or constant ones', () => {
    for (const d of ['random()', 'clock_timestamp()', 'gen_random_uuid()', "nextval('users_seq')", '(random() * 100)::int', 'public.uuid_generate_v4()']) {
      expect(hazards(`${TIMEOUT}ALTER TABLE users ADD COLUMN x text DEFAULT ${d};`), d).toEqual(['volatile-default@2']);
    }
    for (const d of ['now()', 'CURRENT_TIMESTAMP', "'active'", '0', "'{}'::jsonb", 'lower(\'X\')']) {
      expect(hazards(`${TIMEOUT}ALTER TABLE users ADD COLUMN x text DEFAULT ${d};`), d).toEqual([]);
    }
    expect(hazards('CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x float8 DEFAULT random();')).toEqual([]);
  });

  it('flags type changes, guessing rewrites only where a measurement would be needed to tell', () => {
    const p = parse(`${TIMEOUT}ALTER TABLE users ALTER COLUMN id TYPE bigint;\nALTER TABLE users ALTER COLUMN name TYPE text;\nALTER TABLE users ALTER COLUMN code TYPE varchar(20) USING trim(code);`);
    const found = findHazards(p).map((h: Hazard) => [h.rule, p.statements[h.index]!.line, h.evidence, h.likely]);
    expect(found).toEqual([
      ['column-type-rewrite', 2, 'rewrite', true],
      ['column-type-rewrite', 3, 'rewrite', false],
      ['column-type-rewrite', 4, 'rewrite', true],
    ]);
    expect(findHazards(p)[0]!.message).toContain('TYPE bigint');
    expect(findHazards(p)[2]!.message).toContain('TYPE varchar(20)');
  });

  it('flags SET NOT NULL unless a validated CHECK (col IS NOT NULL) comes first', () => {
    expect(hazards(`${TIMEOUT}ALTER TABLE users ALTER COLUMN email SET NOT NULL;`)).toEqual(['set-not-null@2']);
    const good = [
      TIMEOUT.trim(),
      'ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;',
      'ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;',
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      'ALTER TABLE users DROP CONSTRAINT users_email_nn;',
    ].join('\n');
    expect(hazards(good)).toEqual([]);
    // The check is there but never validated: the scan still happens.
    expect(hazards(good.replace('ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\n', ''))).toEqual(['set-not-null@3']);
    // Checked on another column.
    expect(hazards(good.replace('SET NOT NULL', 'SET NOT NULL').replace('COLUMN email SET', 'COLUMN name SET'))).toEqual(['set-not-null@4']);
  });

  it('flags the named NOT NULL constraint of Postgres 18 like SET NOT NULL, unless NOT VALID', () => {
    expect(hazards(`${TIMEOUT}ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email;`)).toEqual(['set-not-null@2']);
    const p = parse('ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email;');
    expect(findHazards(p).find((h) => h.rule === 'set-not-null')!.message).toMatch(/^ADD CONSTRAINT users_email_nn NOT NULL on users\.email scans/);
    expect(hazards(`${TIMEOUT}ALTER TABLE users ADD CONSTRAINT users_email_nn NOT NULL email NOT VALID;`)).toEqual([]);
  });

  it('flags foreign keys and checks added without NOT VALID', () => {
    expect(hazards(`${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);`)).toEqual([
      'constraint-not-valid@2',
    ]);
    expect(hazards(`${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_total_ck CHECK (total >= 0);`)).toEqual(['constraint-not-valid@2']);
    const good = `${TIMEOUT}ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;`;
    expect(hazards(good)).toEqual([]);
    expect(hazards('CREATE TABLE o (id int, u int);\nALTER TABLE o ADD FOREIGN KEY (u) REFERENCES users (id);')).toEqual([]);
  });

  it('flags AccessExclusiveLock on an existing table while no lock_timeout is set', () => {
    expect(hazards('ALTER TABLE users ADD COLUMN bio text;')).toEqual(['missing-lock-timeout@1']);
    expect(hazards("SET lock_timeout = '3s';\nALTER TABLE users ADD COLUMN bio text;")).toEqual([]);
    expect(hazards("SET LOCAL lock_timeout TO 3000;\nALTER TABLE users ADD COLUMN bio text;")).toEqual([]);
    expect(hazards("SELECT set_config('lock_timeout', '3s', true);\nALTER TABLE users ADD COLUMN bio text;")).toEqual([]);
    expect(hazards("SET lock_timeout = 0;\nALTER TABLE users ADD COLUMN bio text;")).toEqual(['missing-lock-timeout@2']);
    expect(hazards("SET lock_timeout = '3s';\nRESET lock_timeout;\nDROP TABLE old_users;")).toEqual(['missing-lock-timeout@3']);
    // Weaker locks, and new tables, need no timeout.
    expect(hazards('CREATE INDEX CONCURRENTLY i ON users (email);\nALTER TABLE users VALIDATE CONSTRAINT c;')).toEqual([]);
    expect(hazards('CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN x int;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();')).toEqual([]);
  });

  it('silences one rule with an ignore comment right above the statement', () => {
    const text = [
      '-- migration-ci: ignore missing-lock-timeout',
      'ALTER TABLE users ADD COLUMN bio text;',
      '-- the table is small in production',
      '-- migration-ci: ignore index-not-concurrent',
      'CREATE INDEX users_bio_idx ON users (bio);',
      '-- migration-ci: ignore index-not-concurrent',
      '',
      'CREATE INDEX users_bio2_idx ON users (bio);',
      '-- migration-ci: ignore volatile-default, missing-lock-timeout',
      'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();',
      '-- migration-ci: ignore volatile-default',
      'ALTER TABLE users ADD COLUMN seed float8 DEFAULT random();',
    ].join('\n');
    expect(hazards(text)).toEqual(['index-not-concurrent@8', 'missing-lock-timeout@12']);
  });

  it('finds nothing in a well-written migration', () => {
    const text = [
      "SET lock_timeout = '5s';",
      'ALTER TABLE users ADD COLUMN status text DEFAULT \'active\';',
      'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
      'ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;',
      'ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;',
      'ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;',
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
      'CREATE TABLE audit (id bigserial PRIMARY KEY, user_id bigint REFERENCES users, at timestamptz DEFAULT clock_timestamp());',
      'CREATE INDEX audit_user_idx ON audit (user_id);',
    ].join('\n');
    expect(hazards(text)).toEqual([]);
    expect(hazards('CREATE INDEX CONCURRENTLY users_status_idx ON users (status);', true)).toEqual([]);
  });
});

const brief = (f: Finding) => `${f.rule}@${f.line}`;

describe.each(servers())('hazards measured on $name', ({ url }) => {
  const run = async (files: Record<string, string>, raw: Record<string, string> = {}) => {
    const root = makeRepo(files);
    const report = await runPipeline(configFor(root, url, { stages: 'performance', perfRows: '20000', ...raw }));
    expect(await leftoverScratchDatabases(url)).toEqual([]);
    return report;
  };
  const schema = {
    'migrations/1_schema.up.sql': [
      'CREATE TABLE users (id bigserial PRIMARY KEY, email text, name varchar(50) NOT NULL, n int NOT NULL);',
      'CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL, total int NOT NULL);',
    ].join('\n'),
  };

  it('backs each hazard with what the database shows', async () => {
    const report = await run({
      ...schema,
      'migrations/2_changes.up.sql': [
        "SET lock_timeout = '5s';",
        'ALTER TABLE users ALTER COLUMN name TYPE varchar(80);',
        'ALTER TABLE users ALTER COLUMN n TYPE bigint;',
        'ALTER TABLE users ALTER COLUMN email SET NOT NULL;',
        'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);',
      ].join('\n'),
    });
    const warnings = report.findings.filter((f) => f.severity === 'warning');
    // varchar(50) -> varchar(80) is binary coercible: measured, no rewrite, no warning.
    expect(warnings.map(brief)).toEqual(['column-type-rewrite@3', 'set-not-null@4', 'constraint-not-valid@5']);
    const typeChange = warnings[0]!;
    expect(typeChange.detail).toMatch(/^measured [\d.]+ m?s with 20,000 rows in users; AccessExclusiveLock on users until commit; rewrote users/);
    expect(typeChange.hint).toMatch(/new type, backfill/);
    const stmt = report.statements.find((s) => s.line === 2 && s.migration === '2')!;
    expect(stmt.rewrites).toEqual([]);
    expect(report.statements.find((s) => s.line === 3 && s.migration === '2')!.rewrites).toEqual(['users']);
    expect(warnings[2]!.detail).toMatch(/ShareRowExclusiveLock on orders until commit/);
  });

  it('takes a validated check from an earlier migration into account for SET NOT NULL', async () => {
    const report = await run({
      ...schema,
      'migrations/2_check.up.sql': "SET lock_timeout = '5s';\nALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;",
      'migrations/3_validate.up.sql': 'ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;',
      'migrations/4_not_null.up.sql': "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    });
    expect(report.findings.filter((f) => f.severity !== 'notice').map((f) => `${f.migration}:${brief(f)}`)).toEqual([]);
  });

  it('asks for lock_timeout when a statement is seen taking AccessExclusiveLock, once per migration', async () => {
    const report = await run({
      ...schema,
      'migrations/2_drop_index.up.sql': 'CREATE INDEX CONCURRENTLY users_email_idx ON users (email);',
      // DROP INDEX names no table, but locks users: only the measurement sees it. The ALTER of users
    // then waits for no lock: DROP INDEX holds it already.
      'migrations/3_more.up.sql': 'DROP INDEX users_email_idx;\nALTER TABLE users ADD COLUMN bio text;\nALTER TABLE orders ADD COLUMN note text;',
    });
    const timeouts = report.findings.filter((f) => f.rule === 'missing-lock-timeout');
    expect(timeouts.map((f) => `${f.migration}:${brief(f)}`)).toEqual(['3:missing-lock-timeout@1']);
    expect(timeouts[0]!.message).toMatch(/AccessExclusiveLock on users .*\(1 later statement of this migration too\)/);
  });
});
