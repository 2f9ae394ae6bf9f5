import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { servers } from './support/servers.js';

describe.each(servers())('server $name', ({ url }) => {
  it('answers', async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c.query('select current_setting($1) as v', ['server_version_num']);
    await c.end();
    expect(Number(r.rows[0].v)).toBeGreaterThan(150000);
  });
});
