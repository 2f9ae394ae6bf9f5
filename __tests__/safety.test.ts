import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { leftoverScratchDatabases, makeRepo, repoRoot } from './support/fixtures.js';
import { runBuiltAction } from './support/runner.js';
import { servers } from './support/servers.js';

function withDatabase(url: string, db: string, password?: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  if (password !== undefined) u.password = password;
  return u.toString();
}

/** Everything observable about a database's contents: relations, definitions and rows. */
async function fingerprint(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const rels = await c.query(
      "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
    );
    const funcs = await c.query("SELECT p.proname, md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1");
    const rows = await c.query('SELECT md5(string_agg(t::text, \',\' ORDER BY t.id)) AS h, count(*) AS n FROM keep t');
    return JSON.stringify([rels.rows, funcs.rows, rows.rows]);
  } finally {
    await c.end();
  }
}

describe.each(servers())('safety on $name', ({ url }) => {
  it('only reads the database named in the URL', async () => {
    const db = `safety_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.query(`CREATE DATABASE ${db}`);
    const target = withDatabase(url, db);
    try {
      const setup = new pg.Client({ connectionString: target });
      await setup.connect();
      // The same names the examples create: a run working in the wrong database would collide or change them.
      await setup.query('CREATE TABLE keep (id int PRIMARY KEY, v text); INSERT INTO keep SELECT g, md5(g::text) FROM generate_series(1, 500) g;');
      await setup.query('CREATE TABLE users (id int PRIMARY KEY); CREATE FUNCTION touch_updated_at() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;');
      await setup.end();
      const before = await fingerprint(target);
      const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/migrations', databaseUrl: target, perfRows: '2000' }));
      expect(report.verdict).toBe('pass');
      expect(await fingerprint(target)).toBe(before);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('runs two jobs at once on one server without their scratch databases colliding', async () => {
    const config = buildConfig(repoRoot, { dir: 'examples/migrations', databaseUrl: url, stages: 'syntax' });
    const [a, b] = await Promise.all([runPipeline(config), runPipeline(config)]);
    expect([a.verdict, b.verdict]).toEqual(['pass', 'pass']);
    expect(a.findings).toEqual(b.findings);
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });

  it('never prints the password: terminal, annotations, JSON report, job summary, outputs', async () => {
    const secret = 'Sup3r-S3cret-Pw%40x';
    const plain = decodeURIComponent(secret);
    // A role of its own with this password (the embedded server checks it; the local one trusts).
    const role = `mci_pw_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${plain}'`);
    try {
      const withRole = new URL(url);
      withRole.username = role;
      const target = withDatabase(withRole.toString(), 'postgres', secret);
      const out = path.join(makeRepo({}), 'report.json');
      let text = '';
      const code = await runCli(['--dir', 'examples/broken', '--stages', 'syntax', '--report-json', out, '--github-annotations'], {
        cwd: repoRoot,
        env: { DATABASE_URL: target },
        stdout: (t) => (text += t),
        stderr: (t) => (text += t),
        isTTY: false,
      });
      expect(code).toBe(1);
      text += fs.readFileSync(out, 'utf8');
      const missing = await runCli(['--dir', 'examples/broken', '--connect-timeout', '500'], {
        cwd: repoRoot,
        env: { DATABASE_URL: withDatabase(withRole.toString(), 'no_such_db_here', secret) },
        stdout: (t) => (text += t),
        stderr: (t) => (text += t),
        isTTY: false,
      });
      expect(missing).toBe(2);
      expect(text).toContain('database "no_such_db_here" does not exist');
      const action = await runBuiltAction(
        path.join(repoRoot, 'dist/index.js'),
        { 'database-url': target, 'migrations-dir': 'examples/broken', stages: 'syntax' },
        { workspace: repoRoot },
      );
      expect(action.code).toBe(1);
      // The runner masks what the action registers as secret; the action must register it before anything else.
      const firstCommand = action.stdout.split('\n').find((l) => l.startsWith('::'));
      expect(firstCommand).toBe(`::add-mask::${plain}`);
      const everything = [text, action.stderr, action.summary, JSON.stringify(action.outputs), action.reportText].join('\n');
      const stdoutAfterMask = action.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
      for (const form of [plain, secret]) {
        expect(everything).not.toContain(form);
        expect(stdoutAfterMask).not.toContain(form);
      }
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
