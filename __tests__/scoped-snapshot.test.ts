import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackCorpus } from '../bench/rollback.bench.js';
import { renderSnapshot, type SchemaSnapshot } from '../src/db/schema-model.js';
import { ScopedSnapshots } from '../src/db/scoped-snapshot.js';
import { ScratchServer } from '../src/db/scratch.js';
import { snapshotSchema, type SnapshotOptions } from '../src/db/snapshot.js';
import { reachableNames } from '../src/sql/reach.js';
import { compareSnapshots } from '../src/stages/schema-diff.js';
import { startThrowawayCluster, type ThrowawayCluster } from './support/cluster.js';
import { leftoverScratchDatabases } from './support/fixtures.js';
import { servers } from './support/servers.js';
import { parse } from './support/sql.js';

interface Pair {
  name: string;
  up: string;
  down: string;
}

/** Downs that do not give the schema back, as the rollback stage's tests have them. */
const BROKEN: Pair[] = [
  { name: 'default not restored', up: 'ALTER TABLE users ALTER COLUMN email SET DEFAULT \'x\';\n', down: 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n' },
  { name: 'index left behind', up: 'CREATE INDEX users_email_idx ON users (email);\n', down: 'SELECT 1;\n' },
  { name: 'type not changed back', up: 'ALTER TABLE users ALTER COLUMN email TYPE varchar(320);\n', down: 'SELECT 1;\n' },
  { name: 'enum left behind', up: "CREATE TYPE task_state AS ENUM ('open', 'done');\n", down: 'SELECT 1;\n' },
  { name: 'reup differs', up: 'CREATE TABLE IF NOT EXISTS notes (id int);\nALTER TABLE notes ADD COLUMN IF NOT EXISTS body text;\n', down: 'ALTER TABLE notes DROP COLUMN body;\nALTER TABLE notes ADD COLUMN body varchar(10);\n' },
  { name: 'drops what the up did not create', up: 'CREATE TABLE labels (id int);\n', down: 'DROP TABLE labels;\nDROP INDEX comments_task_id_idx;\n' },
  { name: 'constraint renamed', up: 'ALTER TABLE invoices RENAME CONSTRAINT invoices_amount_cents_check TO invoices_amount_positive;\n', down: 'SELECT 1;\n' },
];

/** Migrations that change what their statements do not name: the digest must catch each. */
const OUTSIDE: Pair[] = [
  {
    name: 'DO block with EXECUTE format creating a table',
    up: "DO $$ BEGIN FOR i IN 1..2 LOOP EXECUTE format('CREATE TABLE %I (id int)', 'dyn_' || i); END LOOP; END $$;\n",
    down: "DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'dyn_' || 1); END $$;\n",
  },
  {
    name: 'helper function that runs DDL',
    up: `CREATE FUNCTION add_audit(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I (at timestamptz, row_id bigint)', t || '_audit');
  EXECUTE format('ALTER TABLE projects ADD COLUMN IF NOT EXISTS %I text', t || '_note');
END $$;
`,
    down: 'DROP FUNCTION add_audit(text);\n',
  },
  { name: 'call of the helper', up: "SELECT add_audit('organizations');\n", down: 'DROP TABLE organizations_audit;\n' },
  { name: 'view on a view', up: 'CREATE VIEW open_task_titles AS SELECT title FROM open_tasks;\n', down: 'DROP VIEW open_task_titles;\n' },
  {
    name: 'cascade drops a view nobody names',
    up: "COMMENT ON VIEW open_tasks IS 'open ones';\n",
    down: "COMMENT ON VIEW open_tasks IS NULL;\nDROP VIEW open_tasks CASCADE;\nCREATE VIEW open_tasks AS SELECT t.id, t.title, p.name AS project FROM tasks t JOIN projects p ON p.id = t.project_id WHERE NOT p.archived;\n",
  },
  { name: 'rename of a table others reference', up: 'ALTER TABLE organizations RENAME TO orgs;\n', down: 'SELECT 1;\n' },
  { name: 'rename of a column others reference', up: 'ALTER TABLE orgs RENAME COLUMN id TO org_id;\n', down: 'SELECT 1;\n' },
  { name: 'rename of a type a table uses', up: 'ALTER TYPE user_status RENAME TO account_status;\n', down: 'SELECT 1;\n' },
  {
    name: 'static DO block',
    up: 'DO $$ BEGIN CREATE INDEX tasks_title_idx ON tasks (title); END $$;\n',
    down: "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'tasks_title_idx') THEN DROP INDEX tasks_title_idx; END IF; END $$;\n",
  },
];

/** Kinds of object the unit lookups reach in their own way: domains, ranges and their multiranges, rules, statistics, inheritance, partitions, aggregates, operators, extensions. */
const KINDS: Pair[] = [
  { name: 'domain', up: 'CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);\nCREATE TABLE amounts (id int, qty positive_int);\n', down: 'DROP TABLE amounts;\nDROP DOMAIN positive_int;\n' },
  { name: 'domain constraint', up: 'ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_small CHECK (VALUE < 1000);\n', down: 'ALTER DOMAIN positive_int DROP CONSTRAINT positive_int_small;\n' },
  { name: 'range type', up: 'CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);\nCREATE TABLE spans (id int, r floatrange);\n', down: 'DROP TABLE spans;\nDROP TYPE floatrange;\n' },
  { name: 'range renamed', up: 'ALTER TYPE floatrange RENAME TO float_span;\n', down: 'ALTER TYPE float_span RENAME TO floatrange;\n' },
  { name: 'rule', up: 'CREATE TABLE audit_log (id int, at timestamptz);\nCREATE RULE audit_log_keep AS ON DELETE TO audit_log DO INSTEAD NOTHING;\n', down: 'DROP RULE audit_log_keep ON audit_log;\nDROP TABLE audit_log;\n' },
  { name: 'statistics', up: 'CREATE TABLE metrics (a int, b int);\nCREATE STATISTICS metrics_ab (dependencies) ON a, b FROM metrics;\n', down: 'DROP STATISTICS metrics_ab;\nDROP TABLE metrics;\n' },
  { name: 'inheritance', up: 'CREATE TABLE base_events (id int, at timestamptz);\nCREATE TABLE click_events (x int) INHERITS (base_events);\n', down: 'DROP TABLE click_events;\nDROP TABLE base_events;\n' },
  { name: 'column through inheritance', up: 'ALTER TABLE base_events ADD COLUMN source text;\n', down: 'ALTER TABLE base_events DROP COLUMN source;\n' },
  {
    name: 'partitions',
    up: "CREATE TABLE readings (at date NOT NULL, v int) PARTITION BY RANGE (at);\nCREATE TABLE readings_2026 PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n",
    down: 'DROP TABLE readings;\n',
  },
  { name: 'index on a partitioned table', up: 'CREATE INDEX readings_at_idx ON readings (at);\n', down: 'DROP INDEX readings_at_idx;\n' },
  { name: 'aggregate', up: 'CREATE AGGREGATE sum_sq (int) (sfunc = int4pl, stype = int);\n', down: 'DROP AGGREGATE sum_sq (int);\n' },
  {
    name: 'operator',
    up: "CREATE FUNCTION text_eq_ci(text, text) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT lower($1) = lower($2)';\nCREATE OPERATOR =~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = text_eq_ci);\n",
    down: 'DROP OPERATOR =~~ (text, text);\nDROP FUNCTION text_eq_ci(text, text);\n',
  },
  { name: 'extension', up: 'CREATE EXTENSION citext;\n', down: 'DROP EXTENSION citext;\n' },
  { name: 'column of an extension type', up: 'CREATE TABLE handles (h citext PRIMARY KEY);\n', down: 'DROP TABLE handles;\n' },
  { name: 'foreign key to a table others use', up: 'CREATE TABLE handle_uses (h citext REFERENCES handles (h));\n', down: 'DROP TABLE handle_uses;\n' },
];

/** Statement by statement, as the walk sends them (CREATE INDEX CONCURRENTLY cannot share a transaction). */
async function apply(client: pg.Client, text: string): Promise<void> {
  for (const s of parse(text).statements) await client.query(s.sql);
}

describe.each(servers())('scoped snapshots on $name', ({ url }) => {
  let server: ScratchServer;

  beforeAll(async () => {
    server = await ScratchServer.open(url, { connectTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await server.close();
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it("prove the rest unchanged while another session's temporary tables come and go, and still see a change outside the scope", async () => {
    const db = await server.createDatabase();
    const client = await server.connect(db);
    const other = await server.connect(db);
    try {
      await client.query('CREATE TABLE kept (id int PRIMARY KEY, note text); CREATE TABLE mine (id int)');
      const scoped = new ScopedSnapshots();
      await scoped.first(client, ['mine'], false);
      // What the data stage does between two snapshots, on a connection of its own.
      await other.query('CREATE TEMP TABLE elsewhere (tbl int4 NOT NULL, k text PRIMARY KEY, h int8[] NOT NULL)');
      await client.query('ALTER TABLE mine ADD COLUMN body text');
      const b = await scoped.then(client);
      expect(renderSnapshot(b)).toBe(renderSnapshot(await snapshotSchema(client)));
      await other.query('DROP TABLE elsewhere');
      await client.query('ALTER TABLE mine DROP COLUMN body');
      const c = await scoped.then(client);
      expect(renderSnapshot(c)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(scoped.stats).toMatchObject({ detail: 2, outsideMoved: 0 });
      // A change the names do not reach moves the digest: read whole, and right.
      await client.query('ALTER TABLE kept ALTER COLUMN note SET DEFAULT \'x\'');
      const d = await scoped.then(client);
      expect(scoped.stats.outsideMoved).toBe(1);
      expect(renderSnapshot(d)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(renderSnapshot(d)).not.toBe(renderSnapshot(c));
    } finally {
      await other.end();
      await client.end();
      await server.dropDatabase(db.name);
    }
  });

  it('see an object leave or join the scope while its own rows stay as they were', async () => {
    const db = await server.createDatabase();
    const client = await server.connect(db);
    try {
      await client.query('CREATE TABLE parent (id int, note text); CREATE TABLE kid (extra text) INHERITS (parent); CREATE TABLE other (id int, note text, more text)');
      const scoped = new ScopedSnapshots();
      await scoped.first(client, ['parent'], false);
      // The scope reaches kid through parent; leaving, kid keeps every row but its pg_inherits one.
      await client.query("DO $$ BEGIN EXECUTE 'ALTER TABLE kid NO INHERIT parent'; END $$");
      const b = await scoped.then(client);
      expect(renderSnapshot(b)).toBe(renderSnapshot(await snapshotSchema(client)));
      // Joining, other's rows were outside the scope and are inside it now.
      await client.query("DO $$ BEGIN EXECUTE 'ALTER TABLE other INHERIT parent'; END $$");
      const c = await scoped.then(client);
      expect(renderSnapshot(c)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(scoped.stats.outsideMoved).toBe(2);
      // A change the scope holds, with nothing else moving, is proved from the rows alone.
      await client.query('ALTER TABLE parent ADD COLUMN body text');
      const d = await scoped.then(client);
      expect(renderSnapshot(d)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(scoped.stats.outsideMoved).toBe(2);
    } finally {
      await client.end();
      await server.dropDatabase(db.name);
    }
  });

  it('do not take a read inside a transaction that wrote as the base of the next one', async () => {
    const db = await server.createDatabase();
    const client = await server.connect(db);
    try {
      await client.query('CREATE TABLE mine (id int); CREATE TABLE kept (id int, note text)');
      const scoped = new ScopedSnapshots();
      await scoped.first(client, ['mine'], false);
      await client.query('BEGIN');
      // Rows this transaction deletes come back when it rolls back: what it read cannot vouch for later reads.
      await client.query('ALTER TABLE kept DROP COLUMN note');
      await client.query('ALTER TABLE mine ADD COLUMN body text');
      const inside = await scoped.then(client);
      expect(renderSnapshot(inside)).toBe(renderSnapshot(await snapshotSchema(client)));
      await client.query('ROLLBACK');
      const after = await scoped.then(client);
      expect(renderSnapshot(after)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(renderSnapshot(after)).toContain('note');
      expect(scoped.stats.whole).toBeGreaterThanOrEqual(3);
    } finally {
      await client.end();
      await server.dropDatabase(db.name);
    }
  });

  it('give at every step of every migration the snapshot a full read gives, so the same findings', async () => {
    const pairs: Pair[] = [...rollbackCorpus(), ...BROKEN, ...OUTSIDE, ...KINDS];
    // Every statement applies to the schema the earlier ones left: checked in order below.
    const option: SnapshotOptions[] = [{}, { ignore: ['*_audit', 'invoices.currency'], strictColumnOrder: true }];
    const db = await server.createDatabase();
    const client = await server.connect(db);
    try {
      const scoped = option.map((o) => new ScopedSnapshots(o));
      const names = pairs.map((p) => reachableNames([parse(p.up), parse(p.down)]));
      expect(names.filter((n) => n === undefined)).toHaveLength(1);
      const mismatches: string[] = [];
      /** The full snapshots (default options first), each compared with the scoped one. */
      const check = async (i: number, label: string, got: SchemaSnapshot[]) => {
        const full: SchemaSnapshot[] = [];
        for (const [k, o] of option.entries()) {
          full.push(await snapshotSchema(client, o));
          if (renderSnapshot(got[k]!) !== renderSnapshot(full[k]!)) mismatches.push(`${pairs[i]!.name} ${label} (options ${k})`);
        }
        return full[0]!;
      };
      // One client, one query at a time.
      const each = async (f: (s: ScopedSnapshots) => Promise<SchemaSnapshot>) => {
        const out: SchemaSnapshot[] = [];
        for (const s of scoped) out.push(await f(s));
        return out;
      };
      const findings: Array<{ full: unknown; scoped: unknown }> = [];
      let chained = false;
      for (const [i, p] of pairs.entries()) {
        const a = await each((s) => s.first(client, names[i], chained));
        const fullA = await check(i, 'before the up', a);
        await apply(client, p.up);
        const b = await each((s) => s.then(client));
        const fullB = await check(i, 'after the up', b);
        await apply(client, p.down);
        const c = await each((s) => s.then(client));
        const fullC = await check(i, 'after the down', c);
        // A down that leaves what the up creates makes the second up fail, as the rollback stage reports; the walk goes on from there.
        chained = await apply(client, p.up).then(() => true, () => false);
        if (!chained) {
          findings.push({ full: [compareSnapshots(fullA, fullC)], scoped: [compareSnapshots(a[0]!, c[0]!)] });
          continue;
        }
        const d = await each((s) => s.then(client, names[i + 1]));
        const fullD = await check(i, 'after the second up', d);
        findings.push({ full: [compareSnapshots(fullA, fullC), compareSnapshots(fullB, fullD)], scoped: [compareSnapshots(a[0]!, c[0]!), compareSnapshots(b[0]!, d[0]!)] });
      }
      expect(mismatches).toEqual([]);
      for (const f of findings) expect(f.scoped).toEqual(f.full);
      // The broken downs are found at all: the comparison is not vacuous.
      expect(findings.filter((f) => (f.full as unknown[][]).some((x) => x.length > 0)).length).toBeGreaterThanOrEqual(BROKEN.length + 4);
      const stats = scoped[0]!.stats;
      // Most reads are scoped; the migrations that reach outside their names fell back to full reads.
      expect(stats.detail).toBeGreaterThan(2 * pairs.length);
      expect(stats.outsideMoved).toBeGreaterThanOrEqual(5);
      expect(stats.outsideMoved).toBeLessThan(stats.detail / 5);
    } finally {
      await client.end();
      await server.dropDatabase(db.name);
    }
  });
});

// Roles are the server's: renamed on a cluster of the test's own.
describe('scoped snapshots and the roles objects use', () => {
  let cluster: ThrowawayCluster;
  let server: ScratchServer;

  beforeAll(async () => {
    cluster = await startThrowawayCluster();
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('CREATE ROLE keeper; CREATE ROLE builder');
    await admin.end();
    server = await ScratchServer.open(cluster.url, { connectTimeoutMs: 10_000 });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await cluster?.stop();
  });

  it('stay scoped when the scope starts or stops using a role, and read whole when a role outside it is renamed', async () => {
    const db = await server.createDatabase();
    const client = await server.connect(db);
    try {
      await client.query('CREATE TABLE kept (id int); ALTER TABLE kept OWNER TO keeper');
      const scoped = new ScopedSnapshots();
      await scoped.first(client, ['mine'], false);
      // The first object builder owns in this database: a role the catalogs did not name before.
      await client.query('CREATE TABLE mine (id int); ALTER TABLE mine OWNER TO builder; GRANT SELECT ON mine TO keeper');
      const b = await scoped.then(client);
      expect(renderSnapshot(b)).toBe(renderSnapshot(await snapshotSchema(client)));
      await client.query('DROP TABLE mine');
      const c = await scoped.then(client);
      expect(renderSnapshot(c)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(scoped.stats).toMatchObject({ detail: 2, outsideMoved: 0 });
      // No row of this database changes, yet kept's owner reads differently.
      await client.query('ALTER ROLE keeper RENAME TO custodian');
      const d = await scoped.then(client);
      expect(scoped.stats.outsideMoved).toBe(1);
      expect(renderSnapshot(d)).toBe(renderSnapshot(await snapshotSchema(client)));
      expect(renderSnapshot(d)).toContain('custodian');
    } finally {
      await client.end();
      await server.dropDatabase(db.name);
    }
  });
});
