import pg from 'pg';
import { afterEach } from 'vitest';
import { quoteIdent } from '../../src/db/quote.js';

/**
 * Databases of the test's own on a shared server, made from a schema and connected to, dropped
 * (with their connections) after each test of the calling `describe`.
 */
export function scratchDatabases(url: string, prefix: string): (schema: string) => Promise<pg.Client> {
  const created: Array<{ name: string; client: pg.Client }> = [];

  afterEach(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      for (const s of created.splice(0)) {
        await s.client.end().catch(() => {});
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(s.name)} WITH (FORCE)`);
      }
    } finally {
      await admin.end();
    }
  });

  return async (schema) => {
    const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } finally {
      await admin.end();
    }
    const u = new URL(url);
    u.pathname = `/${name}`;
    const client = new pg.Client({ connectionString: u.toString() });
    await client.connect();
    created.push({ name, client });
    if (schema) await client.query(schema);
    return client;
  };
}

/** The first column of the first row, as a number (`SELECT count(*) ...`). */
export async function num(client: pg.ClientBase, sql: string): Promise<number> {
  const r = await client.query(sql);
  return Number(Object.values(r.rows[0] as Record<string, unknown>)[0]);
}
