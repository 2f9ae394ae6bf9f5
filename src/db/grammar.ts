import type pg from 'pg';

export interface GrammarRefusal {
  message: string;
  /** 1-based character position in the statement, when the server gave one. */
  position: number | undefined;
}

/**
 * Does the server's own grammar accept `sql`? Asked without running it: the statement becomes
 * the body of a SQL function, which the server parses when the function is created, inside a
 * transaction that is rolled back. Only a syntax error counts as a refusal: an unknown table
 * or a statement a function may not run still parsed.
 */
export async function serverGrammarRefuses(client: pg.ClientBase, sql: string): Promise<GrammarRefusal | undefined> {
  let tag = 'mci_grammar';
  while (sql.includes(`$${tag}$`)) tag += '_';
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL check_function_bodies = on`);
    await client.query(`CREATE FUNCTION pg_temp.mci_grammar_probe() RETURNS void LANGUAGE sql AS $${tag}$${sql}$${tag}$`);
    return undefined;
  } catch (e) {
    const err = e as { code?: string; message?: string; internalPosition?: string };
    if (err.code !== '42601') return undefined;
    const position = err.internalPosition ? Number(err.internalPosition) : undefined;
    return { message: err.message ?? 'syntax error', position: Number.isFinite(position) ? position : undefined };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}
