import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { num, scratchDatabases } from './support/scratch-db.js';
import { servers } from './support/servers.js';
import { parseBoundsCheck, parseInListCheck, resetSequences, seedTables } from '../src/db/seed.js';
import { readCatalog } from '../src/db/seed/catalog.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../src/db/quote.js';
import { startEmbeddedPostgres } from '../src/cli/embedded.js';

async function one<T = Record<string, unknown>>(client: pg.ClientBase, sql: string): Promise<T> {
  const r = await client.query(sql);
  return r.rows[0] as T;
}

describe.each(servers())('seedTables on $name', ({ url }) => {
  const scratch = scratchDatabases(url, 'seedtest');

  const TYPES_SCHEMA = `
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE DOMAIN positive_amount AS numeric(10,2) CHECK (VALUE > 0);
    CREATE TABLE users (
      id serial PRIMARY KEY,
      email text NOT NULL UNIQUE,
      name varchar(40) NOT NULL,
      manager_id int REFERENCES users (id),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE warehouses (
      region text,
      code int,
      label char(3) NOT NULL,
      PRIMARY KEY (region, code)
    );
    CREATE TABLE items (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id int NOT NULL REFERENCES users,
      wh_region text NOT NULL,
      wh_code int NOT NULL,
      mood mood NOT NULL,
      tags text[] NOT NULL,
      moods mood[] NOT NULL,
      doc jsonb NOT NULL,
      meta json NOT NULL,
      price numeric(6,2) NOT NULL,
      sku varchar(5) NOT NULL,
      grade char(3) NOT NULL,
      active boolean NOT NULL,
      seen_at timestamptz NOT NULL,
      blob bytea NOT NULL,
      ip inet NOT NULL,
      amount positive_amount NOT NULL,
      FOREIGN KEY (wh_region, wh_code) REFERENCES warehouses (region, code)
    );
    CREATE TABLE counters (
      id serial PRIMARY KEY,
      n int GENERATED ALWAYS AS IDENTITY,
      twice int GENERATED ALWAYS AS (id * 2) STORED,
      label text NOT NULL
    );
    CREATE TABLE impossible (
      id int PRIMARY KEY,
      lo int NOT NULL,
      hi int NOT NULL,
      note text,
      CHECK (lo > hi)
    );
  `;

  it('fills every table with values that honour types, keys, foreign keys and enums', async () => {
    const c = await scratch(TYPES_SCHEMA);
    const out = await seedTables(c, { rows: 100 });

    const seeded = Object.fromEntries(out.seeded.map((s) => [s.table, s.rowsAdded]));
    expect(seeded).toEqual({ users: 100, warehouses: 100, items: 100, counters: 100 });
    // Parents before children.
    const order = out.seeded.map((s) => s.table);
    expect(order.indexOf('users')).toBeLessThan(order.indexOf('items'));
    expect(order.indexOf('warehouses')).toBeLessThan(order.indexOf('items'));

    // The CHECK (lo > hi) table on NOT NULL columns: a notice, not a throw.
    expect(out.notices).toHaveLength(1);
    expect(out.notices[0]!.table).toBe('impossible');
    expect(out.notices[0]!.message).toMatch(/^table public\.impossible could not be filled: .*check constraint/);
    expect(await num(c, 'SELECT count(*) FROM impossible')).toBe(0);

    for (const t of ['users', 'warehouses', 'items', 'counters']) {
      expect(await num(c, `SELECT count(*) FROM ${t}`)).toBe(100);
    }

    // Unique email, plausible shape; a nullable self-reference makes a shallow tree: a tenth are roots.
    const u = await one<{ emails: string; shaped: string; managers: string; names: string }>(
      c,
      `SELECT count(DISTINCT email) AS emails, count(*) FILTER (WHERE email ~ '^user[0-9]+@example\\.com$') AS shaped,
              count(manager_id) AS managers, count(DISTINCT id) AS names FROM users`,
    );
    expect(u).toEqual({ emails: '100', shaped: '100', managers: '90', names: '100' });
    expect(await num(c, 'SELECT count(*) FROM users c JOIN users p ON p.id = c.manager_id WHERE p.manager_id IS NULL')).toBe(90);

    // Composite primary key unique, char(3) filled to its width.
    expect(await num(c, 'SELECT count(DISTINCT (region, code)) FROM warehouses')).toBe(100);
    expect(await num(c, 'SELECT count(*) FROM warehouses WHERE octet_length(label) = 3')).toBe(100);

    // Foreign keys, single and composite, point at existing parent rows.
    expect(await num(c, 'SELECT count(*) FROM items i JOIN users u ON u.id = i.owner_id')).toBe(100);
    expect(
      await num(c, 'SELECT count(*) FROM items i JOIN warehouses w ON w.region = i.wh_region AND w.code = i.wh_code'),
    ).toBe(100);

    // Enum values are labels of the type, all of them used; arrays hold one valid element.
    const moods = (await c.query('SELECT DISTINCT mood::text AS m FROM items ORDER BY 1')).rows.map((r) => r.m);
    expect(moods).toEqual(['happy', 'ok', 'sad']);
    expect(
      await num(
        c,
        `SELECT count(*) FROM items WHERE cardinality(tags) = 1 AND cardinality(moods) = 1
           AND moods[1]::text = ANY (enum_range(NULL::mood)::text[])`,
      ),
    ).toBe(100);

    // The other types: within their limits, unique where generated from g.
    const it = await one<Record<string, string>>(
      c,
      `SELECT count(DISTINCT id) AS ids,
              count(*) FILTER (WHERE doc ? 'n' AND (meta ->> 'n') IS NOT NULL) AS json,
              count(*) FILTER (WHERE price > 0 AND price < 10000) AS price,
              count(*) FILTER (WHERE char_length(sku) BETWEEN 1 AND 5) AS sku,
              count(*) FILTER (WHERE octet_length(grade) = 3) AS grade,
              count(DISTINCT active) AS bools,
              count(*) FILTER (WHERE seen_at <= now() AND seen_at > now() - interval '1 year') AS recent,
              count(DISTINCT blob) AS blobs,
              count(DISTINCT ip) AS ips,
              count(*) FILTER (WHERE amount > 0) AS amounts
       FROM items`,
    );
    expect(it).toEqual({
      ids: '100',
      json: '100',
      price: '100',
      sku: '100',
      grade: '100',
      bools: '2',
      recent: '100',
      blobs: '100',
      ips: '100',
      amounts: '100',
    });

    // serial and identity columns kept their generated values; the stored generated column follows.
    const ctr = await one<Record<string, string>>(
      c,
      `SELECT count(DISTINCT id) AS ids, count(DISTINCT n) AS idents, count(*) FILTER (WHERE twice = id * 2) AS gen FROM counters`,
    );
    expect(ctr).toEqual({ ids: '100', idents: '100', gen: '100' });
  });

  it('tops tables up to the target and keeps unique keys unique', async () => {
    const c = await scratch(`
      CREATE TABLE users (id serial PRIMARY KEY, email varchar(60) NOT NULL UNIQUE, handle text NOT NULL);
      CREATE UNIQUE INDEX users_handle_key ON users (lower(handle));
      CREATE TABLE tags (code varchar(12) PRIMARY KEY, uid uuid NOT NULL UNIQUE);
      CREATE TABLE user_tags (
        user_id int NOT NULL REFERENCES users,
        tag_code varchar(12) NOT NULL REFERENCES tags,
        PRIMARY KEY (user_id, tag_code)
      );
      CREATE TABLE profiles (user_id int PRIMARY KEY REFERENCES users, bio text);
      CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL);
    `);
    const first = await seedTables(c, { rows: 100 });
    expect(first.notices).toEqual([]);
    const second = await seedTables(c, { rows: 150 });
    expect(second.notices).toEqual([]);
    expect(Object.fromEntries(second.seeded.map((s) => [s.table, s.rowsAdded]))).toEqual({
      users: 50,
      tags: 50,
      user_tags: 50,
      profiles: 50,
      events: 50,
    });

    const q = await one<Record<string, string>>(
      c,
      `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(DISTINCT email) FROM users) AS emails,
              (SELECT count(DISTINCT lower(handle)) FROM users) AS handles,
              (SELECT count(DISTINCT code) FROM tags) AS tags, (SELECT count(DISTINCT uid) FROM tags) AS uids,
              (SELECT count(DISTINCT (user_id, tag_code)) FROM user_tags) AS pairs,
              (SELECT count(*) FROM user_tags ut JOIN users u ON u.id = ut.user_id JOIN tags t ON t.code = ut.tag_code) AS joined,
              (SELECT count(DISTINCT user_id) FROM profiles) AS profiles,
              (SELECT count(*) FROM profiles p JOIN users u ON u.id = p.user_id) AS profiled,
              (SELECT count(DISTINCT id) FROM events) AS events`,
    );
    expect(q).toEqual({
      users: '150',
      emails: '150',
      handles: '150',
      tags: '150',
      uids: '150',
      pairs: '150',
      joined: '150',
      profiles: '150',
      profiled: '150',
      events: '150',
    });

    // A table already holding the target (or more) is left alone.
    const third = await seedTables(c, { rows: 120 });
    expect(third).toEqual({ seeded: [], notices: [], tables: [] });
    expect(await num(c, 'SELECT count(*) FROM users')).toBe(150);
  });

  it('fills only the listed tables and the empty parents they need', async () => {
    const schema = `
      CREATE SCHEMA library;
      CREATE TABLE library.authors (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL);
      CREATE TABLE publishers (id int PRIMARY KEY, name text NOT NULL);
      CREATE TABLE books (
        id serial PRIMARY KEY,
        author_id bigint NOT NULL REFERENCES library.authors,
        publisher_id int REFERENCES publishers,
        title text NOT NULL
      );
      CREATE TABLE reviews (id serial PRIMARY KEY, book_id int NOT NULL REFERENCES books, stars int NOT NULL CHECK (stars BETWEEN 1 AND 5));
      CREATE TABLE logs (id serial PRIMARY KEY, line text);
    `;
    const c = await scratch(schema);
    await c.query(`INSERT INTO publishers VALUES (7, 'Seven'), (8, 'Eight')`);
    const out = await seedTables(c, { rows: 100, tables: ['books', 'nope'] });
    expect(out.seeded.map((s) => s.table)).toEqual(['library.authors', 'books']);
    expect(out.notices).toEqual([{ table: 'nope', message: 'table nope could not be filled: no such table' }]);

    const q = await one<Record<string, string>>(
      c,
      `SELECT (SELECT count(*) FROM library.authors) AS authors, (SELECT count(*) FROM publishers) AS publishers,
              (SELECT count(*) FROM books) AS books, (SELECT count(*) FROM reviews) AS reviews,
              (SELECT count(*) FROM logs) AS logs,
              (SELECT count(*) FROM books b JOIN library.authors a ON a.id = b.author_id) AS by_author,
              (SELECT count(*) FROM books b JOIN publishers p ON p.id = b.publisher_id) AS by_publisher`,
    );
    // publishers already had rows: used for FK values, not topped up.
    expect(q).toEqual({
      authors: '100',
      publishers: '2',
      books: '100',
      reviews: '0',
      logs: '0',
      by_author: '100',
      by_publisher: '100',
    });

    // Qualified names work too, and a CHECK range is honoured.
    const more = await seedTables(c, { rows: 100, tables: ['public.reviews'] });
    expect(more).toEqual({ seeded: [{ table: 'reviews', rowsAdded: 100 }], notices: [], tables: [{ table: 'reviews', target: 100, rows: 100 }] });
    expect(await num(c, 'SELECT count(DISTINCT stars) FROM reviews WHERE stars BETWEEN 1 AND 5')).toBe(5);
  });

  it('reads the catalog with a constant number of queries', async () => {
    const schemaFor = (n: number): string => {
      const parts = [`CREATE TYPE color AS ENUM ('red', 'green');`];
      for (let i = 0; i < n; i++) {
        const fk = i > 0 ? `, parent_id int NOT NULL REFERENCES t${i - 1}` : '';
        parts.push(
          `CREATE TABLE t${i} (id int PRIMARY KEY, code varchar(10) UNIQUE, c color NOT NULL, qty int CHECK (qty > 0), tags text[]${fk});`,
        );
      }
      return parts.join('\n');
    };
    const measure = async (n: number): Promise<{ catalog: number; inserts: number; analyzes: number }> => {
      const c = await scratch(schemaFor(n));
      const seen: string[] = [];
      const orig = c.query.bind(c);
      const spy = (...args: unknown[]): unknown => {
        const q = args[0];
        seen.push(typeof q === 'string' ? q : String((q as { text?: unknown }).text));
        return (orig as (...a: unknown[]) => unknown)(...args);
      };
      c.query = spy as typeof c.query;
      const out = await seedTables(c, { rows: 20, analyze: true });
      c.query = orig;
      expect(out.notices).toEqual([]);
      expect(out.seeded).toHaveLength(n);
      const inserts = seen.filter((s) => /^\s*(WITH\b[\s\S]*)?INSERT INTO\b/.test(s)).length;
      const analyzes = seen.filter((s) => /^\s*ANALYZE\b/.test(s)).length;
      // FK chain filled in order, values valid.
      if (n > 1) expect(await num(c, `SELECT count(*) FROM t${n - 1} c JOIN t${n - 2} p ON p.id = c.parent_id`)).toBe(20);
      return { catalog: seen.length - inserts - analyzes, inserts, analyzes };
    };
    const small = await measure(2);
    const large = await measure(40);
    expect(small.inserts).toBe(2);
    expect(large.inserts).toBe(40);
    expect(large.analyzes).toBe(40);
    expect(large.catalog).toBe(small.catalog);
    // Catalog, counts, the session's trigger setting and its restore, sequences before and after.
    expect(small.catalog).toBeLessThanOrEqual(11);
  });

  it('keeps the caller transaction usable with inTransaction', async () => {
    const c = await scratch(`
      CREATE TABLE ok (id serial PRIMARY KEY, v text NOT NULL);
      CREATE TABLE nope (id int PRIMARY KEY, v int NOT NULL, CHECK (v <> v));
    `);
    await c.query('BEGIN');
    const out = await seedTables(c, { rows: 30, inTransaction: true, analyze: true });
    expect(out.seeded).toEqual([{ table: 'ok', rowsAdded: 30 }]);
    expect(out.notices.map((n) => n.table)).toEqual(['nope']);
    expect(await num(c, 'SELECT count(*) FROM ok')).toBe(30);
    await c.query('COMMIT');
    expect(await num(c, 'SELECT count(*) FROM ok')).toBe(30);
  });

  it('handles CHECK lists, partitions, cycles, self-references and other schemas', async () => {
    const c = await scratch(`
      CREATE SCHEMA billing;
      CREATE TABLE billing.invoices (
        id bigint PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('draft', 'sent', 'paid')),
        kind varchar(10) NOT NULL CHECK (kind IN ('a', 'b')),
        "Weird ""Name""" text NOT NULL,
        parent_id bigint NOT NULL REFERENCES billing.invoices (id),
        discount int NOT NULL CHECK (discount >= 0 AND discount <= 30)
      );
      CREATE TABLE measurements (
        id bigint NOT NULL,
        taken_on date NOT NULL,
        value real NOT NULL,
        PRIMARY KEY (id, taken_on)
      ) PARTITION BY RANGE (taken_on);
      CREATE TABLE measurements_old PARTITION OF measurements FOR VALUES FROM ('2000-01-01') TO ('2020-01-01');
      CREATE TABLE measurements_default PARTITION OF measurements DEFAULT;
      CREATE TABLE a (id int PRIMARY KEY, b_id int);
      CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);
      ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b;
      CREATE TABLE odd (id int PRIMARY KEY, pt point, span int4range, mac macaddr, bits bit(8), vbits varbit(5),
                        t time NOT NULL, iv interval NOT NULL, net cidr NOT NULL, doc tsvector, sm smallint NOT NULL,
                        f float8 NOT NULL, m money NOT NULL, d date NOT NULL, ts timestamp NOT NULL, x xml);
    `);
    const out = await seedTables(c, { rows: 60 });
    expect(out.notices).toEqual([]);
    const seeded = Object.fromEntries(out.seeded.map((s) => [s.table, s.rowsAdded]));
    expect(seeded).toEqual({ 'billing.invoices': 60, measurements: 60, a: 60, b: 60, odd: 60 });

    const q = await one<Record<string, string>>(
      c,
      `SELECT (SELECT count(DISTINCT status) FROM billing.invoices) AS statuses,
              (SELECT count(DISTINCT kind) FROM billing.invoices) AS kinds,
              (SELECT count(*) FROM billing.invoices i JOIN billing.invoices p ON p.id = i.parent_id) AS self_refs,
              (SELECT max(discount)::text FROM billing.invoices) AS max_discount,
              (SELECT count(*) FROM measurements_default) AS routed,
              (SELECT count(*) FROM measurements_old) AS old,
              (SELECT count(*) FROM a WHERE b_id IS NULL) AS a_null,
              (SELECT count(*) FROM b JOIN a ON a.id = b.a_id) AS b_joined,
              (SELECT count(DISTINCT sm) FROM odd) AS smallints`,
    );
    expect(q).toEqual({
      statuses: '3',
      kinds: '2',
      self_refs: '60',
      max_discount: '30',
      routed: '60',
      old: '0',
      a_null: '60',
      b_joined: '60',
      smallints: '60',
    });
    // Order: a (its FK to b is nullable) before b.
    const order = out.seeded.map((s) => s.table);
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'));
  });

  it('reports tables it cannot fill instead of throwing', async () => {
    const c = await scratch(`
      CREATE TABLE c1 (id int PRIMARY KEY, d_id int NOT NULL);
      CREATE TABLE d1 (id int PRIMARY KEY, c_id int NOT NULL REFERENCES c1);
      ALTER TABLE c1 ADD FOREIGN KEY (d_id) REFERENCES d1;
      CREATE TYPE pair AS (x int, y int);
      CREATE TABLE composite (id int PRIMARY KEY, p pair NOT NULL);
      CREATE TABLE fine (id int PRIMARY KEY, p pair);
    `);
    const out = await seedTables(c, { rows: 10 });
    expect(out.seeded).toEqual([{ table: 'fine', rowsAdded: 10 }]);
    expect(out.notices.map((n) => n.table).sort()).toEqual(['c1', 'composite', 'd1']);
    for (const n of out.notices) expect(n.message).toMatch(new RegExp(`^table public\\.${n.table} could not be filled: .+`));
    expect(await num(c, 'SELECT count(*) FROM fine WHERE p IS NULL')).toBe(10);
  });

  it('throws on connection errors instead of reporting notices', async () => {
    const c = await scratch('CREATE TABLE t (id int PRIMARY KEY)');
    await c.end();
    await expect(seedTables(c, { rows: 10 })).rejects.toThrow();
  });

  it('fills without firing user triggers or rules', async () => {
    const c = await scratch(`
      CREATE TABLE audit (n int);
      CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);
      CREATE FUNCTION forbid() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no writes'; END $$;
      CREATE TRIGGER accounts_forbid BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION forbid();
      CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
      CREATE RULE notes_audit AS ON INSERT TO notes DO ALSO INSERT INTO audit VALUES (1);
    `);
    const out = await seedTables(c, { rows: 50, tables: ['accounts', 'notes'] });
    expect(out.notices).toEqual([]);
    expect(out.userCodeFires).toBeUndefined();
    expect(await num(c, 'SELECT count(*) FROM accounts')).toBe(50);
    expect(await num(c, 'SELECT count(*) FROM notes')).toBe(50);
    expect(await num(c, 'SELECT count(*) FROM audit')).toBe(0);
    // The session's setting is back: the migration's own writes fire triggers as in production.
    expect((await one<{ r: string }>(c, `SELECT current_setting('session_replication_role') AS r`)).r).toBe('origin');
    await expect(c.query(`INSERT INTO accounts (name) VALUES ('x')`)).rejects.toThrow(/no writes/);
  });

  it('leaves room for a fixture\'s keys and sets sequences past every key', async () => {
    const c = await scratch(`
      CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
      CREATE TABLE tags (id int PRIMARY KEY, name text NOT NULL);
      CREATE TABLE posts (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, user_id int NOT NULL REFERENCES users);
    `);
    await seedTables(c, { rows: 100 });
    expect(await num(c, 'SELECT min(id) FROM users')).toBeGreaterThan(1000);
    expect(await num(c, 'SELECT min(id) FROM tags')).toBeGreaterThan(1000);
    // The article's fixture: users with ids 1-4, then rows without ids.
    await c.query(`INSERT INTO users (id, email) VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x'), (4, 'd@x')`);
    await c.query(`INSERT INTO tags (id, name) VALUES (1, 'one')`);
    await c.query(`INSERT INTO users (email) VALUES ('e@x')`);
    await c.query(`INSERT INTO posts (user_id) VALUES (1)`);
    expect(await num(c, 'SELECT count(*) FROM users')).toBe(105);

    // A rebuilt table whose ids were copied into a new serial column: its sequence is behind.
    await c.query(`CREATE TABLE users_new (id serial PRIMARY KEY, email text NOT NULL);
                   INSERT INTO users_new (id, email) SELECT id, email FROM users;`);
    const moved = await resetSequences(c);
    expect(moved.map((m) => m.column)).toEqual(['public.users_new.id']);
    expect(moved[0]!.now).toBe((await num(c, 'SELECT max(id) FROM users_new')) + 1);
    await c.query(`INSERT INTO users_new (email) VALUES ('f@x')`);
    expect(await resetSequences(c)).toEqual([]);
  });

  it('sets sequences past their column only in the tables asked for, and reads the catalog of what the filled tables reach', async () => {
    const c = await scratch(`
      CREATE SCHEMA billing;
      CREATE TABLE orgs (id serial PRIMARY KEY, name text NOT NULL);
      CREATE TABLE billing.orgs (id serial PRIMARY KEY);
      CREATE TABLE users (id serial PRIMARY KEY, org_id int NOT NULL REFERENCES orgs);
      CREATE TABLE unrelated (id serial PRIMARY KEY, user_id int REFERENCES users);
      INSERT INTO orgs (id, name) VALUES (5, 'a');
      INSERT INTO billing.orgs (id) VALUES (6);
      INSERT INTO unrelated (id) VALUES (7);
    `);
    // A name without a schema is that name in any schema; other tables are not looked at.
    expect((await resetSequences(c, [{ schema: undefined, name: 'orgs' }])).map((m) => m.column).sort()).toEqual(['billing.orgs.id', 'public.orgs.id']);
    expect(await resetSequences(c, [])).toEqual([]);
    expect((await resetSequences(c)).map((m) => m.column)).toEqual(['public.unrelated.id']);

    const scoped = await readCatalog(c, ['users']);
    expect([...scoped.tables.values()].map((t) => `${t.schema}.${t.name}`).sort()).toEqual(['public.orgs', 'public.users']);
    // Referenced from outside the reach (unrelated.user_id) still counts, as in the whole catalog.
    const whole = await readCatalog(c);
    expect([...scoped.referenced].sort()).toEqual([...whole.referenced].filter((k) => [...scoped.tables.keys()].some((oid) => k.startsWith(`${oid}:`))).sort());
    expect(scoped.referenced.size).toBe(2);
    // The fill of a listed table reads no more than that and still fills its empty parent.
    await c.query('DELETE FROM orgs');
    const out = await seedTables(c, { rows: 10, tables: ['users'] });
    expect(out.seeded.map((t) => t.table)).toEqual(['orgs', 'users']);
    expect(await num(c, 'SELECT count(*) FROM unrelated')).toBe(1);
  });

  it('honours constraints that bound a table\'s size and says how far it got', async () => {
    const c = await scratch(`
      CREATE TABLE settings (id int PRIMARY KEY CHECK (id = 1), theme text NOT NULL);
      CREATE TABLE levels (id smallint PRIMARY KEY CHECK (id > 0), name text NOT NULL);
      CREATE TABLE flags (on_off boolean NOT NULL UNIQUE, label text);
      CREATE TABLE grades (g int NOT NULL UNIQUE CHECK (g BETWEEN 1 AND 5));
      CREATE TABLE config (key text NOT NULL, value text);
      CREATE UNIQUE INDEX config_singleton ON config ((true));
    `);
    const out = await seedTables(c, { rows: 40_000 });
    const held = Object.fromEntries(out.tables.map((t) => [t.table, t.rows]));
    expect(held).toEqual({ settings: 1, levels: 32767 - 1000, flags: 2, grades: 5, config: 1 });
    expect(out.notices.find((n) => n.table === 'config')!.message).toMatch(/only 1 of 40000 rows could be added \(duplicate key value violates unique constraint "config_singleton"/);
    const levels = out.tables.find((t) => t.table === 'levels')!;
    expect(levels).toMatchObject({ target: 40_000 });
    expect(levels.reason).toMatch(/smallint/);
    expect(out.notices.find((n) => n.table === 'levels')!.message).toMatch(/only 31767 of 40000 rows/);
    // Already at its bound: nothing to add, said again.
    const again = await seedTables(c, { rows: 40_000, tables: ['settings'] });
    expect(again.tables).toEqual([{ table: 'settings', target: 40_000, rows: 1, reason: expect.stringMatching(/room for 1 distinct value/) }]);
  }, 60_000);

  it('seeds 200,000 rows into a six-column table', async () => {
    const c = await scratch(`
      CREATE TABLE accounts (
        id bigserial PRIMARY KEY,
        email text NOT NULL UNIQUE,
        name varchar(80) NOT NULL,
        balance numeric(12,2) NOT NULL,
        active boolean NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE TABLE orders (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, total numeric(10,2) NOT NULL);
    `);
    const out = await seedTables(c, { rows: 200_000, tables: ['orders'], analyze: true });
    expect(out).toEqual({
      seeded: [
        { table: 'accounts', rowsAdded: 200_000 },
        { table: 'orders', rowsAdded: 200_000 },
      ],
      notices: [],
      tables: [
        { table: 'accounts', target: 200_000, rows: 200_000 },
        { table: 'orders', target: 200_000, rows: 200_000 },
      ],
    });
    const q = await one<Record<string, string>>(
      c,
      `SELECT (SELECT count(DISTINCT email) FROM accounts) AS emails,
              (SELECT count(*) FROM orders o JOIN accounts a ON a.id = o.account_id) AS joined,
              (SELECT reltuples::int8 FROM pg_class WHERE oid = 'accounts'::regclass) > 0 AS analyzed`,
    );
    expect(q).toEqual({ emails: '200000', joined: '200000', analyzed: true });
  }, 120_000);
});

describe('quoting helpers', () => {
  it('quotes identifiers and literals', () => {
    expect(quoteIdent('users')).toBe('"users"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteQualified('billing', 'Invoices')).toBe('"billing"."Invoices"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
    expect(quoteLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(quoteLiteral(null)).toBe('NULL');
    expect(quoteLiteral(42)).toBe('42');
    expect(() => quoteIdent('a\0b')).toThrow();
  });
});

describe('CHECK heuristics', () => {
  it('reads IN lists as Postgres prints them', () => {
    expect(parseInListCheck(`CHECK ((status = ANY (ARRAY['a'::text, 'b,c'::text])))`, 'status')).toEqual({
      array: `ARRAY['a'::text, 'b,c'::text]`,
      length: 2,
    });
    expect(
      parseInListCheck(
        `CHECK (((kind)::text = ANY ((ARRAY['x'::character varying, 'y'::character varying])::text[])))`,
        'kind',
      ),
    ).toEqual({ array: `ARRAY['x'::character varying, 'y'::character varying]`, length: 2 });
    expect(parseInListCheck(`CHECK ((other = ANY (ARRAY['a'::text])))`, 'status')).toBeUndefined();
    expect(parseInListCheck(`CHECK (((status = ANY (ARRAY['a'::text])) OR (x > 1)))`, 'status')).toBeUndefined();
  });

  it('reads numeric bounds', () => {
    expect(parseBoundsCheck('CHECK (((rating >= 1) AND (rating <= 5)))', 'rating')).toEqual({ lo: 1, hi: 5 });
    expect(parseBoundsCheck('CHECK ((price > (0)::numeric))', 'price')).toEqual({ lo: 1 });
    expect(parseBoundsCheck('CHECK ((qty < 0))', 'qty')).toEqual({ hi: -1 });
    expect(parseBoundsCheck('CHECK ((lo > hi))', 'lo')).toBeUndefined();
  });
});

describe('a role that may not turn user triggers off (own cluster)', () => {
  it('fills with the triggers firing and says so', async () => {
    const server = await startEmbeddedPostgres();
    try {
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE app LOGIN PASSWORD 'app-pw'`);
        await admin.query(`CREATE DATABASE app_db OWNER app`);
      } finally {
        await admin.end();
      }
      const u = new URL(server.url);
      u.username = 'app';
      u.password = 'app-pw';
      u.pathname = '/app_db';
      const c = new pg.Client({ connectionString: u.toString() });
      await c.connect();
      try {
        await c.query(`
          CREATE TABLE hits (n int);
          CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);
          CREATE FUNCTION count_hit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO hits VALUES (1); RETURN NEW; END $$;
          CREATE TRIGGER accounts_hit AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION count_hit();
        `);
        const out = await seedTables(c, { rows: 20, tables: ['accounts'] });
        expect(out.userCodeFires).toMatch(/may not set session_replication_role/);
        expect(await num(c, 'SELECT count(*) FROM accounts')).toBe(20);
        expect(await num(c, 'SELECT count(*) FROM hits')).toBe(20);
        // In a caller's transaction the refused SET does not abort it.
        await c.query('BEGIN');
        const inTx = await seedTables(c, { rows: 30, tables: ['accounts'], inTransaction: true });
        expect(inTx.userCodeFires).toBeDefined();
        expect(await num(c, 'SELECT count(*) FROM accounts')).toBe(30);
        await c.query('COMMIT');
      } finally {
        await c.end();
      }
    } finally {
      await server.stop();
    }
  }, 90_000);
});
