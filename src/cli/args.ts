import { parseArgs } from 'node:util';
import type { RawOptions } from '../config.js';
import { InputError } from '../errors.js';

export const USAGE = `Usage: migration-ci [options]

Tests PostgreSQL migrations against a real Postgres: every migration applies on populated tables,
rolls back cleanly, keeps data, and is measured at volume.

Options:
  --dir DIR                 migrations folder (default: migrations)
  --format F                auto, golang-migrate, dbmate, goose, flyway, sqitch (default: auto)
  --database-url URL        server to work on (default: $DATABASE_URL, else an embedded Postgres 17);
                            never modified: all work happens in scratch databases created and dropped
  --stages LIST             comma-separated: syntax,rollback,data,performance (default: all)
  --data-tests DIR          <version>.seed.sql / <version>.assert.sql fixtures
  --perf-rows N             rows seeded per touched table (default: 500000)
  --perf-threshold-ms N     a migration slower than this fails (default: 10000)
  --critical-tables FILE    one table a line: data and performance only for migrations touching them
  --base-ref REF            migrations present at REF are the baseline
  --report-json FILE        write the JSON report there
  --seed-rows N             rows put in every table before a migration meets it (default: 100)
  --connect-timeout MS      keep retrying the first connection this long (default: 30000)
  --no-color                plain output
  --github-annotations      also print GitHub workflow commands (::error file=...)
  -h, --help                this text
  --version                 the version

Exit codes: 0 pass, 1 fail, 2 bad usage, bad input or no database.
`;

export interface CliArgs {
  raw: RawOptions;
  color: boolean | undefined;
  githubAnnotations: boolean;
  help: boolean;
  version: boolean;
}

export function parseCliArgs(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        dir: { type: 'string' },
        format: { type: 'string' },
        'database-url': { type: 'string' },
        stages: { type: 'string' },
        'data-tests': { type: 'string' },
        'perf-rows': { type: 'string' },
        'perf-threshold-ms': { type: 'string' },
        'critical-tables': { type: 'string' },
        'base-ref': { type: 'string' },
        'report-json': { type: 'string' },
        'seed-rows': { type: 'string' },
        'connect-timeout': { type: 'string' },
        color: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        'github-annotations': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (e) {
    // Node's messages name the flag; keep them, drop the error-code prefix.
    throw new InputError('usage', (e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const v = parsed.values;
  return {
    raw: {
      dir: v.dir,
      format: v.format,
      databaseUrl: v['database-url'],
      stages: v.stages,
      dataTests: v['data-tests'],
      perfRows: v['perf-rows'],
      perfThresholdMs: v['perf-threshold-ms'],
      criticalTables: v['critical-tables'],
      baseRef: v['base-ref'],
      reportJson: v['report-json'],
      seedRows: v['seed-rows'],
      connectTimeoutMs: v['connect-timeout'],
    },
    color: v['no-color'] ? false : v.color,
    githubAnnotations: v['github-annotations'] === true,
    help: v.help === true,
    version: v.version === true,
  };
}
