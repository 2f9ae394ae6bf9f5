/**
 * Catalog queries the tool runs many times on one connection, as named statements of the
 * protocol: parsed and analyzed once per session, and planned once where the server settles on a
 * generic plan (a query with an array parameter may still get a plan of its own per call).
 */
import type pg from 'pg';

/** Bumped when a session lost its statements, so that they are prepared again under new names. */
const generations = new WeakMap<pg.ClientBase, number>();

/** SQLSTATE of a statement the session no longer holds (a migration ran DISCARD ALL or DEALLOCATE ALL). */
const STATEMENT_GONE = '26000';

/**
 * `client.query(text, values)` as the named statement `name` (one name per text). A session that
 * lost it prepares it again.
 */
export async function queryNamed<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase,
  name: string,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  const generation = generations.get(client) ?? 0;
  try {
    return await client.query<R>({ name: `migration_ci_${name}_${generation}`, text, values });
  } catch (e) {
    if ((e as { code?: unknown }).code !== STATEMENT_GONE) throw e;
    generations.set(client, generation + 1);
    return client.query<R>({ name: `migration_ci_${name}_${generation + 1}`, text, values });
  }
}
