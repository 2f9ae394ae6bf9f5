/**
 * Generated migration corpora for the benchmarks: committed as code, written to a temp folder
 * when a bench runs. The realistic corpus models a SaaS schema growing over 26 migrations, each
 * with a correct down; the synthetic one scales to any count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pair {
  name: string;
  up: string;
  down: string;
}

function table(name: string, cols: string): Pair {
  return { name: `create_${name}`, up: `CREATE TABLE ${name} (\n    ${cols.trim().split('\n').map((l) => l.trim()).join('\n    ')}\n);\n`, down: `DROP TABLE ${name};\n` };
}

/** 26 migrations of the kinds real projects write: tables, keys, enums, indexes, functions, triggers, views, backfills. */
export function realisticPairs(): Pair[] {
  return [
    table('organizations', `id bigserial PRIMARY KEY,\nname text NOT NULL,\nslug text NOT NULL UNIQUE,\ncreated_at timestamptz NOT NULL DEFAULT now()`),
    table('users', `id bigserial PRIMARY KEY,\nemail text NOT NULL,\nfull_name text,\ncreated_at timestamptz NOT NULL DEFAULT now()`),
    { name: 'users_email_unique', up: 'CREATE UNIQUE INDEX users_email_key ON users (lower(email));\n', down: 'DROP INDEX users_email_key;\n' },
    {
      name: 'membership_role_enum',
      up: "CREATE TYPE membership_role AS ENUM ('owner', 'admin', 'member', 'viewer');\n",
      down: 'DROP TYPE membership_role;\n',
    },
    table(
      'memberships',
      `organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,\nuser_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,\nrole membership_role NOT NULL DEFAULT 'member',\nPRIMARY KEY (organization_id, user_id)`,
    ),
    table('projects', `id bigserial PRIMARY KEY,\norganization_id bigint NOT NULL REFERENCES organizations (id),\nname text NOT NULL,\narchived boolean NOT NULL DEFAULT false`),
    { name: 'projects_org_idx', up: 'CREATE INDEX projects_organization_id_idx ON projects (organization_id);\n', down: 'DROP INDEX projects_organization_id_idx;\n' },
    {
      name: 'task_status_enum',
      up: "CREATE TYPE task_status AS ENUM ('open', 'in_progress', 'done');\n",
      down: 'DROP TYPE task_status;\n',
    },
    table(
      'tasks',
      `id bigserial PRIMARY KEY,\nproject_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,\ntitle varchar(200) NOT NULL,\nstatus task_status NOT NULL DEFAULT 'open',\nassignee_id bigint REFERENCES users (id),\ndue_on date,\ncreated_at timestamptz NOT NULL DEFAULT now()`,
    ),
    {
      name: 'tasks_indexes',
      up: 'CREATE INDEX tasks_project_id_idx ON tasks (project_id);\nCREATE INDEX tasks_assignee_open_idx ON tasks (assignee_id) WHERE status <> \'done\';\n',
      down: 'DROP INDEX tasks_assignee_open_idx;\nDROP INDEX tasks_project_id_idx;\n',
    },
    table('comments', `id bigserial PRIMARY KEY,\ntask_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,\nauthor_id bigint NOT NULL REFERENCES users (id),\nbody text NOT NULL,\ncreated_at timestamptz NOT NULL DEFAULT now()`),
    table('tags', `id serial PRIMARY KEY,\norganization_id bigint NOT NULL REFERENCES organizations (id),\nlabel varchar(40) NOT NULL,\nUNIQUE (organization_id, label)`),
    table('task_tags', `task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,\ntag_id integer NOT NULL REFERENCES tags (id) ON DELETE CASCADE,\nPRIMARY KEY (task_id, tag_id)`),
    {
      name: 'updated_at_function',
      up: 'CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    NEW.updated_at := now();\n    RETURN NEW;\nEND;\n$$;\n',
      down: 'DROP FUNCTION set_updated_at();\n',
    },
    {
      name: 'tasks_updated_at',
      up: 'ALTER TABLE tasks ADD COLUMN updated_at timestamptz;\nCREATE TRIGGER tasks_set_updated_at BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n',
      down: 'DROP TRIGGER tasks_set_updated_at ON tasks;\nALTER TABLE tasks DROP COLUMN updated_at;\n',
    },
    table('invoices', `id bigserial PRIMARY KEY,\norganization_id bigint NOT NULL REFERENCES organizations (id),\nnumber text NOT NULL UNIQUE,\namount_cents bigint NOT NULL CHECK (amount_cents >= 0),\ncurrency char(3) NOT NULL DEFAULT 'EUR',\nissued_on date NOT NULL DEFAULT current_date`),
    table('payments', `id bigserial PRIMARY KEY,\ninvoice_id bigint NOT NULL REFERENCES invoices (id),\namount_cents bigint NOT NULL,\npaid_at timestamptz NOT NULL DEFAULT now(),\nmeta jsonb NOT NULL DEFAULT '{}'::jsonb`),
    {
      name: 'open_invoices_view',
      up: 'CREATE VIEW open_invoices AS\n    SELECT i.*, i.amount_cents - coalesce(sum(p.amount_cents), 0) AS due_cents\n    FROM invoices i LEFT JOIN payments p ON p.invoice_id = i.id\n    GROUP BY i.id;\n',
      down: 'DROP VIEW open_invoices;\n',
    },
    { name: 'users_add_locale', up: "ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT 'en';\n", down: 'ALTER TABLE users DROP COLUMN locale;\n' },
    {
      name: 'users_split_name',
      up: "ALTER TABLE users ADD COLUMN first_name text, ADD COLUMN last_name text;\nUPDATE users SET first_name = split_part(full_name, ' ', 1), last_name = nullif(substr(full_name, length(split_part(full_name, ' ', 1)) + 2), '');\n",
      down: 'ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name;\n',
    },
    table('audit_log', `id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\nactor_id bigint REFERENCES users (id),\naction text NOT NULL,\npayload jsonb,\nat timestamptz NOT NULL DEFAULT now()`),
    { name: 'audit_log_at_idx', up: 'CREATE INDEX audit_log_at_idx ON audit_log USING brin (at);\n', down: 'DROP INDEX audit_log_at_idx;\n' },
    {
      name: 'tasks_priority',
      up: 'ALTER TABLE tasks ADD COLUMN priority smallint NOT NULL DEFAULT 2;\nALTER TABLE tasks ADD CONSTRAINT tasks_priority_range CHECK (priority BETWEEN 1 AND 4) NOT VALID;\nALTER TABLE tasks VALIDATE CONSTRAINT tasks_priority_range;\n',
      down: 'ALTER TABLE tasks DROP CONSTRAINT tasks_priority_range;\nALTER TABLE tasks DROP COLUMN priority;\n',
    },
    { name: 'comments_edited', up: 'ALTER TABLE comments ADD COLUMN edited_at timestamptz;\nCOMMENT ON COLUMN comments.edited_at IS \'Set when the body changes.\';\n', down: 'ALTER TABLE comments DROP COLUMN edited_at;\n' },
    {
      name: 'projects_archived_idx',
      up: 'CREATE INDEX projects_active_idx ON projects (organization_id) WHERE NOT archived;\n',
      down: 'DROP INDEX projects_active_idx;\n',
    },
    {
      name: 'task_counts_function',
      up: 'CREATE FUNCTION open_task_count(p_project bigint) RETURNS bigint LANGUAGE sql STABLE AS $$\n    SELECT count(*) FROM tasks WHERE project_id = p_project AND status <> \'done\';\n$$;\n',
      down: 'DROP FUNCTION open_task_count(bigint);\n',
    },
  ];
}

