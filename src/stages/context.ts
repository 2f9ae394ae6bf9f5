import type { Config, StageName } from '../config.js';
import type { Bookkeeping } from '../db/bookkeeping.js';
import type { ScratchServer } from '../db/scratch.js';
import type { Migration } from '../migrations/types.js';
import type { Finding, StageStatus, StatementMeasure } from '../report/model.js';
import type { ProgressEvent } from '../report/terminal.js';
import type { ParseResult } from '../sql/parse.js';
import type { CommandRunner } from '../command-runner.js';

/** A migration with both directions parsed once, up front. */
export interface PreparedMigration {
  migration: Migration;
  up: ParseResult;
  down: ParseResult | undefined;
  /** sqitch verify script, run right after the up. */
  verify?: ParseResult;
}

/** What every stage gets: the run's settings, the server, the migrations in order. */
export interface StageContext {
  config: Config;
  server: ScratchServer;
  migrations: PreparedMigration[];
  log: (line: string) => void;
  progress: (event: ProgressEvent) => void;
  /** Runs user commands (data test command, migration tool steps); supplied by the front end. */
  runCommand: CommandRunner | undefined;
  /**
   * A database holding the first `count` migrations (the baseline), applied once: stages clone it
   * instead of applying those migrations again.
   */
  baselineTemplate: { name: string; count: number } | undefined;
  /** The tables the format in use keeps its own state in: never seeded, never compared. */
  bookkeeping: Bookkeeping;
}

export interface StageOutcome {
  stage: StageName;
  findings: Finding[];
  /** Outcome per migration version; absent means the stage did not cover it. */
  perMigration: Map<string, StageStatus>;
  statements: StatementMeasure[];
}

export function emptyOutcome(stage: StageName): StageOutcome {
  return { stage, findings: [], perMigration: new Map(), statements: [] };
}
