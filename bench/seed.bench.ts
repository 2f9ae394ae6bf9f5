/**
 * Filling child tables: seedTables spreading a foreign key over every parent key (in one order
 * for every sibling) and following a join the migration writes, against the hand-written
 * INSERT ... SELECT generate_series of the same rows. `npm run bench -- seed`.
 */
import { performance } from 'node:perf_hooks';
import { ScratchServer } from '../src/db/scratch.js';
import { seedTables } from '../src/db/seed.js';
import { timed, type Bench, type BenchRow } from './harness.js';

const ROWS = 200_000;
const RUNS = 5;

const SCHEMA = `
CREATE TABLE organizations (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE members (
  id          bigserial PRIMARY KEY,
  org_id      bigint NOT NULL REFERENCES organizations (id),
  user_ref    bigint NOT NULL,
  role        text NOT NULL
);
CREATE TABLE templates (
  id          bigserial PRIMARY KEY,
  org_id      bigint NOT NULL,
  created_by  bigint
);
`;

/** What seedTables writes into members and templates, by hand: parents taken in turn. */
const HAND_MEMBERS = `
INSERT INTO members (org_id, user_ref, role)
SELECT 1000000 + g, 1000000 + g, 'role-' || g FROM generate_series(1, ${ROWS}) AS g`;
const HAND_TEMPLATES = `
INSERT INTO templates (org_id) SELECT 1000000 + g FROM generate_series(1, ${ROWS}) AS g`;

const bench: Bench = async ({ databaseUrl, log }) => {
  const server = await ScratchServer.open(databaseUrl, { connectTimeoutMs: 10_000 });
  const rows: BenchRow[] = [];
  try {
    const db = await server.createDatabase();
    const client = await server.connect(db);
    try {
      await client.query(SCHEMA);
      await seedTables(client, { rows: ROWS, tables: ['organizations'] });
      const joins = [{ left: { table: 'templates', column: 'org_id' }, right: { table: 'members', column: 'org_id' } }];
      const reset = async () => {
        await client.query('TRUNCATE members, templates RESTART IDENTITY');
        await client.query('CHECKPOINT');
      };
      const ours: number[] = [];
      const hand: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await reset();
        ours.push(await timed(() => seedTables(client, { rows: ROWS, tables: ['members', 'templates'], joins })));
        await reset();
        hand.push(
          await timed(async () => {
            await client.query('SET session_replication_role = replica');
            await client.query(HAND_MEMBERS);
            await client.query(HAND_TEMPLATES);
            await client.query('RESET session_replication_role');
          }),
        );
        log(`fill run ${i + 1}: seedTables ${Math.round(ours[i]!)} ms, hand-written ${Math.round(hand[i]!)} ms`);
      }
      const candidateMs = Math.min(...ours);
      const baselineMs = Math.min(...hand);
      rows.push({
        name: `fill ${ROWS.toLocaleString('en-US')} rows into each of two sibling child tables (a foreign key over every parent, a join the migration writes)`,
        baseline: 'hand-written INSERT ... SELECT generate_series',
        baselineMs,
        candidateMs,
        goal: '<= 1.5x',
        met: candidateMs <= 1.5 * baselineMs,
        note: `fastest of ${RUNS} each, interleaved; no foreign key checks in either (user triggers off for the fill)`,
      });
    } finally {
      await client.end();
      await server.dropDatabase(db.name);
    }
  } finally {
    await server.close();
  }
  return rows;
};

export default bench;
