import { describe, expect, it } from 'vitest';
import { ScratchServer } from '../src/db/scratch.js';
import { leftoverScratchDatabases } from './support/fixtures.js';
import { servers } from './support/servers.js';

describe.each(servers())('scratch sessions on $name', ({ url }) => {
  it('commit without waiting for the WAL flush, and keep the settings the URL asks for', async () => {
    const withOptions = new URL(url);
    withOptions.searchParams.set('options', '-c statement_timeout=4321');
    for (const [u, timeout] of [
      [url, '0'],
      [withOptions.toString(), '4321ms'],
    ] as const) {
      const server = await ScratchServer.open(u, { connectTimeoutMs: 10_000 });
      try {
        const db = await server.createDatabase();
        for (const client of [await server.connect(db), await server.connectAsConnectingRole(db)]) {
          const r = await client.query<{ sync: string; timeout: string }>("SELECT current_setting('synchronous_commit') AS sync, current_setting('statement_timeout') AS timeout");
          await client.end();
          expect(r.rows[0]).toEqual({ sync: 'off', timeout });
        }
        // Set for the session by the client, not for the server or the database.
        const c = await server.connect(db);
        const source = (await c.query("SELECT source FROM pg_settings WHERE name = 'synchronous_commit'")).rows[0].source;
        await c.end();
        expect(source).toBe('client');
      } finally {
        await server.close();
      }
    }
    expect(await leftoverScratchDatabases(url)).toEqual([]);
  });
});
