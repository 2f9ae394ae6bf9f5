/**
 * The rollback staircase (syntax + rollback: per migration snapshot, up, snapshot, down,
 * snapshot, up again, snapshot) against the least a rollback check must do: apply every up
 * once and every down once, statement by statement on one connection.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { loadParser, parseSource } from '../src/sql/parse.js';
import { timeMedian, type Bench, type BenchEnv } from './harness.js';

interface Pair {
  name: string;
  up: string;
  down: string;
}

/** About twenty migrations of the kinds projects write, each with a correct down. */
export function rollbackCorpus(): Pair[] {
  const table = (name: string, columns: string[]): Pair => ({
    name: `create_${name}`,
    up: `CREATE TABLE ${name} (\n    ${columns.join(',\n    ')}\n);\n`,
    down: `DROP TABLE ${name};\n`,
  });
  return [
    table('organizations', ['id bigserial PRIMARY KEY', 'name text NOT NULL', 'slug text NOT NULL UNIQUE', 'created_at timestamptz NOT NULL DEFAULT now()']),
    table('users', ['id bigserial PRIMARY KEY', 'organization_id bigint NOT NULL REFERENCES organizations (id)', 'email text NOT NULL', 'full_name text']),
    { name: 'users_email_key', up: 'CREATE UNIQUE INDEX users_email_key ON users (lower(email));\n', down: 'DROP INDEX users_email_key;\n' },
    {
      name: 'user_status',
      up: "CREATE TYPE user_status AS ENUM ('active', 'suspended');\nALTER TABLE users ADD COLUMN status user_status NOT NULL DEFAULT 'active';\n",
      down: 'ALTER TABLE users DROP COLUMN status;\nDROP TYPE user_status;\n',
    },
    table('projects', ['id bigserial PRIMARY KEY', 'organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE', 'name text NOT NULL', 'archived boolean NOT NULL DEFAULT false']),
    {
      name: 'projects_active_idx',
      up: 'CREATE INDEX CONCURRENTLY projects_active_idx ON projects (organization_id) WHERE NOT archived;\n',
      down: 'DROP INDEX CONCURRENTLY projects_active_idx;\n',
    },
    table('tasks', [
      'id bigserial PRIMARY KEY',
      'project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE',
      'title varchar(200) NOT NULL',
      'assignee_id bigint REFERENCES users (id)',
      'due_on date',
    ]),
    {
      name: 'tasks_priority',
      up: 'ALTER TABLE tasks ADD COLUMN priority smallint NOT NULL DEFAULT 2;\nALTER TABLE tasks ADD CONSTRAINT tasks_priority_range CHECK (priority BETWEEN 1 AND 4);\n',
      down: 'ALTER TABLE tasks DROP CONSTRAINT tasks_priority_range;\nALTER TABLE tasks DROP COLUMN priority;\n',
    },
    {
      name: 'touch_updated_at',
      up: `ALTER TABLE tasks ADD COLUMN updated_at timestamptz;
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
`,
      down: 'DROP TRIGGER tasks_touch ON tasks;\nDROP FUNCTION touch_updated_at();\nALTER TABLE tasks DROP COLUMN updated_at;\n',
    },
    table('comments', ['id bigserial PRIMARY KEY', 'task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE', 'author_id bigint NOT NULL REFERENCES users (id)', 'body text NOT NULL']),
    { name: 'comments_task_idx', up: 'CREATE INDEX comments_task_id_idx ON comments (task_id);\n', down: 'DROP INDEX comments_task_id_idx;\n' },
    {
      name: 'split_full_name',
      up: `ALTER TABLE users ADD COLUMN first_name text, ADD COLUMN last_name text;
UPDATE users SET first_name = split_part(full_name, ' ', 1), last_name = split_part(full_name, ' ', 2);
ALTER TABLE users DROP COLUMN full_name;
`,
      down: `ALTER TABLE users ADD COLUMN full_name text;
UPDATE users SET full_name = first_name || ' ' || last_name;
ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name;
`,
    },
    {
      name: 'open_tasks_view',
      up: 'CREATE VIEW open_tasks AS\n    SELECT t.id, t.title, p.name AS project\n    FROM tasks t JOIN projects p ON p.id = t.project_id\n    WHERE NOT p.archived;\n',
      down: 'DROP VIEW open_tasks;\n',
    },
    table('invoices', [
      'id bigserial PRIMARY KEY',
      'organization_id bigint NOT NULL REFERENCES organizations (id)',
      'amount_cents bigint NOT NULL CHECK (amount_cents >= 0)',
      "currency char(3) NOT NULL DEFAULT 'EUR'",
    ]),
    { name: 'invoices_comment', up: "COMMENT ON TABLE invoices IS 'One per billing period.';\n", down: 'COMMENT ON TABLE invoices IS NULL;\n' },
    {
      name: 'amount_bigint_to_numeric',
      up: 'ALTER TABLE invoices ALTER COLUMN amount_cents TYPE numeric(14,0);\n',
      down: 'ALTER TABLE invoices ALTER COLUMN amount_cents TYPE bigint;\n',
    },
    {
      name: 'tenant_policy',
      up: "ALTER TABLE projects ENABLE ROW LEVEL SECURITY;\nCREATE POLICY projects_tenant ON projects USING (organization_id = current_setting('app.org', true)::bigint);\n",
      down: 'DROP POLICY projects_tenant ON projects;\nALTER TABLE projects DISABLE ROW LEVEL SECURITY;\n',
    },
    {
      name: 'task_counts_view',
      up: 'CREATE MATERIALIZED VIEW project_task_counts AS SELECT project_id, count(*) AS n FROM tasks GROUP BY project_id;\n',
      down: 'DROP MATERIALIZED VIEW project_task_counts;\n',
    },
    { name: 'invoice_numbers', up: 'CREATE SEQUENCE invoice_numbers START 1000;\n', down: 'DROP SEQUENCE invoice_numbers;\n' },
    {
      name: 'rename_due_on',
      up: 'ALTER TABLE tasks RENAME COLUMN due_on TO due_date;\n',
      down: 'ALTER TABLE tasks RENAME COLUMN due_date TO due_on;\n',
    },
  ];
}

