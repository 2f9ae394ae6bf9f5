import { describe, expect, it } from 'vitest';
import { parseTableName, sameTable, statementScope, tableTouches, touchedTables, touchName } from '../src/sql/touched.js';
import { plpgsqlAvailable, readPlpgsqlBody, readPlpgsqlFunction } from '../src/sql/plpgsql.js';
import { statements } from './support/sql.js';

const touched = (sql: string, opts?: { reads?: boolean }) => [...touchedTables(statements(sql), opts)].sort();
const actions = (sql: string) => tableTouches(statements(sql)).touches.map((t) => `${t.action} ${touchName(t)}`);

describe('touchedTables', () => {
  it.each([
    ['ALTER TABLE users ADD COLUMN bio text', ['users']],
    ['ALTER TABLE IF EXISTS ONLY app.users ALTER COLUMN id TYPE bigint', ['app.users']],
    ['ALTER TABLE users RENAME TO people', ['people', 'users']],
    ['ALTER TABLE users RENAME COLUMN nick TO nickname', ['users']],
    ['ALTER TABLE users RENAME CONSTRAINT a TO b', ['users']],
    ['ALTER TRIGGER t ON orders RENAME TO u', ['orders']],
    ['ALTER VIEW v RENAME COLUMN a TO b', []],
    ['ALTER TABLE app.users SET SCHEMA archive', ['app.users', 'archive.users']],
    ['CREATE INDEX users_email_idx ON users (lower(email))', ['users']],
    ['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON billing.invoices (n) WHERE paid', ['billing.invoices']],
    ["UPDATE users SET status = 'x' WHERE id > 3", ['users']],
    ['DELETE FROM ONLY sessions WHERE expired', ['sessions']],
    ["INSERT INTO plans (name) VALUES ('free') ON CONFLICT DO NOTHING", ['plans']],
    ['DROP TABLE IF EXISTS a, s.b CASCADE', ['a', 's.b']],
    ['TRUNCATE TABLE a, ONLY b RESTART IDENTITY', ['a', 'b']],
    ['CREATE TABLE orders (id int, user_id int REFERENCES users (id))', ['orders', 'users']],
    ['CREATE TABLE o (u int, CONSTRAINT f FOREIGN KEY (u) REFERENCES s.accounts (id))', ['o', 's.accounts']],
    ['ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID', ['orders', 'users']],
    ['ALTER TABLE orders ADD COLUMN plan_id int REFERENCES plans', ['orders', 'plans']],
    ['CREATE TRIGGER t BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f()', ['orders']],
    ['DROP TRIGGER t ON app.orders', ['app.orders']],
    ["COMMENT ON COLUMN users.bio IS 'x'", ['users']],
    ["COMMENT ON COLUMN app.users.bio IS 'x'", ['app.users']],
    ["COMMENT ON TABLE users IS 'x'", ['users']],
    ['ALTER INDEX users_email_idx RENAME TO users_email_key', []],
    ['ALTER TABLE users_email_idx SET TABLESPACE fast', ['users_email_idx']],
    ['ALTER VIEW v RENAME TO w', []],
    ['CREATE TABLE p1 PARTITION OF events FOR VALUES FROM (1) TO (10)', ['events', 'p1']],
    ['ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES IN (2024)', ['events', 'events_2024']],
    ['LOCK TABLE a, b IN ACCESS EXCLUSIVE MODE', ['a', 'b']],
    ['VACUUM ANALYZE users', ['users']],
    ['GRANT SELECT ON users TO reporting', ['users']],
    ['CREATE POLICY p ON documents USING (owner = current_user)', ['documents']],
    ['CREATE STATISTICS s ON a, b FROM t', ['t']],
    ['CREATE TABLE copy AS SELECT * FROM users', ['copy']],
    ['SELECT * INTO archive FROM users', ['archive']],
    ['ALTER TABLE "Users" ADD COLUMN x int', ['"Users"']],
    ['CREATE VIEW v AS SELECT * FROM users', []],
    ['CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ DELETE FROM users $$', []],
  ])('%s', (sql, expected) => {
    expect(touched(sql)).toEqual([...expected].sort());
  });

  it('finds the target of a data migration and, when asked, the tables it reads', () => {
    const sql = 'UPDATE users u SET email = a.email FROM addresses a WHERE a.user_id = u.id';
    expect(touched(sql)).toEqual(['users']);
    expect(touched(sql, { reads: true })).toEqual(['addresses', 'users']);
  });

  it('follows writes inside CTEs and does not mistake a CTE for a table', () => {
    const sql = 'WITH moved AS (DELETE FROM events WHERE old RETURNING *) INSERT INTO archive SELECT * FROM moved';
    expect(actions(sql)).toEqual(['insert archive', 'delete events']);
    expect(touched(sql, { reads: true })).toEqual(['archive', 'events']);
  });

  it('reads the target and source of MERGE', () => {
    const sql = 'MERGE INTO stock s USING deliveries d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty';
    expect(actions(sql)).toEqual(['merge stock', 'read deliveries']);
  });

  it('labels each touch with what the statement does', () => {
    expect(actions('ALTER TABLE a ADD CONSTRAINT f FOREIGN KEY (x) REFERENCES b; CREATE INDEX ON c (x); TRUNCATE d')).toEqual([
      'alter a',
      'reference b',
      'index c',
      'truncate d',
    ]);
    const r = tableTouches(statements('ALTER TABLE a ADD x int;\nDROP TABLE b;'));
    expect(r.touches.map((t) => t.statement)).toEqual([0, 1]);
    expect(r.opaque).toEqual([]);
  });

  it('marks DO blocks with dynamic SQL, CALL and function calls as opaque, and reads what DO bodies run as written', () => {
    const r = tableTouches(
      statements(`DO $$
BEGIN
  -- UPDATE commented_out SET x = 1;
  UPDATE app.users SET status = 'x';
  INSERT INTO "Audit" VALUES (1);
  EXECUTE 'DELETE FROM ' || 'hidden';
END $$;
CALL backfill();
SELECT backfill_users();
SELECT setval('users_id_seq', 10);`),
    );
    expect(r.opaque).toEqual([0, 1, 2]);
    expect(r.touches.map((t) => [t.action, touchName(t), t.statement])).toEqual([
      ['update', 'app.users', 0],
      ['insert', '"Audit"', 0],
    ]);
  });

  it('leaves out EXPLAIN without ANALYZE, includes it with', () => {
    expect(touched('EXPLAIN DELETE FROM users')).toEqual([]);
    expect(touched('EXPLAIN (ANALYZE) DELETE FROM users')).toEqual(['users']);
  });
});

