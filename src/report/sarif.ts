import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { StageName } from '../config.js';
import { sortFindings, type Finding, type Report, type Severity } from './model.js';
import { describeRule } from './rules.js';

export interface SarifOptions {
  /** Tool version shown in code scanning. */
  toolVersion?: string;
  /** Absolute repository root: recorded as `%SRCROOT%` so viewers outside GitHub resolve the paths. */
  srcRoot?: string;
  /** Home page of the tool, an absolute URI. */
  informationUri?: string;
}

/** GitHub code scanning rejects a run with more results than this. */
export const MAX_SARIF_RESULTS = 25_000;
/** Longest detail or hint carried in a result message; the JSON report has the full text. */
const MAX_EXTRA_CHARS = 8_000;

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', notice: 'note' };
const SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
const SRCROOT = '%SRCROOT%';

type Json = Record<string, unknown>;

/** `stage/rule`: the same rule can come from two stages (down failures move to data when rollback is off). */
export function sarifRuleId(f: { stage: StageName; rule: string }): string {
  return `${f.stage}/${f.rule}`;
}

/**
 * The findings as a SARIF 2.1.0 log for GitHub code scanning: one result per finding with its
 * rule, level, message and physical location (path relative to the repository root, under
 * `%SRCROOT%`), one rule per check with a help text.
 *
 * Code scanning refuses a whole file when any result lacks a location, so a finding without a
 * file is placed on its migration's up file; a finding tied to neither (a stage that did not
 * run, a missing shard) becomes a tool execution notification of the run instead.
 */
export function renderSarif(report: Report, opts: SarifOptions = {}): string {
  const upFile = new Map(report.migrations.map((m) => [m.version, m.up]));
  const located: Array<{ finding: Finding; file: string }> = [];
  const unlocated: Finding[] = [];
  for (const f of sortFindings(report.findings)) {
    const file = nonEmpty(f.file) ?? (f.migration !== undefined ? upFile.get(f.migration) : undefined);
    if (file !== undefined) located.push({ finding: f, file });
    else unlocated.push(f);
  }
  const kept = located.slice(0, MAX_SARIF_RESULTS);

  const ruleIndex = new Map<string, number>();
  const rules: Json[] = [];
  for (const { finding } of kept) {
    const id = sarifRuleId(finding);
    if (ruleIndex.has(id)) continue;
    ruleIndex.set(id, rules.length);
    rules.push(ruleJson(finding));
  }

  const results = kept.map(({ finding, file }) => resultJson(finding, file, ruleIndex.get(sarifRuleId(finding))!));
  const notifications: Json[] = unlocated.map((f) => ({
    level: LEVEL[f.severity],
    message: { text: messageText(f) },
    descriptor: { id: sarifRuleId(f) },
  }));
  if (located.length > kept.length) {
    notifications.push({
      level: 'warning',
      message: {
        text: `${located.length - kept.length} findings left out: code scanning accepts at most ${MAX_SARIF_RESULTS} results per run; the JSON report has all of them`,
      },
    });
  }

  const driver: Json = { name: 'migration-ci' };
  if (opts.toolVersion) driver.version = opts.toolVersion;
  if (opts.informationUri) driver.informationUri = opts.informationUri;
  driver.rules = rules;

  const run: Json = { tool: { driver } };
  if (opts.srcRoot) {
    const href = pathToFileURL(opts.srcRoot).href;
    run.originalUriBaseIds = { [SRCROOT]: { uri: href.endsWith('/') ? href : `${href}/` } };
  }
  run.invocations = [
    {
      executionSuccessful: true,
      ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}),
    },
  ];
  run.results = results;
  run.columnKind = 'utf16CodeUnits';
  run.properties = compact({
    verdict: report.verdict,
    postgres: report.postgres,
    shard: report.shard ? `${report.shard.index}/${report.shard.total}` : undefined,
  });

  return JSON.stringify({ $schema: SCHEMA_URI, version: '2.1.0', runs: [run] }, null, 2) + '\n';
}

function ruleJson(f: Finding): Json {
  const d = describeRule(f.rule, f.stage, f.severity);
  return {
    id: sarifRuleId(f),
    name: pascalCase(f.rule),
    shortDescription: { text: d.title },
    fullDescription: { text: d.help },
    help: { text: d.help, markdown: `**${d.title}**\n\n${d.help}` },
    defaultConfiguration: { level: LEVEL[d.severity] },
    properties: { tags: ['postgresql', 'migrations', f.stage] },
  };
}

function resultJson(f: Finding, file: string, ruleIndex: number): Json {
  const physicalLocation: Json = { artifactLocation: { uri: fileUri(file), uriBaseId: SRCROOT } };
  // Only the finding's own file has a meaningful position; a fallback file gets none.
  if (nonEmpty(f.file) !== undefined && f.line !== undefined && f.line >= 1) {
    physicalLocation.region = compact({ startLine: f.line, startColumn: f.column !== undefined && f.column >= 1 ? f.column : undefined });
  }
  return compact({
    ruleId: sarifRuleId(f),
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: messageText(f) },
    locations: [{ physicalLocation }],
    partialFingerprints: { 'migrationCiFinding/v1': fingerprint(f, file) },
    properties: compact({ stage: f.stage, migration: f.migration }),
  });
}

function messageText(f: Finding): string {
  const parts = [f.message.trim() === '' ? describeRule(f.rule, f.stage, f.severity).title : f.message];
  if (f.detail !== undefined && f.detail.trim() !== '') parts.push(clip(f.detail.replace(/\s+$/, '')));
  if (f.hint !== undefined && f.hint.trim() !== '') parts.push(`Hint: ${clip(f.hint.trim())}`);
  return parts.join('\n\n');
}

/**
 * Identifies the same problem across runs, so code scanning keeps one alert instead of opening a
 * new one on each push: rule, file and migration, and the message without numbers (timings and
 * row counts change from run to run; lines move when the file is edited).
 */
function fingerprint(f: Finding, file: string): string {
  const message = f.message.replace(/\d+(?:[.,]\d+)*/g, '#');
  return createHash('sha256').update([sarifRuleId(f), file, f.migration ?? '', message].join('\u0000')).digest('hex').slice(0, 32);
}

/** A repository-relative path as a relative URI reference: each segment percent-encoded. */
function fileUri(file: string): string {
  return file
    .replace(/\\/g, '/')
    .replace(/^\.\//, '')
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function pascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

function clip(s: string): string {
  if (s.length <= MAX_EXTRA_CHARS) return s;
  let cut = MAX_EXTRA_CHARS;
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // never split a surrogate pair
  return `${s.slice(0, cut)}… (truncated; the JSON report has the full text)`;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function compact(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
