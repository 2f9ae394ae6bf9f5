import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { urlForDatabase } from '../src/db/connect.js';
import { runPipeline } from '../src/pipeline.js';
import { parseProductionStats } from '../src/production-stats.js';
import { configFor, makeRepo, repoRoot } from './support/fixtures.js';
import { servers } from './support/servers.js';

const server = servers()[0]!;
const prodDb = `prodstats_${process.pid.toString(36)}`;
// Trust auth accepts any password: it stands in for a secret that must never be printed.
const secret = 'pw-Secret-7731';
const prodUrl = (() => {
  const u = new URL(urlForDatabase(server.url, prodDb));
  u.password = secret;
  return u.toString();
})();

const SCHEMA = `
CREATE TABLE accounts (id integer PRIMARY KEY, name text);
CREATE TABLE users (
  id bigint PRIMARY KEY, phone text, email text, handle text, bio varchar(200), title varchar(200),
  code text, zip text, big bigint, small bigint, age integer, status text, account_ref bigint, account_id integer
);`;

// NULLs (2% of phone), duplicates (email), long values (bio), non-numbers (code), values past 2^31 (big,
// account_ref), skew (status), and columns that are safe for each change.
const FILL = `
INSERT INTO accounts SELECT g, 'a' || g FROM generate_series(1, 10) g;
INSERT INTO users SELECT g,
  CASE WHEN g % 50 = 0 THEN NULL ELSE 'p' || g END,
  'user' || (g % 1000) || '@example.com',
  'h' || g,
  CASE WHEN g % 20 = 0 THEN repeat('long biography ', 8) ELSE 'short' END,
  'title ' || (g % 10),
  CASE WHEN g % 33 = 0 THEN 'n/a' ELSE g::text END,
  (10000 + g)::text,
  g::bigint * 1000000,
  g,
  g % 90,
  CASE WHEN g % 20 = 0 THEN 'gone' WHEN g % 7 = 0 THEN 'banned' ELSE 'active' END,
  g::bigint * 1000000,
  g % 10 + 1
FROM generate_series(1, 5000) g;
CREATE TABLE audit_log (id int);
ANALYZE;`;

const DANGEROUS: Record<string, string> = {
  '0002_phone_not_null': 'ALTER TABLE users ALTER COLUMN phone SET NOT NULL;',
  '0003_add_tier': 'ALTER TABLE users ADD COLUMN tier text NOT NULL;',
  '0004_email_unique': 'CREATE UNIQUE INDEX users_email_key ON users (email);',
  '0005_bio_narrower': 'ALTER TABLE users ALTER COLUMN bio TYPE varchar(50);',
  '0006_code_integer': 'ALTER TABLE users ALTER COLUMN code TYPE integer USING code::integer;',
  '0007_big_integer': 'ALTER TABLE users ALTER COLUMN big TYPE integer;',
  '0008_age_check': 'ALTER TABLE users ADD CONSTRAINT age_over_10 CHECK (age > 10);',
  '0009_status_check': "ALTER TABLE users ADD CONSTRAINT status_known CHECK (status IN ('active', 'banned'));",
  '0010_account_fk': 'ALTER TABLE users ADD CONSTRAINT users_account_ref_fk FOREIGN KEY (account_ref) REFERENCES accounts (id);',
};
const EXPECTED: Record<string, string> = {
  '0002': 'predicted-not-null-violation',
  '0003': 'predicted-not-null-violation',
  '0004': 'predicted-unique-violation',
  '0005': 'predicted-type-overflow',
  '0006': 'predicted-type-overflow',
  '0007': 'predicted-type-overflow',
  '0008': 'predicted-check-violation',
  '0009': 'predicted-check-violation',
  '0010': 'predicted-foreign-key-violation',
};
const SAFE: Record<string, string> = {
  '0011_safe_for_this_data': `
ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';
CREATE UNIQUE INDEX users_handle_key ON users (handle);
ALTER TABLE users ALTER COLUMN title TYPE varchar(50);
ALTER TABLE users ALTER COLUMN zip TYPE integer USING zip::integer;
ALTER TABLE users ALTER COLUMN small TYPE integer;
ALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0 AND age < 90);
ALTER TABLE users ADD CONSTRAINT status_ok CHECK (status IN ('active', 'banned', 'gone'));
ALTER TABLE users ADD CONSTRAINT users_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE users ADD CONSTRAINT age_later CHECK (age > 50) NOT VALID;
CREATE TABLE invites (id int PRIMARY KEY, email text NOT NULL UNIQUE);`,
  '0012_backfill_then_not_null': `
UPDATE users SET phone = '' WHERE phone IS NULL;
ALTER TABLE users ALTER COLUMN phone SET NOT NULL;`,
};

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}