describe('table names', () => {
  it('parses names as SQL does', () => {
    expect(parseTableName('users')).toEqual({ schema: undefined, name: 'users' });
    expect(parseTableName(' Billing.Invoices ')).toEqual({ schema: 'billing', name: 'invoices' });
    expect(parseTableName('"Odd.Schema"."My ""T"""')).toEqual({ schema: 'Odd.Schema', name: 'My "T"' });
    expect(parseTableName('a.b.c')).toBeUndefined();
    expect(parseTableName('')).toBeUndefined();
  });

  it('matches names without a schema to any schema', () => {
    expect(sameTable('users', 'public.users')).toBe(true);
    expect(sameTable('app.users', 'users')).toBe(true);
    expect(sameTable('app.users', 'public.users')).toBe(false);
    expect(sameTable('"Users"', 'users')).toBe(false);
    expect(sameTable('"Users"', '"Users"')).toBe(true);
    expect(sameTable('users', 'USERS')).toBe(true);
  });
});

describe('DO blocks read through the PL/pgSQL parser', () => {
  it.runIf(plpgsqlAvailable())('names the tables a DO block touches, so the fill need not cover every table', () => {
    const stmts = statements(`
      DO $$
      DECLARE n int; r record;
      BEGIN
        SELECT count(*) INTO n FROM users u JOIN orgs o ON o.id = u.org_id;
        IF n > 0 THEN UPDATE users SET tier = 'gold' WHERE id = n; END IF;
        FOR r IN SELECT id FROM teams LOOP INSERT INTO audit (team_id) VALUES (r.id); END LOOP;
      END $$;
    `);
    const scope = statementScope(stmts, { reads: true });
    expect(scope?.map((t) => t.name).sort()).toEqual(['audit', 'orgs', 'teams', 'users', 'users']);
    expect([...touchedTables(stmts)].sort()).toEqual(['audit', 'users']);
  });

  it.runIf(plpgsqlAvailable())('keeps the reach open for dynamic SQL and calls', () => {
    expect(statementScope(statements(`DO $$ BEGIN EXECUTE 'DELETE FROM ' || 'users'; END $$;`), { reads: true })).toBeUndefined();
    expect(statementScope(statements(`DO $$ BEGIN PERFORM refresh_all(); END $$;`), { reads: true })).toBeUndefined();
    expect(statementScope(statements(`DO $$ BEGIN CALL rebuild(); END $$;`), { reads: true })).toBeUndefined();
  });

  it('falls back to the text scan, reach open, without a PL/pgSQL parser or for another language', () => {
    const stmts = statements(`DO LANGUAGE plperl $$ my $x = 1; $$;`);
    expect(statementScope(stmts, { reads: true })).toBeUndefined();
  });
});