/** `n` small migrations, each adding a table or a column: for growth and baseline benchmarks. */
export function syntheticPairs(n: number): Pair[] {
  const out: Pair[] = [];
  for (let i = 1; i <= n; i++) {
    const t = `t${Math.ceil(i / 3)}`;
    if (i % 3 === 1) out.push({ name: `create_${t}`, up: `CREATE TABLE ${t} (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\n`, down: `DROP TABLE ${t};\n` });
    else if (i % 3 === 2) out.push({ name: `${t}_add_note`, up: `ALTER TABLE ${t} ADD COLUMN note text;\n`, down: `ALTER TABLE ${t} DROP COLUMN note;\n` });
    else out.push({ name: `${t}_name_idx`, up: `CREATE INDEX ${t}_name_idx ON ${t} (name);\n`, down: `DROP INDEX ${t}_name_idx;\n` });
  }
  return out;
}

/** Writes pairs as golang-migrate files into `<root>/migrations`; returns the root. */
export function writeCorpus(pairs: Pair[], root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-bench-'))): string {
  const dir = path.join(root, 'migrations');
  fs.mkdirSync(dir, { recursive: true });
  const width = Math.max(4, String(pairs.length).length);
  pairs.forEach((p, i) => {
    const v = String(i + 1).padStart(width, '0');
    fs.writeFileSync(path.join(dir, `${v}_${p.name}.up.sql`), p.up);
    fs.writeFileSync(path.join(dir, `${v}_${p.name}.down.sql`), p.down);
  });
  return root;
}
