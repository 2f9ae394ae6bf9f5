import type pg from 'pg';
import { applyStatements, applyWhole, type ApplyResult } from '../db/execute.js';
import type { ScratchDatabase } from '../db/scratch.js';
import type { Finding } from '../report/model.js';
import { outputTail } from '../command-runner.js';
import { maskPassword } from '../db/connect.js';
import { InputError } from '../errors.js';
import type { PreparedMigration, StageContext } from './context.js';
import { applyUnderTest, failureFinding, runRoleHint, runVerify, type PreSeedTry, type UpOutcome } from './syntax.js';

export type { UpOutcome } from './syntax.js';

/** How one migration moves the database: its SQL files, or the project's own migration tool. */
export interface Stepper {
  baseline(prepared: PreparedMigration): Promise<Finding | undefined>;
  /**
   * Applies the up of a migration under test on populated tables; failures become syntax findings.
   * `applied-pre-seed`: it went in only on the state before the generated rows, which the walk restores.
   */
  upUnderTest(prepared: PreparedMigration, findings: Finding[], preSeed: PreSeedTry): Promise<UpOutcome>;
  /** The migration's verify script (sqitch) right after its up; false when it fails (a finding). */
  verify(prepared: PreparedMigration, findings: Finding[]): Promise<boolean>;
  /** Applies an up as written, nothing measured: the pre-seed checkpoint catching up. */
  applyPlain(prepared: PreparedMigration): Promise<ApplyResult>;
  hasDown(prepared: PreparedMigration): boolean;
  down(prepared: PreparedMigration): Promise<{ result: ApplyResult; finding: Finding | undefined; partial: boolean }>;
  reup(prepared: PreparedMigration): Promise<{ result: ApplyResult; finding: Finding | undefined }>;
}

const ok: ApplyResult = { ok: true, failure: undefined, durations: [] };
const failed: ApplyResult = { ok: false, failure: undefined, durations: [] };

/** `runRole`: the role the migrations log in as, named in the hint of a privilege they lack. */
export function sqlStepper(client: pg.ClientBase, runRole?: string): Stepper {
  return {
    async baseline(prepared) {
      if (!prepared.up.ok) return undefined;
      const up = prepared.up.parsed;
      const r = await applyWhole(client, up);
      return r.ok ? undefined : failureFinding(prepared, up, r.failure!, 'baseline-failed', 'error', `baseline migration fails: ${r.failure!.message}`, undefined, runRole);
    },
    async upUnderTest(prepared, findings, preSeed) {
      if (!prepared.up.ok) return 'failed';
      return applyUnderTest(client, prepared, prepared.up.parsed, findings, preSeed, runRole);
    },
    verify: (prepared, findings) => runVerify(client, prepared, findings),
    async applyPlain(prepared) {
      return prepared.up.ok ? applyWhole(client, prepared.up.parsed) : failed;
    },
    hasDown: (prepared) => prepared.down?.ok === true,
    async down(prepared) {
      const down = prepared.down!.ok ? prepared.down!.parsed : undefined;
      if (!down) return { result: failed, finding: undefined, partial: false };
      const result = await applyStatements(client, down);
      const f = result.failure;
      const finding = f ? failureFinding(prepared, down, f, 'down-failed', 'error', `the down of ${prepared.migration.version} fails: ${f.message}`, undefined, runRole) : undefined;
      return { result, finding, partial: f?.partiallyApplied === true };
    },
    async reup(prepared) {
      const up = prepared.up.ok ? prepared.up.parsed : undefined;
      if (!up) return { result: failed, finding: undefined };
      const result = await applyStatements(client, up);
      const f = result.failure;
      const finding = f
        ? failureFinding(
            prepared,
            up,
            f,
            'reapply-failed',
            'error',
            `the up of ${prepared.migration.version} fails when applied again after its down: ${f.message}`,
            reapplyHint(f.code),
          )
        : undefined;
      return { result, finding };
    },
  };
}

