import fs from 'node:fs';
import path from 'node:path';
import { InputError, errorMessage } from './errors.js';

export const STAGE_NAMES = ['syntax', 'rollback', 'data', 'performance'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export const FORMATS = ['auto', 'golang-migrate', 'dbmate', 'goose', 'flyway', 'sqitch'] as const;
export type FormatName = (typeof FORMATS)[number];

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
  dataTests: string | undefined;
  perfRows: number;
  perfThresholdMs: number;
  criticalTables: string[] | undefined;
  baseRef: string | undefined;
  reportJson: string | undefined;
  /** Rows put into every table before a migration under test meets it in the syntax stage. */
  seedRows: number;
  /** How long to keep retrying the first connection (a service container may still be starting). */
  connectTimeoutMs: number;
}

export const DEFAULTS = {
  dir: 'migrations',
  format: 'auto' as FormatName,
  stages: [...STAGE_NAMES] as StageName[],
  perfRows: 500_000,
  perfThresholdMs: 10_000,
  seedRows: 100,
  connectTimeoutMs: 30_000,
};

/** Raw option values as both front ends see them: strings, possibly empty. */
export interface RawOptions {
  dir?: string | undefined;
  format?: string | undefined;
  databaseUrl?: string | undefined;
  stages?: string | undefined;
  dataTests?: string | undefined;
  perfRows?: string | undefined;
  perfThresholdMs?: string | undefined;
  criticalTables?: string | undefined;
  baseRef?: string | undefined;
  reportJson?: string | undefined;
  seedRows?: string | undefined;
  connectTimeoutMs?: string | undefined;
}

function blank(v: string | undefined): v is undefined {
  return v === undefined || v.trim() === '';
}

export function parsePositiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (blank(value)) return fallback;
  const text = value.trim().replace(/_/g, '');
  // Accept plain integers and the scientific form people write for row counts (5e5).
  if (!/^\d+(\.\d+)?(e\d+)?$/i.test(text)) {
    throw new InputError('usage', `${name} must be a whole number, got "${value}"`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new InputError('usage', `${name} must be a whole number of at least ${min}, got "${value}"`);
  }
  return n;
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

export function parseFormat(value: string | undefined): FormatName {
  if (blank(value)) return DEFAULTS.format;
  const v = value.trim();
  if (!(FORMATS as readonly string[]).includes(v)) {
    throw new InputError('usage', `unknown format "${v}"; formats are ${FORMATS.join(', ')}`);
  }
  return v as FormatName;
}

/** A path from an input, resolved against the root; it must stay inside the root. */
export function resolveInside(root: string, name: string, value: string): string {
  const abs = path.resolve(root, value);
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new InputError('usage', `${name} "${value}" points outside the workspace ${root}`);
  }
  return abs;
}

export function buildConfig(root: string, raw: RawOptions): Config {
  const absRoot = path.resolve(root);
  const databaseUrl = raw.databaseUrl?.trim() ?? '';
  if (databaseUrl === '') throw new InputError('usage', 'no database URL given');
  validateDatabaseUrl(databaseUrl);
  return {
    root: absRoot,
    dir: resolveInside(absRoot, 'migrations dir', blank(raw.dir) ? DEFAULTS.dir : raw.dir.trim()),
    format: parseFormat(raw.format),
    databaseUrl,
    stages: parseStages(raw.stages),
    dataTests: blank(raw.dataTests) ? undefined : resolveInside(absRoot, 'data-tests', raw.dataTests.trim()),
    perfRows: parsePositiveInt('perf-rows', raw.perfRows, DEFAULTS.perfRows),
    perfThresholdMs: parsePositiveInt('perf-threshold-ms', raw.perfThresholdMs, DEFAULTS.perfThresholdMs),
    criticalTables: readCriticalTables(absRoot, raw.criticalTables),
    baseRef: blank(raw.baseRef) ? undefined : raw.baseRef.trim(),
    reportJson: blank(raw.reportJson) ? undefined : path.resolve(absRoot, raw.reportJson.trim()),
    seedRows: parsePositiveInt('seed-rows', raw.seedRows, DEFAULTS.seedRows),
    connectTimeoutMs: parsePositiveInt('connect-timeout', raw.connectTimeoutMs, DEFAULTS.connectTimeoutMs, 0),
  };
}

/** One table name a line; blank lines and `#` comments are skipped. */
function readCriticalTables(root: string, value: string | undefined): string[] | undefined {
  if (blank(value)) return undefined;
  const file = resolveInside(root, 'critical-tables', value.trim());
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError('input', `cannot read critical-tables file ${path.relative(root, file)}: ${errorMessage(e)}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

export function validateDatabaseUrl(url: string): void {
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
