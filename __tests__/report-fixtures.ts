import type { Finding, Report, ReportMigration } from '../src/report/model.js';

/** Report fixtures shared by the report-* tests: realistic runs, built in code. */

function mig(
  version: string,
  name: string,
  underTest: boolean,
  stages: ReportMigration['stages'],
  down = true,
): ReportMigration {
  const m: ReportMigration = {
    version,
    name,
    up: `db/migrations/${version}_${name}.up.sql`,
    underTest,
    stages,
  };
  if (down) m.down = `db/migrations/${version}_${name}.down.sql`;
  return m;
}

const ALL_PASS = { syntax: 'pass', rollback: 'pass', data: 'pass', performance: 'pass' } as const;
const ALL_SKIP = { syntax: 'skip', rollback: 'skip', data: 'skip', performance: 'skip' } as const;

/** Three migrations, one baseline and two under test, everything green but one notice. */
export function passingReport(): Report {
  return {
    version: 1,
    verdict: 'pass',
    postgres: '17.10',
    migrations: [
      mig('0001', 'create_users', false, {}),
      mig('0002', 'add_bio', true, { ...ALL_PASS }),
      mig('0003', 'index_users_email', true, { ...ALL_PASS }),
    ],
    stages: [
      { name: 'syntax', status: 'pass', durationMs: 38.2 },
      { name: 'rollback', status: 'pass', durationMs: 212.9 },
      { name: 'data', status: 'pass', durationMs: 97 },
      { name: 'performance', status: 'pass', durationMs: 8_412.5 },
    ],
    findings: [
      {
        stage: 'syntax',
        severity: 'notice',
        rule: 'no-transaction',
        migration: '0003',
        file: 'db/migrations/0003_index_users_email.up.sql',
        line: 1,
        column: 1,
        message: 'CREATE INDEX CONCURRENTLY cannot run inside a transaction; applied it on its own',
      },
    ],
    statements: [],
  };
}

/**
 * A failing run: 0003 has a syntax error at 4:19, 0002's down leaves an index behind (a warning
 * with a multi-line detail and a hint), 0004 is never reached.
 */
export function failingReport(): Report {
  return {
    version: 1,
    verdict: 'fail',
    postgres: '17.10',
    migrations: [
      mig('0001', 'create_users', false, {}),
      mig('0002', 'add_status', true, { syntax: 'pass', rollback: 'warn', data: 'pass', performance: 'skip' }),
      mig('0003', 'add_bio', true, { syntax: 'fail', rollback: 'skip', data: 'skip', performance: 'skip' }),
      mig('0004', 'backfill_bio', true, { ...ALL_SKIP }, false),
    ],
    stages: [
      { name: 'syntax', status: 'fail', durationMs: 41 },
      { name: 'rollback', status: 'warn', durationMs: 1_250 },
      { name: 'data', status: 'pass', durationMs: 310.4 },
      { name: 'performance', status: 'skip', durationMs: 0 },
    ],
    findings: [
      // Deliberately not in display order: renderers sort.
      {
        stage: 'rollback',
        severity: 'warning',
        rule: 'schema-drift',
        migration: '0002',
        file: 'db/migrations/0002_add_status.down.sql',
        line: 1,
        column: 1,
        message: 'index users_status_idx is left behind',
        fix: 'DROP INDEX users_status_idx;',
        related: { file: 'db/migrations/0002_add_status.up.sql', line: 3, message: 'created by the up' },
        detail: [
          'schema before up:',
          '  (no index users_status_idx)',
          'schema after up + down:',
          '  CREATE INDEX users_status_idx ON public.users USING btree (status)',
        ].join('\n'),
        hint: 'add `DROP INDEX users_status_idx;` to the down migration',
      },
      {
        stage: 'syntax',
        severity: 'error',
        rule: 'apply-failed',
        migration: '0003',
        file: 'db/migrations/0003_add_bio.up.sql',
        line: 4,
        column: 19,
        message: 'syntax error at or near "AERT"',
        hint: 'did you mean ALTER?',
        excerpt: { line: 2, text: 'ALTER TABLE users ADD COLUMN bio text;\n\nALTER TABLE users AERT COLUMN bio SET DEFAULT \'\';' },
      },
      {
        stage: 'syntax',
        severity: 'notice',
        rule: 'not-reached',
        migration: '0004',
        file: 'db/migrations/0004_backfill_bio.up.sql',
        message: 'not applied: an earlier migration failed',
      },
      {
        stage: 'rollback',
        severity: 'error',
        rule: 'missing-down',
        migration: '0004',
        file: 'db/migrations/0004_backfill_bio.up.sql',
        message: 'no down migration, and the migration is not marked irreversible',
      },
    ],
    statements: [],
  };
}

