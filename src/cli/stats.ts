import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { validateDatabaseUrl } from '../config.js';
import { connectWithRetry, maskPassword } from '../db/connect.js';
import { readStatistics } from '../db/statistics.js';
import { InputError, errorMessage } from '../errors.js';
import { displayName, renderProductionStats } from '../production-stats.js';
import type { CliIo } from './main.js';

export const STATS_USAGE = [
  'Usage: migration-ci stats --database-url URL [--output FILE] [--with-values]',
  '',
  'Writes the production statistics file (--production-stats) of the database at URL: per table',
  'its rows, pages and bytes, per index its size, per column its NULL fraction, distinct values',
  'and average width, read from catalogs and pg_stats in a read-only transaction. No table\'s',
  'rows are read. --with-values adds the most common values and histogram bounds (they can hold',
  'personal data). Needs ownership of the tables or SELECT on them; sizes need no privilege.',
  '',
  '  --database-url URL  server and database to read ($DATABASE_URL)',
  '  --output FILE       where to write the JSON (default: standard output)',
  '  --with-values       include most common values and histogram bounds',
  '',
].join('\n');

/** `migration-ci stats`: exports the statistics of one database; returns the exit code. */
export async function statsCommand(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { 'database-url': { type: 'string' }, output: { type: 'string' }, 'with-values': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    throw new InputError('usage', `stats: ${errorMessage(e).replace(/^TypeError \[[A-Z_]+\]: /, '')} (see stats --help)`);
  }
  if (values.help) {
    io.stdout(STATS_USAGE);
    return 0;
  }
  const url = (values['database-url'] ?? io.env.DATABASE_URL ?? '').trim();
  if (url === '') throw new InputError('usage', 'stats needs --database-url (or DATABASE_URL): the server whose statistics to export');
  validateDatabaseUrl(url);
  const mask = (s: string) => maskPassword(s, url);
  const client = await connectWithRetry(url, { timeoutMs: 10_000 });
  try {
    // The session cannot write even if a query here were wrong: the user's server is only read.
    await client.query('SET default_transaction_read_only = on');
    const stats = await readStatistics(client, { withValues: values['with-values'] === true });
    const text = mask(renderProductionStats(stats));
    if (values.output) {
      const file = path.resolve(io.cwd, values.output);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      io.stderr(`migration-ci stats: ${stats.tables.length} tables of ${stats.database} written to ${values.output}\n`);
    } else {
      io.stdout(text);
    }
    for (const u of stats.unreadable) io.stderr(mask(`migration-ci stats: ${displayName(u)}: ${u.reason}\n`));
    return 0;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('database', mask(`stats: ${errorMessage(e)}`));
  } finally {
    await client.end().catch(() => {});
  }
}