/** A repository whose main holds the production schema as 0001 and whose branch adds the migrations under test. */
function repoWith(underTest: Record<string, string>): string {
  const root = makeRepo({ 'migrations/0001_init.up.sql': SCHEMA, 'migrations/0001_init.down.sql': 'DROP TABLE users; DROP TABLE accounts;' });
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'base');
  for (const [name, sql] of Object.entries(underTest)) fs.writeFileSync(path.join(root, 'migrations', `${name}.up.sql`), `${sql}\n`);
  return root;
}

async function cli(args: string[], cwd: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { cwd, env: {}, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let statsRoot: string;

beforeAll(async () => {
  await admin(server.url, (c) => c.query(`CREATE DATABASE ${prodDb}`));
  await admin(urlForDatabase(server.url, prodDb), async (c) => {
    await c.query(SCHEMA);
    await c.query(FILL);
  });
  statsRoot = repoWith({ ...DANGEROUS, ...SAFE });
}, 60_000);

afterAll(async () => {
  await admin(server.url, (c) => c.query(`DROP DATABASE IF EXISTS ${prodDb} WITH (FORCE)`));
});

describe('migration-ci stats', () => {
  it('exports catalogs and pg_stats as a file the JSON Schema accepts, never printing the password', async () => {
    const r = await cli(['stats', '--database-url', prodUrl, '--output', 'prod-stats.json', '--with-values'], statsRoot);
    expect(r.stderr).toContain('tables of');
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(secret);
    const text = fs.readFileSync(path.join(statsRoot, 'prod-stats.json'), 'utf8');
    const json = JSON.parse(text);
    const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'schema/production-stats.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(validate(json)).toBe(true);
    const stats = parseProductionStats(text, 'prod-stats.json');
    const users = stats.tables.find((t) => t.name === 'users')!;
    expect(users.rows).toBe(5000);
    expect(users.tableBytes).toBeGreaterThan(0);
    expect(users.indexes.map((i) => i.name)).toEqual(['users_pkey']);
    const phone = users.columns.find((c) => c.name === 'phone')!;
    expect(phone.nullFrac).toBeCloseTo(0.02, 3);
    expect(users.columns.find((c) => c.name === 'status')!.mostCommonValues).toContain('active');
    expect(stats.unreadable).toEqual([]);
    // A table whose rows were never read, with no values unless asked for.
    const plain = await cli(['stats', '--database-url', prodUrl], statsRoot);
    expect(plain.code).toBe(0);
    const bare = parseProductionStats(plain.stdout, 'stdout');
    expect(bare.withValues).toBe(false);
    expect(bare.tables.flatMap((t) => t.columns).some((c) => c.mostCommonValues || c.histogramBounds)).toBe(false);
    expect(validate(JSON.parse(plain.stdout))).toBe(true);
  }, 60_000);

  it('exits 2 with a masked message when it cannot connect', async () => {
    const r = await cli(['stats', '--database-url', urlForDatabase(prodUrl, 'no_such_db_t15')], statsRoot);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no_such_db_t15');
    expect(r.stdout + r.stderr).not.toContain(secret);
  }, 60_000);
});

describe('--production-stats', () => {
  it('predicts each failure at its statement from the statistics; nothing without them or for safe changes', async () => {
    if (!fs.existsSync(path.join(statsRoot, 'prod-stats.json'))) {
      expect((await cli(['stats', '--database-url', prodUrl, '--output', 'prod-stats.json', '--with-values'], statsRoot)).code).toBe(0);
    }
    const predicted = (f: { rule: string }) => f.rule.startsWith('predicted-');
    const without = await runPipeline(configFor(statsRoot, server.url, { stages: 'syntax', baseRef: 'main', seedRows: '20' }));
    expect(without.findings.filter(predicted)).toEqual([]);
    // Without the file, the generated rows let most of these through: only what fails on any rows is caught.
    expect(without.findings.filter((f) => f.severity === 'error').map((f) => `${f.migration} ${f.rule}`)).toMatchInlineSnapshot(`
      [
        "0003 fails-with-rows",
      ]
    `);

    const report = await runPipeline(configFor(statsRoot, server.url, { stages: 'syntax', baseRef: 'main', seedRows: '20', productionStats: 'prod-stats.json' }));
    const byMigration = new Map<string, string[]>();
    for (const f of report.findings.filter(predicted)) byMigration.set(f.migration!, [...(byMigration.get(f.migration!) ?? []), f.rule]);
    expect(Object.fromEntries(byMigration)).toEqual(Object.fromEntries(Object.entries(EXPECTED).map(([v, rule]) => [v, [rule]])));
    const messages = report.findings.filter(predicted).map((f) => `${f.migration} ${f.severity} ${f.file}:${f.line}: ${f.message}`);
    expect(messages.join('\n')).toMatchInlineSnapshot(`
      "0002 error migrations/0002_phone_not_null.up.sql:1: fails in production: about 2.0% of 5,000 users rows have phone NULL (pg_stats null_frac 0.02)
      0003 error migrations/0003_add_tier.up.sql:1: fails in production: the new column tier is NULL in all of about 5,000 users rows (pg_class reltuples)
      0004 error migrations/0004_email_unique.up.sql:1: fails in production: users.email = 'user0@example.com' is in about 0.1% of rows (about 5 rows) (pg_stats most common value)
      0005 error migrations/0005_bio_narrower.up.sql:1: fails in production: users.bio holds 'long biography long biography long bi...' (120 characters; pg_stats most common value, about 5.0% of rows), longer than varchar(50)
      0006 error migrations/0006_code_integer.up.sql:1: fails in production: users.code holds 'n/a' (pg_stats most common value, about 3.0% of rows), which is not a number
      0007 error migrations/0007_big_integer.up.sql:1: fails in production: users.big holds 2150000000 (pg_stats histogram bound), out of range for integer
      0008 error migrations/0008_age_check.up.sql:1: fails in production: users.age holds '1' (pg_stats most common value, about 1.1% of rows), which the CHECK refuses
      0009 error migrations/0009_status_check.up.sql:1: fails in production: users.status holds 'gone' (pg_stats most common value, about 5.0% of rows), which the CHECK refuses
      0010 error migrations/0010_account_fk.up.sql:1: fails in production: users.account_ref holds '2150000000' (pg_stats histogram bound), which no accounts.id (integer) can hold"
    `);
    // The file names a table the migrations never create: a notice, not a failure.
    expect(report.findings.filter((f) => f.rule === 'production-stats-mismatch').map((f) => f.message)).toEqual([
      'production-stats names 1 table the migrations do not create: audit_log',
    ]);
  }, 120_000);

  it('exits 2 on a malformed file, naming the path and the key', async () => {
    const good = JSON.parse(fs.readFileSync(path.join(statsRoot, 'prod-stats.json'), 'utf8'));
    const at = good.tables.findIndex((t: { name: string }) => t.name === 'users');
    good.tables[at].columns[2].nullFrac = 'lots';
    fs.writeFileSync(path.join(statsRoot, 'bad-stats.json'), JSON.stringify(good));
    const r = await cli(['--database-url', server.url, '--stages', 'syntax', '--production-stats', 'bad-stats.json'], statsRoot);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`migration-ci: production-stats bad-stats.json: tables[${at}].columns[2].nullFrac: must be a number\n`);
    fs.writeFileSync(path.join(statsRoot, 'bad-stats.json'), '{"version": 2}');
    const v = await cli(['--database-url', server.url, '--production-stats', 'bad-stats.json'], statsRoot);
    expect(v.stderr).toBe('migration-ci: production-stats bad-stats.json: version: must be 1, got 2\n');
  });
});