function writeCorpus(pairs: Pair[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-bench-rollback-'));
  const dir = path.join(root, 'migrations');
  fs.mkdirSync(dir);
  pairs.forEach((p, i) => {
    const v = String(i + 1).padStart(4, '0');
    fs.writeFileSync(path.join(dir, `${v}_${p.name}.up.sql`), p.up);
    fs.writeFileSync(path.join(dir, `${v}_${p.name}.down.sql`), p.down);
  });
  return root;
}

/** Every up in order, then every down in reverse, one plain statement at a time, on a fresh database. */
async function applyOnce(env: BenchEnv, pairs: Pair[]): Promise<void> {
  const statements = (text: string, file: string) => {
    const r = parseSource({ file, text });
    if (!r.ok) throw new Error(`${file}: ${r.error.message}`);
    return r.parsed.statements.map((s) => s.sql);
  };
  const ups = pairs.map((p) => statements(p.up, `${p.name}.up.sql`));
  const downs = pairs.map((p) => statements(p.down, `${p.name}.down.sql`)).reverse();
  const admin = new pg.Client({ connectionString: env.databaseUrl });
  await admin.connect();
  const name = `mci_bench_rollback_${process.pid}`;
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(env.databaseUrl);
    url.pathname = `/${name}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      for (const file of [...ups, ...downs]) for (const sql of file) await client.query(sql);
    } finally {
      await client.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
}

const bench: Bench = async (env) => {
  await loadParser();
  const pairs = rollbackCorpus();
  const root = writeCorpus(pairs);
  try {
    const pipeline = (stages: string) => async () => {
      const report = await runPipeline(buildConfig(root, { dir: 'migrations', databaseUrl: env.databaseUrl, stages }));
      const problems = report.findings.filter((f) => f.severity === "error" || f.severity === "warning");
      if (problems.length > 0) throw new Error(`the corpus should pass: ${problems.map((f) => `${f.rule} ${f.migration}: ${f.message}`).join('; ')}`);
      return report;
    };
    // Five runs each: creating and dropping a database, which every run does, varies a lot on a busy server.
    const baselineMs = await timeMedian(() => applyOnce(env, pairs), 5);
    const staircaseMs = await timeMedian(pipeline('syntax,rollback'), 5);
    const syntaxMs = await timeMedian(pipeline('syntax'), 5);
    const baseline = 'every up, then every down, once: plain statements on one connection';
    env.log(`baseline ${baselineMs.toFixed(0)} ms, syntax ${syntaxMs.toFixed(0)} ms, syntax+rollback ${staircaseMs.toFixed(0)} ms`);
    return [
      {
        name: `syntax + rollback staircase over ${pairs.length} migrations`,
        baseline,
        baselineMs,
        candidateMs: staircaseMs,
        note: 'each migration: up, down, up again on seeded tables; a catalog snapshot around each step',
      },
      {
        name: `syntax stage alone over ${pairs.length} migrations`,
        baseline,
        baselineMs,
        candidateMs: syntaxMs,
        note: 'for scale: what the staircase adds is the difference',
      },
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
};

export default bench;