/**
 * Migrations that are code (knex, node-pg-migrate, Alembic, Rails...): the project's own tool
 * moves the scratch database one step up or down; the stages look at the database around it.
 */
export function commandStepper(ctx: StageContext, db: ScratchDatabase): Stepper {
  const { upCommand, downCommand } = ctx.config;
  // The run's role where the run has one: the tool's SQL is held back like the migrations' own.
  const url = ctx.server.urlFor(db);
  const env = databaseEnv(url);
  const run = async (command: string, prepared: PreparedMigration, rule: string, message: string) => {
    if (!ctx.runCommand) throw new Error('no command runner: this front end cannot run migration commands');
    const r = await ctx.runCommand(command, { cwd: ctx.config.root, env, timeoutMs: ctx.config.statementTimeoutMs });
    const escalation = await ctx.server.roleEscalation();
    if (escalation) throw new InputError('input', `${escalation}; the run was stopped`, { file: prepared.migration.up.file });
    if (r.exitCode === 0 && !r.timedOut) return { result: ok, finding: undefined };
    const why = r.timedOut ? `did not finish within ${ctx.config.statementTimeoutMs} ms` : `exited with ${r.exitCode}`;
    const tail = maskPassword(maskPassword(outputTail(r.output).split(url).join('$DATABASE_URL'), url), db.url);
    const role = ctx.server.runRole;
    const finding: Finding = {
      stage: 'syntax',
      severity: 'error',
      rule,
      migration: prepared.migration.version,
      file: prepared.migration.up.file,
      message: `${message}: \`${command}\` ${why}`,
      detail: tail,
      ...(role && /permission denied|must be (?:the )?(?:owner|superuser|a member)/i.test(tail) ? { hint: runRoleHint(role) } : {}),
    };
    return { result: failed, finding };
  };
  return {
    async baseline(prepared) {
      return (await run(upCommand!, prepared, 'baseline-failed', `baseline migration ${prepared.migration.version} fails`)).finding;
    },
    async upUnderTest(prepared, findings, preSeed) {
      const r = await run(upCommand!, prepared, 'command-failed', `the up step of ${prepared.migration.version} fails`);
      if (r.result.ok) return 'applied';
      if ((await preSeed(undefined))?.ok) {
        // A tool's output does not say whether any row or only these values fail it: still an error, but the walk goes on.
        findings.push({ ...r.finding!, hint: 'it passes on the state before the generated rows: production rows may make it fail the same way' });
        return 'applied-pre-seed';
      }
      if (r.finding) findings.push(r.finding);
      return 'failed';
    },
    verify: async () => true,
    async applyPlain(prepared) {
      return (await run(upCommand!, prepared, 'command-failed', `the up step of ${prepared.migration.version} fails`)).result;
    },
    hasDown: () => downCommand !== undefined,
    async down(prepared) {
      const r = await run(downCommand!, prepared, 'down-failed', `the down of ${prepared.migration.version} fails`);
      // A tool's step is not ours to roll back: after a failed down the state is unknown.
      return { ...r, partial: !r.result.ok };
    },
    async reup(prepared) {
      return run(upCommand!, prepared, 'reapply-failed', `the up of ${prepared.migration.version} fails when applied again after its down`);
    },
  };
}

/** The variables migration tools read to find their database. */
export function databaseEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return {
    DATABASE_URL: url,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
  };
}

const ALREADY_EXISTS = new Set(['42P07', '42710', '42701', '42723', '42P06']);
const DOES_NOT_EXIST = new Set(['42704', '42P01', '42703', '42883', '3F000']);

/** Why a second up fails, from what the server said. */
export function reapplyHint(code: string | undefined): string {
  if (ALREADY_EXISTS.has(code ?? '')) return 'the down leaves behind something that the up creates';
  if (DOES_NOT_EXIST.has(code ?? '')) return 'the down does not restore something that the up relies on';
  return 'the down does not give back the schema the up was written for';
}