/** A performance run with per-statement measurements and a rewrite warning. */
export function statementsReport(): Report {
  return {
    version: 1,
    verdict: 'pass',
    postgres: '15.8',
    migrations: [
      mig('20240101120000', 'create_orders', false, {}),
      mig('20240301090000', 'orders_add_total', true, { syntax: 'pass', rollback: 'pass', performance: 'warn' }),
    ],
    stages: [
      { name: 'syntax', status: 'pass', durationMs: 52 },
      { name: 'rollback', status: 'pass', durationMs: 640 },
      { name: 'performance', status: 'warn', durationMs: 73_420 },
    ],
    findings: [
      {
        stage: 'performance',
        severity: 'warning',
        rule: 'table-rewrite',
        migration: '20240301090000',
        file: 'db/migrations/20240301090000_orders_add_total.up.sql',
        line: 3,
        column: 1,
        message: 'ALTER COLUMN total TYPE numeric(12,2) rewrites orders (500,000 rows) under AccessExclusiveLock',
        detail: 'measured 6.1 s for 500,000 rows; projected 2 min 02 s at 10,000,000 rows',
        hint: 'add a new column, backfill it in batches, then swap',
      },
    ],
    statements: [
      {
        migration: '20240301090000',
        file: 'db/migrations/20240301090000_orders_add_total.up.sql',
        line: 1,
        column: 1,
        head: "SET lock_timeout = '5s'",
        durationMs: 0.4,
        locks: [],
        rewrites: [],
      },
      {
        migration: '20240301090000',
        file: 'db/migrations/20240301090000_orders_add_total.up.sql',
        line: 3,
        column: 1,
        head: 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2)',
        durationMs: 6_112.7,
        locks: [{ relation: 'orders', mode: 'AccessExclusiveLock' }],
        rewrites: ['orders'],
        rebuiltIndexes: ['orders_pkey'],
        rows: 500_000,
        projectedMs: 122_254,
        productionRows: 10_000_000,
        holds: [{ relation: 'orders', mode: 'AccessExclusiveLock', blocks: 'reads', ms: 6_924.7, projectedMs: 138_494, untilLine: 5 }],
      },
      {
        migration: '20240301090000',
        file: 'db/migrations/20240301090000_orders_add_total.up.sql',
        line: 5,
        column: 1,
        head: 'CREATE INDEX orders_total_idx ON orders (total)',
        durationMs: 812,
        locks: [{ relation: 'orders', mode: 'ShareLock' }],
        rewrites: [],
        rows: 500_000,
        projectedMs: 16_240,
        productionRows: 10_000_000,
      },
      {
        migration: '20240301090000',
        file: 'db/migrations/20240301090000_orders_add_total.up.sql',
        line: 7,
        column: 1,
        head: 'CREATE INDEX CONCURRENTLY orders_placed_idx ON orders (placed_at)',
        durationMs: 1_530.2,
        locks: [{ relation: 'orders', mode: 'ShareUpdateExclusiveLock' }],
        rewrites: [],
        rows: 500_000,
        outsideTransaction: true,
      },
    ],
  };
}

/** `n` findings of mixed severity (1 in 5 errors, 2 in 5 warnings, the rest notices), many with 2 KB details. */
export function manyFindings(n: number): Finding[] {
  const detail = Array.from({ length: 26 }, (_, i) => `line ${String(i).padStart(2, '0')} ${'x'.repeat(70)}`).join('\n');
  const out: Finding[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 5;
    out.push({
      stage: k === 0 ? 'syntax' : k < 3 ? 'rollback' : 'performance',
      severity: k === 0 ? 'error' : k < 3 ? 'warning' : 'notice',
      rule: k === 0 ? 'apply-failed' : k < 3 ? 'schema-drift' : 'lock-hazard',
      migration: String(i % 300).padStart(4, '0'),
      file: `db/migrations/${String(i % 300).padStart(4, '0')}_m.up.sql`,
      line: (i % 40) + 1,
      column: (i % 7) + 1,
      message: `finding number ${i}: something about table t_${i}`,
      ...(i % 2 === 0 ? { detail, hint: 'look at the JSON report' } : {}),
    });
  }
  return out;
}

export function bigReport(findingCount: number, migrationCount = 300): Report {
  const findings = manyFindings(findingCount);
  return {
    version: 1,
    verdict: 'fail',
    postgres: '17.10',
    migrations: Array.from({ length: migrationCount }, (_, i) =>
      mig(String(i).padStart(4, '0'), `migration_${i}`, i >= 100, i % 50 === 7 ? { syntax: 'fail' } : { syntax: 'pass' }),
    ),
    stages: [{ name: 'syntax', status: 'fail', durationMs: 123_456 }],
    findings,
    statements: [],
  };
}
