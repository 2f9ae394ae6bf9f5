import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { queryNamed } from '../src/db/named-query.js';
import { servers } from './support/servers.js';

describe.each(servers())('named catalog queries on $name', ({ url }) => {
  let client: pg.Client | undefined;
  afterEach(async () => {
    await client?.end().catch(() => {});
    client = undefined;
  });

  it('are planned once per session and prepared again after the session lost them', async () => {
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const held = async () => Number((await client!.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE name LIKE 'migration\\_ci\\_probe\\_%'")).rows[0].n);
    const text = 'SELECT $1::int + 1 AS n';
    for (const v of [1, 2, 3]) expect((await queryNamed(client, 'probe', text, [v])).rows).toEqual([{ n: v + 1 }]);
    expect(await held()).toBe(1);
    for (const lose of ['DISCARD ALL', 'DEALLOCATE ALL']) {
      await client.query(lose);
      expect(await held()).toBe(0);
      expect((await queryNamed(client, 'probe', text, [41])).rows).toEqual([{ n: 42 }]);
      expect(await held()).toBe(1);
    }
  });
});
