/**
 * SQL text of one direction of a migration, tied to the file it came from.
 *
 * `text` keeps the file's line structure: when a format stores several sections in one file
 * (dbmate, goose), everything outside the section is blanked but newlines stay, so a line and
 * column found in `text` is the same line and column in the real file.
 */
export interface SqlSource {
  /** Repository-relative path, forward slashes. */
  file: string;
  text: string;
  /** The file asks to run without a wrapping transaction (dbmate `transaction:false`, goose `NO TRANSACTION`). */
  noTransaction?: boolean;
}

export interface Migration {
  /** Version exactly as written in the file name. */
  version: string;
  name: string;
  up: SqlSource;
  down: SqlSource | undefined;
  /** Checks run right after the up (sqitch verify scripts); they must not fail. */
  verify?: SqlSource;
  /** Applied after every versioned migration, has no down by design (Flyway `R__`). */
  repeatable?: boolean;
  /** A step of the project's own migration tool (`--up-command`), not SQL we run. */
  code?: boolean;
  /** The format has no down migrations at all (Prisma, Atlas, ...): the tool's name, for the one notice that says so. */
  upOnly?: string;
  /** The format itself says there is no way back, on purpose (Liquibase `--rollback not required`). */
  irreversible?: boolean;
  /** Set when the baseline comparison decides; true when there is no baseline. */
  underTest: boolean;
}

export interface DiscoveryNotice {
  file: string;
  message: string;
  /** A notice unless said otherwise (`file-skipped`); an integrity check of the format's own (Atlas's sum) warns. */
  severity?: 'notice' | 'warning';
  rule?: string;
  line?: number;
}

/** The migrations one file holds, by version (Liquibase changesets): a base version of the file is read with it. */
export type SectionReader = (file: string, text: string) => Map<string, { up: string; down: string | undefined }>;

export interface DiscoveredMigrations {
  format: string;
  migrations: Migration[];
  notices: DiscoveryNotice[];
  /** When one file holds several migrations: a migration is new or edited by its own text, not its file's. */
  sections?: SectionReader;
  /** The tool runs every pending migration whatever its place (Liquibase): a new one before old ones is not out of order. */
  anyOrder?: boolean;
}
