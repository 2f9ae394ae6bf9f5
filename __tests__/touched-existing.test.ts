import { describe, expect, it } from 'vitest';
import { existingTablesTouched as touchedTables } from '../src/sql/touched.js';
import { statements } from './support/sql.js';

const touched = (text: string) => [...touchedTables(statements(text))].sort();

describe('touchedTables', () => {
  it('reads ALTER TABLE, including renames, schema moves and the tables its constraints and partitions name', () => {
    expect(touched('ALTER TABLE users ADD COLUMN bio text')).toEqual(['users']);
    expect(touched('ALTER TABLE billing.invoices ALTER COLUMN total TYPE bigint')).toEqual(['billing.invoices']);
    expect(touched('ALTER TABLE users RENAME TO people')).toEqual(['users']);
    expect(touched('ALTER TABLE users RENAME COLUMN a TO b')).toEqual(['users']);
    expect(touched('ALTER TABLE users RENAME CONSTRAINT c TO d')).toEqual(['users']);
    expect(touched('ALTER TABLE users SET SCHEMA archive')).toEqual(['users']);
    expect(touched('ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID')).toEqual(['orders', 'users']);
    expect(touched('ALTER TABLE orders ADD COLUMN shop_id int REFERENCES shops.shops')).toEqual(['orders', 'shops.shops']);
    expect(touched('ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM (1) TO (2)')).toEqual(['events', 'events_2024']);
    expect(touched('ALTER TABLE "Mixed Case" ADD COLUMN x int')).toEqual(['Mixed Case']);
    // Case folding as Postgres does it.
    expect(touched('ALTER TABLE Users ADD COLUMN x int')).toEqual(['users']);
  });

  it('leaves out objects that are not tables', () => {
    expect(touched('ALTER INDEX users_email_idx RENAME TO users_email_key')).toEqual([]);
    expect(touched('ALTER VIEW v RENAME TO w')).toEqual([]);
    expect(touched('ALTER SEQUENCE s RESTART')).toEqual([]);
    expect(touched('DROP INDEX users_email_idx')).toEqual([]);
    expect(touched('CREATE VIEW v AS SELECT * FROM users')).toEqual([]);
    expect(touched('SELECT count(*) FROM users')).toEqual([]);
    expect(touched("COMMENT ON TABLE users IS 'x'")).toEqual([]);
  });

  it('reads indexes, triggers, rules, policies and statistics', () => {
    expect(touched('CREATE INDEX i ON users (email)')).toEqual(['users']);
    expect(touched('CREATE UNIQUE INDEX CONCURRENTLY i ON app.users (email)')).toEqual(['app.users']);
    expect(touched('CREATE TRIGGER t BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION f()')).toEqual(['orders']);
    expect(touched('CREATE RULE r AS ON INSERT TO logs DO INSTEAD NOTHING')).toEqual(['logs']);
    expect(touched('CREATE POLICY p ON docs USING (true)')).toEqual(['docs']);
    expect(touched('CREATE STATISTICS s ON a, b FROM items')).toEqual(['items']);
    expect(touched('DROP TRIGGER t ON billing.orders')).toEqual(['billing.orders']);
    expect(touched('ALTER TABLE orders DISABLE TRIGGER t')).toEqual(['orders']);
  });

  it('reads the targets of data changes, also inside WITH', () => {
    expect(touched("UPDATE users SET status = 'active' WHERE status IS NULL")).toEqual(['users']);
    expect(touched('DELETE FROM sessions WHERE expires_at < now()')).toEqual(['sessions']);
    expect(touched('INSERT INTO audit SELECT * FROM users')).toEqual(['audit']);
    expect(touched('WITH gone AS (DELETE FROM a RETURNING id) UPDATE b SET x = 1 FROM gone WHERE b.id = gone.id')).toEqual(['a', 'b']);
    expect(touched('WITH moved AS (DELETE FROM old RETURNING *) SELECT count(*) FROM moved')).toEqual(['old']);
    expect(touched("COPY users FROM '/tmp/users.csv'")).toEqual(['users']);
    expect(touched("COPY users TO '/tmp/users.csv'")).toEqual([]);
  });

  it('reads DROP TABLE, TRUNCATE, LOCK and maintenance commands', () => {
    expect(touched('DROP TABLE a, s.b')).toEqual(['a', 's.b']);
    expect(touched('DROP TABLE IF EXISTS gone CASCADE')).toEqual(['gone']);
    expect(touched('TRUNCATE a, b')).toEqual(['a', 'b']);
    expect(touched('LOCK TABLE a IN SHARE MODE')).toEqual(['a']);
    expect(touched('VACUUM FULL a')).toEqual(['a']);
    expect(touched('ANALYZE b')).toEqual(['b']);
    expect(touched('CLUSTER c USING c_pkey')).toEqual(['c']);
    expect(touched('REINDEX TABLE d')).toEqual(['d']);
    expect(touched('REINDEX INDEX d_pkey')).toEqual([]);
  });

  it('reads the parents a new table names, not the new table', () => {
    expect(touched('CREATE TABLE orders (id int, user_id int REFERENCES users, shop int, FOREIGN KEY (shop) REFERENCES s.shops (id))')).toEqual([
      's.shops',
      'users',
    ]);
    expect(touched('CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM (1) TO (2)')).toEqual(['events']);
    expect(touched('CREATE TABLE plain (id int)')).toEqual([]);
  });

  it('collects over a whole file, and a table the file creates counts once a later statement works on it', () => {
    const text = [
      'CREATE TABLE tags (id int PRIMARY KEY, name text);',
      'CREATE INDEX tags_name_idx ON tags (name);',
      'ALTER TABLE posts ADD COLUMN tag_id int REFERENCES tags;',
      "DO $$ BEGIN PERFORM 1; END $$;",
    ].join('\n');
    expect(touched(text)).toEqual(['posts', 'tags']);
  });
});
