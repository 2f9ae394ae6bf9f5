import { describe, expect, it } from 'vitest';
import { num, scratchDatabases } from './support/scratch-db.js';
import { servers } from './support/servers.js';
import { statements } from './support/sql.js';
import { seedTables } from '../src/db/seed.js';
import { joinPairs } from '../src/sql/joins.js';
import { runPipeline } from '../src/pipeline.js';
import { configFor, leftoverScratchDatabases, makeRepo } from './support/fixtures.js';

/** The backfill from a sibling table of the issue that started this: it must pass on generated rows. */
const BACKFILL = `
  UPDATE templates SET created_by = (
    SELECT user_id FROM organization_members WHERE organization_id = templates.organization_id LIMIT 1);
  ALTER TABLE templates ALTER COLUMN created_by SET NOT NULL;`;

describe('joinPairs', () => {
  it('reads equalities of correlated subqueries, UPDATE ... FROM, JOIN ... ON and USING', () => {
    const pairs = joinPairs(
      statements(`
        ${BACKFILL}
        UPDATE invoices i SET customer_name = c.name FROM billing.customers c WHERE c.id = i.customer_id AND i.total > 0;
        INSERT INTO audit (user_id, org) SELECT m.user_id, o.slug FROM members m JOIN orgs o ON o.id = m.org_id;
        SELECT * FROM a JOIN b USING (k);
        WITH recent AS (SELECT * FROM posts) SELECT 1 FROM recent r JOIN users u ON u.id = r.user_id;
      `),
    ).map((p) => `${p.left.table}.${p.left.column} = ${p.right.table}.${p.right.column}`);
    expect(pairs).toEqual([
      'organization_members.organization_id = templates.organization_id',
      'billing.customers.id = invoices.customer_id',
      'orgs.id = members.org_id',
      'a.k = b.k',
    ]);
  });
});

describe.each(servers())('generated rows follow the migration\'s joins on $name', ({ url }) => {
  const scratch = scratchDatabases(url, 'seedjoin');

  const joins = joinPairs(statements(BACKFILL));

  it('declared foreign keys: every parent has children in each referencing table, and siblings join', async () => {
    const c = await scratch(`
      CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
      CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
      CREATE TABLE organization_members (
        organization_id uuid NOT NULL REFERENCES organizations, user_id int NOT NULL REFERENCES users,
        PRIMARY KEY (organization_id, user_id));
      CREATE TABLE templates (id serial PRIMARY KEY, organization_id uuid NOT NULL REFERENCES organizations, created_by int REFERENCES users);
      CREATE TABLE categories (id serial PRIMARY KEY, parent_id int REFERENCES categories, name text NOT NULL);
    `);
    // Parents hold fewer rows than the children, as after an earlier migration's fill.
    await seedTables(c, { rows: 40, tables: ['organizations', 'users'] });
    await seedTables(c, { rows: 100, tables: ['organization_members', 'templates', 'categories'], joins });
    expect(await num(c, 'SELECT count(*) FROM organizations o WHERE NOT EXISTS (SELECT 1 FROM organization_members m WHERE m.organization_id = o.id)')).toBe(0);
    expect(await num(c, 'SELECT count(*) FROM organizations o WHERE NOT EXISTS (SELECT 1 FROM templates t WHERE t.organization_id = o.id)')).toBe(0);
    // A shallow tree: roots, and children of roots.
    expect(await num(c, 'SELECT count(*) FROM categories WHERE parent_id IS NULL')).toBe(10);
    expect(await num(c, 'SELECT count(*) FROM categories c JOIN categories p ON p.id = c.parent_id WHERE p.parent_id IS NULL')).toBe(90);
    await c.query(BACKFILL);
    expect(await num(c, 'SELECT count(*) FROM templates WHERE created_by IS NULL')).toBe(0);
  });

  it('no foreign key anywhere: the joined columns share one key space', async () => {
    const schema = `
      CREATE TABLE organization_members (organization_id uuid NOT NULL, user_id int NOT NULL, role text NOT NULL);
      CREATE TABLE templates (id serial PRIMARY KEY, organization_id uuid NOT NULL, created_by int);
    `;
    const c = await scratch(schema);
    await seedTables(c, { rows: 100, joins });
    await c.query(BACKFILL);
    expect(await num(c, 'SELECT count(*) FROM templates')).toBe(100);

    // Without the joins the uuids never meet: the backfill leaves NULLs and SET NOT NULL fails.
    const d = await scratch(schema);
    await seedTables(d, { rows: 100 });
    await expect(d.query(BACKFILL)).rejects.toThrow(/contains null values/);
  });

  it('a foreign key on one side only: the other side follows the same parent', async () => {
    const c = await scratch(`
      CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid());
      CREATE TABLE organization_members (organization_id uuid NOT NULL REFERENCES organizations, user_id bigint NOT NULL);
      CREATE TABLE templates (id serial PRIMARY KEY, organization_id uuid NOT NULL, created_by bigint);
    `);
    await seedTables(c, { rows: 100, joins });
    expect(await num(c, 'SELECT count(*) FROM templates t JOIN organizations o ON o.id = t.organization_id')).toBe(100);
    await c.query(BACKFILL);
  });

  it('a join onto a key of another integer width, where no foreign key declares it', async () => {
    const c = await scratch(`
      CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
      CREATE TABLE invoices (id uuid PRIMARY KEY, account_ref int NOT NULL, total numeric(10,2) NOT NULL, account_name text);
    `);
    const pairs = joinPairs(statements(`UPDATE invoices SET account_name = a.name FROM accounts a WHERE a.id = invoices.account_ref;
      ALTER TABLE invoices ALTER COLUMN account_name SET NOT NULL;`));
    await seedTables(c, { rows: 100, joins: pairs });
    await c.query(`UPDATE invoices SET account_name = a.name FROM accounts a WHERE a.id = invoices.account_ref;
      ALTER TABLE invoices ALTER COLUMN account_name SET NOT NULL;`);
    expect(await num(c, 'SELECT count(DISTINCT account_ref) FROM invoices')).toBe(100);
  });

  it('the walk: a backfill from a sibling table, then SET NOT NULL, passes with no finding', async () => {
    const root = makeRepo({
      'migrations/0001_orgs.up.sql': `CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);
CREATE TABLE organization_members (organization_id uuid NOT NULL, user_id int NOT NULL REFERENCES users, PRIMARY KEY (organization_id, user_id));
CREATE TABLE templates (id serial PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL);`,
      'migrations/0001_orgs.down.sql': 'DROP TABLE templates, organization_members, users, organizations;',
      'migrations/0002_created_by.up.sql': `ALTER TABLE templates ADD COLUMN created_by int;
${BACKFILL}`,
      'migrations/0002_created_by.down.sql': 'ALTER TABLE templates DROP COLUMN created_by;',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax' }));
    expect(await leftoverScratchDatabases(url)).toEqual([]);
    expect(report.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    expect(report.verdict).toBe('pass');
  });
});
