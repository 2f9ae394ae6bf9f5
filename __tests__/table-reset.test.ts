import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { resetTablesFrom } from '../src/db/table-reset.js';
import { scratchDatabases } from './support/scratch-db.js';
import { servers } from './support/servers.js';

const SCHEMA = `
CREATE SCHEMA app;
CREATE TABLE app.orgs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, slug text GENERATED ALWAYS AS (lower(name)) STORED);
CREATE TABLE app.teams (id bigint PRIMARY KEY, org_id bigint NOT NULL REFERENCES app.orgs, tags text[], meta jsonb);
CREATE TABLE app.members (id bigint PRIMARY KEY, team_id bigint NOT NULL REFERENCES app.teams, since timestamptz NOT NULL DEFAULT now());
CREATE TABLE app.events (id bigint PRIMARY KEY, kind text NOT NULL);
CREATE TABLE app.special_events (extra int) INHERITS (app.events);
CREATE TABLE app.other (id bigint PRIMARY KEY);
ALTER TABLE app.teams DROP COLUMN meta;
CREATE FUNCTION app.no_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'orgs are written by the admin tool only'; END $$;
CREATE TRIGGER orgs_locked BEFORE INSERT OR UPDATE OR DELETE ON app.orgs FOR EACH ROW EXECUTE FUNCTION app.no_writes();
CREATE TRIGGER orgs_no_truncate BEFORE TRUNCATE ON app.orgs EXECUTE FUNCTION app.no_writes();
`;

/** The rows the migrations wrote (the source holds only these). */
const MIGRATION_ROWS = `
ALTER TABLE app.orgs DISABLE TRIGGER orgs_locked;
INSERT INTO app.orgs (name) VALUES ('Acme "Corp", Ltd.\\');
ALTER TABLE app.orgs ENABLE TRIGGER orgs_locked;
INSERT INTO app.teams VALUES (1, 1, ARRAY['a,b', NULL, 'c"d']);
INSERT INTO app.members VALUES (1, 1, '2020-01-02 03:04:05.123456+00');
INSERT INTO app.events VALUES (1, 'boot');
INSERT INTO app.special_events VALUES (2, 'special', 7);
`;

/** Generated rows on top, in every table. */
const GENERATED_ROWS = `
SET session_replication_role = replica;
INSERT INTO app.orgs (name) SELECT 'org ' || g FROM generate_series(1, 50) g;
INSERT INTO app.teams SELECT 100 + g, 1 + g, NULL FROM generate_series(1, 50) g;
INSERT INTO app.members SELECT 100 + g, 100 + g FROM generate_series(1, 50) g;
INSERT INTO app.events SELECT 100 + g, 'gen' FROM generate_series(1, 50) g;
INSERT INTO app.special_events SELECT 200 + g, 'gen', g FROM generate_series(1, 50) g;
INSERT INTO app.other SELECT g FROM generate_series(1, 50) g;
RESET session_replication_role;
`;

const TABLES = ['app.orgs', 'app.teams', 'app.members', 'only app.events', 'app.special_events', 'app.other'];

async function contents(c: pg.Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    out[t] = (await c.query<{ rows: string }>(`SELECT coalesce(string_agg(x::text, ' | ' ORDER BY x::text), '') AS rows FROM ${t} x`)).rows[0]!.rows;
  }
  return out;
}

/** Every catalog row of the user's tables, as versions: nothing may change there. */
async function catalogVersions(c: pg.Client): Promise<string> {
  const r = await c.query<{ v: string }>(
    `SELECT string_agg(c.relname || ':' || c.xmin || ':' || c.relfilenode, ',' ORDER BY c.relname) AS v FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app'`,
  );
  return r.rows[0]!.v;
}

describe.each(servers())('resetting tables in place on $name', ({ url }) => {
  const database = scratchDatabases(url, 'tablereset');

  it('gives the named tables, their referencing tables and inheritance children the source rows, nothing else', async () => {
    const source = await database(SCHEMA + MIGRATION_ROWS);
    const target = await database(SCHEMA + MIGRATION_ROWS + GENERATED_ROWS);
    const want = await contents(source);
    const before = await contents(target);
    const catalog = await catalogVersions(target);

    const r = await resetTablesFrom(target, source, ['app.orgs', 'events']);
    expect(r).toEqual({ ok: true, tables: ['app.events', 'app.members', 'app.orgs', 'app.special_events', 'app.teams'] });

    const after = await contents(target);
    for (const t of TABLES.filter((x) => x !== 'app.other')) expect(after[t], t).toBe(want[t]);
    // Out of reach: keeps the generated rows.
    expect(after['app.other']).toBe(before['app.other']);
    expect(after['app.other']).not.toBe(want['app.other']);
    // Rows only, under replica: no trigger fired, no relation rewritten, no catalog row touched.
    expect(await catalogVersions(target)).toBe(catalog);
    // The generated column is the server's: computed again from the copied value.
    expect((await target.query('SELECT slug FROM app.orgs')).rows).toEqual([{ slug: 'acme "corp", ltd.\\' }]);
    // The session is as before: its own triggers fire again.
    await expect(target.query("INSERT INTO app.orgs (name) VALUES ('x')")).rejects.toThrow(/admin tool only/);
  });

  it('empties a table the source holds no rows of', async () => {
    const source = await database(SCHEMA);
    const target = await database(SCHEMA + MIGRATION_ROWS + GENERATED_ROWS);
    expect((await resetTablesFrom(target, source, ['members'])).ok).toBe(true);
    expect((await target.query('SELECT count(*)::int AS n FROM app.members')).rows).toEqual([{ n: 0 }]);
    expect((await target.query('SELECT count(*)::int AS n FROM app.teams')).rows).toEqual([{ n: 51 }]);
  });

  it('changes nothing and says why when the source lacks a table', async () => {
    const source = await database('CREATE SCHEMA app;');
    const target = await database(SCHEMA + MIGRATION_ROWS + GENERATED_ROWS);
    const before = await contents(target);
    const r = await resetTablesFrom(target, source, ['app.teams']);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.why).toMatch(/could not be read: relation "app\.(teams|members)" does not exist/);
    expect(await contents(target)).toEqual(before);
  });

  it('changes nothing when a row does not fit any more', async () => {
    const source = await database(SCHEMA + MIGRATION_ROWS);
    const target = await database(SCHEMA + MIGRATION_ROWS + GENERATED_ROWS + 'ALTER TABLE app.events ADD CONSTRAINT no_boot CHECK (kind <> $$boot$$) NOT VALID;');
    const before = await contents(target);
    const r = await resetTablesFrom(target, source, ['app.events']);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.why).toMatch(/no_boot/);
    expect(await contents(target)).toEqual(before);
  });

  it('does nothing for names that are no table yet', async () => {
    const source = await database(SCHEMA);
    const target = await database(SCHEMA);
    expect(await resetTablesFrom(target, source, ['created_later', 'app.nope'])).toEqual({ ok: true, tables: [] });
  });
});
