/**
 * A realistic migration folder of any length, made by code: tables that reference earlier ones,
 * columns backfilled from sibling tables then made NOT NULL (the generated rows need not join),
 * enum labels added with IF NOT EXISTS and downs that cannot drop them, tables rebuilt by copy
 * and rename, seed-data migrations (one row in, the same row out), and one migration in the
 * middle whose down forgets an index, so its second up fails.
 */
export interface BigFolder {
  files: Record<string, string>;
  /** The migration whose re-apply fails. */
  failingReapply: string;
  /** Migrations that backfill from a sibling then SET NOT NULL. */
  backfills: string[];
}

export function bigFolder(count: number): BigFolder {
  const files: Record<string, string> = {};
  const backfills: string[] = [];
  const pad = (n: number) => String(n).padStart(4, '0');
  let n = 0;
  const add = (name: string, up: string, down: string) => {
    n++;
    files[`migrations/${pad(n)}_${name}.up.sql`] = up;
    files[`migrations/${pad(n)}_${name}.down.sql`] = down;
    return pad(n);
  };
  add(
    'base',
    `CREATE TABLE organizations (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE settings (k text PRIMARY KEY, v text NOT NULL);
INSERT INTO settings VALUES ('currency', 'EUR');
CREATE TYPE state AS ENUM ('new', 'done');
`,
    'DROP TABLE settings;\nDROP TABLE organizations;\nDROP TYPE state;\n',
  );
  const tables: string[] = [];
  const rebuilt: Array<{ name: string; columns: string[] }> = [];
  const middle = Math.floor(count / 2);
  let failingReapply = '';
  while (n < count) {
    const i = n + 1;
    const shape =
      i === middle ? 'forgets-index' : tables.length < 3 ? 'table' : rebuilt.length < 2 ? 'rebuilt-table' : ['table', 'backfill', 'enum', 'rebuild', 'seed', 'column', 'index'][i % 7]!;
    const t = tables[i % Math.max(1, tables.length)]!;
    switch (shape) {
      case 'table': {
        const name = `items_${i}`;
        tables.push(name);
        add(
          `create_${name}`,
          `CREATE TABLE ${name} (
  id bigint PRIMARY KEY,
  organization_id bigint NOT NULL REFERENCES organizations (id),
  title text NOT NULL,
  kind text NOT NULL,
  state state NOT NULL DEFAULT 'new'
);
CREATE INDEX ${name}_org_idx ON ${name} (organization_id);
`,
          `DROP TABLE ${name};\n`,
        );
        break;
      }
      case 'rebuilt-table': {
        const name = `ledger_${i}`;
        rebuilt.push({ name, columns: ['id', 'organization_id', 'title', 'state'] });
        add(
          `create_${name}`,
          `CREATE TABLE ${name} (
  id bigint CONSTRAINT ${name}_pkey PRIMARY KEY,
  organization_id bigint NOT NULL CONSTRAINT ${name}_organization_id_fkey REFERENCES organizations (id),
  title text NOT NULL,
  state state NOT NULL DEFAULT 'new'
);
CREATE INDEX ${name}_org_idx ON ${name} (organization_id);
`,
          `DROP TABLE ${name};\n`,
        );
        break;
      }
      case 'backfill': {
        const sibling = tables[(i + 1) % tables.length]!;
        const col = `owner_${i}`;
        backfills.push(
          add(
            `backfill_${t}_${col}`,
            `ALTER TABLE ${t} ADD COLUMN ${col} bigint;
UPDATE ${t} SET ${col} = (SELECT s.id FROM ${sibling} s WHERE s.organization_id = ${t}.organization_id AND s.kind = 'primary' ORDER BY s.id LIMIT 1);
ALTER TABLE ${t} ALTER COLUMN ${col} SET NOT NULL;
`,
            `ALTER TABLE ${t} DROP COLUMN ${col};\n`,
          ),
        );
        break;
      }
      case 'enum':
        add(`state_label_${i}`, `ALTER TYPE state ADD VALUE IF NOT EXISTS 'label_${i}';\n`, '-- Postgres cannot drop an enum label.\nSELECT 1;\n');
        break;
      case 'rebuild': {
        // Tables of their own, so that no index or column added elsewhere is lost by the copy.
        const r = rebuilt[i % rebuilt.length]!;
        const col = `note_${i}`;
        const cols = [...r.columns];
        const rebuild = (tmp: string, change: string) => `CREATE TABLE ${tmp} (LIKE ${r.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
${change}
INSERT INTO ${tmp} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${r.name};
DROP TABLE ${r.name};
ALTER TABLE ${tmp} RENAME TO ${r.name};
ALTER TABLE ${r.name} ADD CONSTRAINT ${r.name}_pkey PRIMARY KEY (id);
ALTER TABLE ${r.name} ADD CONSTRAINT ${r.name}_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id);
CREATE INDEX ${r.name}_org_idx ON ${r.name} (organization_id);
`;
        add(`rebuild_${r.name}`, rebuild(`${r.name}_new`, `ALTER TABLE ${r.name}_new ADD COLUMN ${col} text;`), rebuild(`${r.name}_old`, `ALTER TABLE ${r.name}_old DROP COLUMN ${col};`));
        r.columns.push(col);
        break;
      }
      case 'seed':
        add(`seed_setting_${i}`, `INSERT INTO settings VALUES ('flag_${i}', 'on');\n`, `DELETE FROM settings WHERE k = 'flag_${i}';\n`);
        break;
      case 'column':
        add(`add_${t}_flag_${i}`, `ALTER TABLE ${t} ADD COLUMN flag_${i} boolean NOT NULL DEFAULT false;\n`, `ALTER TABLE ${t} DROP COLUMN flag_${i};\n`);
        break;
      case 'index':
        add(`index_${t}_${i}`, `CREATE INDEX ${t}_title_${i}_idx ON ${t} (title);\n`, `DROP INDEX ${t}_title_${i}_idx;\n`);
        break;
      case 'forgets-index':
        failingReapply = add(`index_${t}_forgotten`, `CREATE INDEX ${t}_forgotten_idx ON ${t} (title);\n`, '-- forgets the index\nSELECT 1;\n');
        break;
    }
  }
  return { files, failingReapply, backfills };
}
