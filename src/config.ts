import fs from 'node:fs';
import path from 'node:path';
import { InputError, errorMessage } from './errors.js';
import type { OPTION_SPECS } from './options.js';
import { readProductionStats, rowsOfTables, type ProductionStats } from './production-stats.js';
import { loadRepoConfig, withRepoConfig, type RuleSetting } from './repo-config.js';
import { ALLOW_OUTSIDE_VALUES, type AllowOutside } from './sql/guard.js';

export const STAGE_NAMES = ['syntax', 'rollback', 'data', 'performance', 'dependencies'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export const FORMATS = [
  'auto',
  'golang-migrate',
  'dbmate',
  'goose',
  'flyway',
  'sqitch',
  'diesel',
  'hasura',
  'sourcegraph',
  'prisma',
  'supabase',
  'atlas',
  'sqlx',
  'liquibase',
  'sql-migrate',
  'tern',
  'postgrator',
  'node-pg-migrate',
] as const;
export type FormatName = (typeof FORMATS)[number];

export type SnapshotKind = 'catalog' | 'pg_dump';

/** Everything a run needs, built by a front end (CLI flags or action inputs). */
export interface Config {
  /** Repository root: every path in the report is relative to it. */
  root: string;
  /** Migrations folder, absolute. */
  dir: string;
  format: FormatName;
  /** Server to work on; only ever used to create and drop scratch databases. */
  databaseUrl: string;
  stages: StageName[];
  /** Folder of `<version>.seed.sql` / `<version>.assert.sql`, absolute. */
  dataTests: string | undefined;
  dataTestCommand: string | undefined;
  perfRows: number;
  perfThresholdMs: number;
  /** Production row counts by table name ("users", "billing.invoices"). */
  productionRows: Map<string, number>;
  /** The `production-stats` file: what production's data looks like, without its rows. */
  productionStats: ProductionStats | undefined;
  criticalTables: string[] | undefined;
  baseRef: string | undefined;
  /** The base ref was not asked for but guessed (a pull request's base): when it cannot be read, test everything. */
  baseRefOptional: boolean;
  reportJson: string | undefined;
  sarif: string | undefined;
  /** Rows put into every table before a migration under test meets it in the syntax stage. */
  seedRows: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  /** How long to keep retrying the first connection (a service container may still be starting). */
  connectTimeoutMs: number;
  strictColumnOrder: boolean;
  /** Glob patterns of object names left out of schema comparison. */
  ignore: string[];
  snapshot: SnapshotKind;
  allowIrreversible: boolean;
  /** Up-only formats (Prisma, Atlas, ...) still need a down for each migration: the missing down stays an error. */
  requireDown: boolean;
  /** Liquibase: the run's contexts (changesets of other contexts are not run) and label expression. */
  liquibaseContexts: string[];
  liquibaseLabels: string | undefined;
  /** Classes of statements acting outside the scratch database that are let through. */
  /** Classes of statements acting outside the scratch database let through; `superuser` runs the migrations as the connecting role. */
  allowOutside: AllowOutside[];
  /** `${name}` -> value, applied to SQL before parsing. */
  placeholders: Record<string, string>;
  /** Literal text replacements applied to SQL before parsing, in order. */
  replacements: Array<{ from: string; to: string }>;
  upCommand: string | undefined;
  downCommand: string | undefined;
  /** 1-based shard index of `total`. */
  shard: { index: number; total: number } | undefined;
  /** Rule levels from the repository config file, in the order they apply (the last match wins). */
  rules: RuleSetting[];
  /** The running release's queries: a `.sql` file, a pg_stat_statements export (CSV, JSON) or a folder of them, absolute. */
  queries: string | undefined;
  /** A query plan whose cost grows by this factor after a migration is a warning. */
  planCostThreshold: number;
  /** Inserts into a table this many times slower after a migration is a warning; unset, the ratio is only reported. */
  writeCostThreshold: number | undefined;
}

type Spec = (typeof OPTION_SPECS)[number];
type RawValue<S extends Spec> = S['kind'] extends 'multi' ? string[] | undefined : S['kind'] extends 'boolean' ? boolean | string | undefined : string | undefined;

/** Raw option values as both front ends see them: strings (possibly empty), flags, lists. */
export type RawOptions = { [S in Spec as S['key']]?: RawValue<S> };

export const DEFAULTS = {
  dir: 'migrations',
  format: 'auto' as FormatName,
  stages: [...STAGE_NAMES] as StageName[],
  perfRows: 500_000,
  perfThresholdMs: 10_000,
  seedRows: 100,
  statementTimeoutMs: 300_000,
  lockTimeoutMs: 30_000,
  connectTimeoutMs: 30_000,
  planCostThreshold: 10,
};

function blank(v: string | undefined): v is undefined {
  return v === undefined || v.trim() === '';
}

/** Whole numbers as people write them for row counts: 500000, 500_000, 5e5, 2.5e6. */
export function parseCount(name: string, value: string): number {
  const text = value.trim().replace(/_/g, '');
  if (!/^\d+(\.\d+)?(e\d+)?$/i.test(text)) throw new InputError('usage', `${name} must be a whole number, got "${value}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new InputError('usage', `${name} must be a whole number, got "${value}"`);
  return n;
}

export function parsePositiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (blank(value)) return fallback;
  const n = parseCount(name, value);
  if (n < min) throw new InputError('usage', `${name} must be a whole number of at least ${min}, got "${value}"`);
  return n;
}

export function parseBoolean(name: string, value: boolean | string | undefined): boolean {
  if (typeof value === 'boolean') return value;
  if (blank(value)) return false;
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new InputError('usage', `${name} must be true or false, got "${value}"`);
}

export function parseStages(value: string | undefined): StageName[] {
  if (blank(value)) return [...DEFAULTS.stages];
  const names = value.split(/[\s,]+/).filter(Boolean);
  const out: StageName[] = [];
  for (const n of names) {
    if (!(STAGE_NAMES as readonly string[]).includes(n)) {
      throw new InputError('usage', `unknown stage "${n}"; stages are ${STAGE_NAMES.join(', ')}`);
    }
    if (!out.includes(n as StageName)) out.push(n as StageName);
  }
  if (out.length === 0) throw new InputError('usage', 'stages must name at least one stage');
  // Stages always run in their natural order, whatever order they were listed in.
  return STAGE_NAMES.filter((s) => out.includes(s));
}

export function parseOutsideClasses(value: string | undefined): AllowOutside[] {
  if (blank(value)) return [];
  const out: AllowOutside[] = [];
  for (const n of value.split(/[\s,]+/).filter(Boolean)) {
    if (!(ALLOW_OUTSIDE_VALUES as readonly string[]).includes(n)) {
      throw new InputError('usage', `allow-outside: unknown class "${n}"; classes are ${ALLOW_OUTSIDE_VALUES.join(', ')}`);
    }
    if (!out.includes(n as AllowOutside)) out.push(n as AllowOutside);
  }
  return out;
}

export function parseFormat(value: string | undefined): FormatName {
  if (blank(value)) return DEFAULTS.format;
  const v = value.trim();
  if (!(FORMATS as readonly string[]).includes(v)) {
    throw new InputError('usage', `unknown format "${v}"; formats are ${FORMATS.join(', ')}`);
  }
  return v as FormatName;
}

function parseSnapshot(value: string | undefined): SnapshotKind {
  if (blank(value)) return 'catalog';
  const v = value.trim();
  if (v === 'catalog' || v === 'pg_dump') return v;
  throw new InputError('usage', `unknown snapshot "${v}"; snapshots are catalog, pg_dump`);
}

/** `I/N` with 1 <= I <= N. */
export function parseShard(value: string | undefined): Config['shard'] {
  if (blank(value)) return undefined;
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const total = m ? Number(m[2]) : NaN;
  if (!m || total < 1 || index < 1 || index > total) {
    throw new InputError('usage', `shard must look like 2/4 (index from 1 to the number of shards), got "${value}"`);
  }
  return { index, total };
}

/** `NAME=VALUE` items (a list, or one string of comma/newline-separated items). */
function parsePairs(name: string, items: string[]): Array<[string, string]> {
  return items
    .filter((i) => i.trim() !== '')
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new InputError('usage', `${name} entries look like NAME=VALUE, got "${item}"`);
      return [item.slice(0, eq).trim(), item.slice(eq + 1)] as [string, string];
    });
}

/** `users=5e7,orders=2e8` (or one pair a line), or the path of a file holding that. */
export function parseProductionRows(root: string, value: string | undefined, paths: PathRule = 'workspace'): Map<string, number> {
  const out = new Map<string, number>();
  if (blank(value)) return out;
  let text = value;
  if (!value.includes('=')) {
    const file = resolveInput(root, 'production-rows', value.trim(), paths);
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError('input', `cannot read production-rows file ${value.trim()}: ${errorMessage(e)}`);
    }
  }
  const items = text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  for (const [table, rows] of parsePairs('production-rows', items)) {
    out.set(table, parseCount(`production-rows for ${table}`, rows.trim()));
  }
  return out;
}

/**
 * Where the paths a run reads may lead: inside the workspace (the action: a workflow names files of
 * the repository it checked out), or anywhere (the CLI: `--dir ../backend/migrations` on a laptop).
 */
export type PathRule = 'workspace' | 'anywhere';

function outside(root: string, abs: string): boolean {
  const rel = path.relative(root, abs);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

/** The path with symbolic links resolved as far as it exists (the rest may not exist yet). */
function realpathAsFarAsExists(abs: string): string {
  const rest: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return abs;
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

/** A path from an input, resolved against the root; it must stay inside the root, also through symbolic links. */
export function resolveInside(root: string, name: string, value: string): string {
  const abs = path.resolve(root, value);
  if (outside(root, abs)) throw new InputError('usage', `${name} "${value}" points outside the workspace ${root}`);
  if (outside(realpathAsFarAsExists(root), realpathAsFarAsExists(abs))) {
    throw new InputError('usage', `${name} "${value}" leads outside the workspace ${root} through a symbolic link`);
  }
  return abs;
}

function resolveInput(root: string, name: string, value: string, paths: PathRule): string {
  return paths === 'anywhere' ? path.resolve(root, value) : resolveInside(root, name, value);
}

function optionalPath(root: string, name: string, value: string | undefined, paths: PathRule): string | undefined {
  return blank(value) ? undefined : resolveInput(root, name, value.trim(), paths);
}

function optionalText(value: string | undefined): string | undefined {
  return blank(value) ? undefined : value.trim();
}

export function buildConfig(root: string, given: RawOptions, opts: { paths?: PathRule } = {}): Config {
  const paths = opts.paths ?? 'workspace';
  const absRoot = path.resolve(root);
  // Flags and inputs first, the committed config file for what they leave out.
  const repo = loadRepoConfig(absRoot);
  const raw = withRepoConfig(given, repo);
  const databaseUrl = raw.databaseUrl?.trim() ?? '';
  if (databaseUrl === '') throw new InputError('usage', 'no database URL given');
  validateDatabaseUrl(databaseUrl);
  const upCommand = optionalText(raw.upCommand);
  const downCommand = optionalText(raw.downCommand);
  if (downCommand && !upCommand) throw new InputError('usage', 'down-command needs an up-command');
  const productionStats = blank(raw.productionStats)
    ? undefined
    : readProductionStats(resolveInput(absRoot, 'production-stats', raw.productionStats.trim(), paths), raw.productionStats.trim());
  return {
    root: absRoot,
    dir: resolveInput(absRoot, 'migrations dir', blank(raw.dir) ? DEFAULTS.dir : raw.dir.trim(), paths),
    format: parseFormat(raw.format),
    databaseUrl,
    stages: parseStages(raw.stages),
    dataTests: optionalPath(absRoot, 'data-tests', raw.dataTests, paths),
    dataTestCommand: optionalText(raw.dataTestCommand),
    perfRows: parsePositiveInt('perf-rows', raw.perfRows, DEFAULTS.perfRows),
    perfThresholdMs: parsePositiveInt('perf-threshold-ms', raw.perfThresholdMs, DEFAULTS.perfThresholdMs),
    // production-rows is the row part of production-stats: its entries win over the file's.
    productionRows: new Map([...(productionStats ? rowsOfTables(productionStats) : []), ...parseProductionRows(absRoot, raw.productionRows, paths)]),
    productionStats,
    criticalTables: readCriticalTables(absRoot, raw.criticalTables, paths) ?? repo?.criticalTables,
    baseRef: optionalText(raw.baseRef),
    baseRefOptional: false,
    // Files we write may go anywhere the user names (the runner's temp folder is common); files we read may not leave the workspace.
    reportJson: blank(raw.reportJson) ? undefined : path.resolve(absRoot, raw.reportJson.trim()),
    sarif: blank(raw.sarif) ? undefined : path.resolve(absRoot, raw.sarif.trim()),
    seedRows: parsePositiveInt('seed-rows', raw.seedRows, DEFAULTS.seedRows),
    statementTimeoutMs: parsePositiveInt('statement-timeout', raw.statementTimeoutMs, DEFAULTS.statementTimeoutMs, 0),
    lockTimeoutMs: parsePositiveInt('lock-timeout', raw.lockTimeoutMs, DEFAULTS.lockTimeoutMs, 0),
    connectTimeoutMs: parsePositiveInt('connect-timeout', raw.connectTimeoutMs, DEFAULTS.connectTimeoutMs, 0),
    strictColumnOrder: parseBoolean('strict-column-order', raw.strictColumnOrder),
    ignore: (raw.ignore ?? []).map((p) => p.trim()).filter(Boolean),
    snapshot: parseSnapshot(raw.snapshot),
    allowIrreversible: parseBoolean('allow-irreversible', raw.allowIrreversible),
    requireDown: parseBoolean('require-down', raw.requireDown),
    liquibaseContexts: (optionalText(raw.liquibaseContexts) ?? '').split(/[\s,]+/).filter(Boolean),
    liquibaseLabels: optionalText(raw.liquibaseLabels),
    allowOutside: parseOutsideClasses(raw.allowOutside),
    placeholders: Object.fromEntries(parsePairs('placeholder', raw.placeholders ?? [])),
    replacements: parsePairs('replace', raw.replace ?? []).map(([from, to]) => ({ from, to })),
    upCommand,
    downCommand,
    shard: parseShard(raw.shard),
    rules: repo?.rules ?? [],
    queries: optionalPath(absRoot, 'queries', raw.queries, paths),
    planCostThreshold: parsePositiveInt('plan-cost-threshold', raw.planCostThreshold, DEFAULTS.planCostThreshold),
    writeCostThreshold: blank(raw.writeCostThreshold) ? undefined : parsePositiveInt('write-cost-threshold', raw.writeCostThreshold, 0),
  };
}

/** One table name a line; blank lines and `#` comments are skipped. */
function readCriticalTables(root: string, value: string | undefined, paths: PathRule): string[] | undefined {
  if (blank(value)) return undefined;
  const file = resolveInput(root, 'critical-tables', value.trim(), paths);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError('input', `cannot read critical-tables file ${value.trim()}: ${errorMessage(e)}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/**
 * A password holding an unencoded `/`, `?` or `#` ends the URL's authority early: what follows
 * parses as a path and the host becomes a piece of the password (retried for the whole connect
 * timeout, or refused as "not a URL"). Told by an `@` past the authority, before something that
 * looks like a host, in a path or value-less query (never a `key=value` query). A sentence, or
 * undefined when the URL reads as written.
 */
export function splitPasswordProblem(url: string): string | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return undefined;
  const rest = url.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?#]/);
  if (authorityEnd < 0 || rest.slice(0, authorityEnd).includes('@')) return undefined;
  const at = rest.lastIndexOf('@');
  if (at < authorityEnd) return undefined;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0 || /[=&]/.test(rest.slice(authorityEnd, at))) return undefined;
  const after = rest.slice(at + 1);
  if (!/^(\[[^\]]*\]|[A-Za-z0-9._%-]+)?(:\d*)?([/?#]|$)/.test(after)) return undefined;
  const password = userinfo.slice(colon + 1);
  const chars = [...new Set([...password].filter((c) => '/?#'.includes(c)))].map((c) => `${c} as ${encodeURIComponent(c)}`);
  const shown = `${scheme[0]}${userinfo.slice(0, colon)}:***@${after}`;
  return (
    `the database URL's password holds a character that ends a URL's host part, so the host would be a piece of the password; ` +
    `percent-encode it (${chars.join(', ')}, and @ as %40): ${shown}`
  );
}

export function validateDatabaseUrl(url: string): void {
  const split = splitPasswordProblem(url);
  if (split) throw new InputError('usage', split);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError('usage', `database URL is not a valid URL: ${redactUrl(url)}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InputError('usage', `database URL must start with postgres:// or postgresql://, got ${parsed.protocol}//`);
  }
}

/** The URL with its password replaced, safe for any log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}