describe('the PL/pgSQL reader', () => {
  it.runIf(plpgsqlAvailable())('gives variables, statements with their lines, and says when a body runs dynamic SQL', () => {
    const body = readPlpgsqlFunction(`CREATE FUNCTION f(p int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  n int := (SELECT count(*) FROM users);
  c CURSOR FOR SELECT id FROM teams;
  a int[];
BEGIN
  a[1] := (SELECT max(id) FROM orgs WHERE id = p);
  UPDATE users SET n = n + 1;
  EXECUTE 'DELETE FROM ' || 'hidden';
  RETURN n;
END $$`);
    expect([...body.variables.keys()]).toEqual(expect.arrayContaining(['p', 'n', 'c', 'a']));
    expect(body.variables.get('n')).toBe('int');
    expect(body.statements.map((s) => `${s.lineno}: ${s.sql.trim()}`)).toEqual([
      '3: SELECT (SELECT count(*) FROM users)',
      '4: SELECT id FROM teams',
      '7: SELECT (SELECT max(id) FROM orgs WHERE id = p)',
      '8: UPDATE users SET n = n + 1',
    ]);
    expect(body.dynamic).toBe(true);
    expect(readPlpgsqlBody('BEGIN UPDATE users SET n = 1; END')?.dynamic).toBe(false);
    expect(readPlpgsqlBody('BEGIN RETURN 1; END')).toBeUndefined();
  });

  it.runIf(plpgsqlAvailable())('reads a routine with its own return type and arguments, trigger functions too', () => {
    const stmts = statements(`
      CREATE FUNCTION counted(p int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int := (SELECT count(*) FROM users WHERE id > p); BEGIN UPDATE audit SET x = n; RETURN n; END $$;
      SELECT counted(1);
    `);
    expect(statementScope(stmts, { reads: true })?.map((t) => t.name).sort()).toEqual(['audit', 'users']);
    const trigger = statements(`
      CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.org := (SELECT id FROM orgs LIMIT 1); RETURN NEW; END $$;
      SELECT stamp();
    `);
    expect(statementScope(trigger, { reads: true })?.map((t) => t.name)).toEqual(['orgs']);
  });
});

describe('routines the migration defines and then calls', () => {
  it('reach what their SQL bodies reach', () => {
    const stmts = statements(`
      CREATE FUNCTION backfill_names() RETURNS void LANGUAGE sql AS $$ UPDATE templates SET name = o.name FROM orgs o WHERE o.id = templates.org_id $$;
      SELECT backfill_names();
      CREATE PROCEDURE tidy() LANGUAGE sql AS $$ DELETE FROM sessions WHERE expired $$;
      CALL tidy();
    `);
    expect(statementScope(stmts, { reads: true })?.map((t) => t.name)).toEqual(['templates', 'orgs', 'sessions']);
  });

  it.runIf(plpgsqlAvailable())('reach what their PL/pgSQL bodies reach', () => {
    const stmts = statements(`
      CREATE FUNCTION fill() RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit SELECT id FROM users; END $$;
      SELECT fill();
    `);
    expect(statementScope(stmts, { reads: true })?.map((t) => t.name).sort()).toEqual(['audit', 'users']);
  });

  it('keep the reach open for a routine defined elsewhere or with a body that cannot be read', () => {
    expect(statementScope(statements(`SELECT defined_earlier();`), { reads: true })).toBeUndefined();
    expect(
      statementScope(statements(`CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT other() $$; SELECT f();`), { reads: true }),
    ).toBeUndefined();
    expect(statementScope(statements(`CALL somewhere_else();`), { reads: true })).toBeUndefined();
  });
});
