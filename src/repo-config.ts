/**
 * The repository config file, `.migration-ci.yml` at the repository root: what a team commits
 * (rule levels, globally and per path glob, and the inputs that belong with the code). Flags and
 * action inputs override it. Every key is checked: a wrong one is bad usage, named with its line.
 */

import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import type { RawOptions } from './config.js';
import { InputError } from './errors.js';
import { OPTION_SPECS } from './options.js';
import { RULES } from './report/rules.js';
import { RULE_LEVELS, type RuleLevel } from './report/severities.js';

export const REPO_CONFIG_FILES = ['.migration-ci.yml', '.migration-ci.yaml'] as const;

export { RULE_LEVELS, type RuleLevel } from './report/severities.js';

/** One rule's level; with `files`, only for findings in files matching one of these globs. */
export interface RuleSetting {
  rule: string;
  level: RuleLevel;
  files?: string[];
}

export interface RepoConfig {
  /** Repository-relative name of the file it came from. */
  file: string;
  /** Option values as a front end would pass them (strings, lists, flags). */
  options: RawOptions;
  /** Critical tables listed in the file itself (instead of a file of them). */
  criticalTables?: string[];
  /** In order: global levels, then each override's; the last that matches a finding wins. */
  rules: RuleSetting[];
}

/** Options that belong in the repository: how the migrations are laid out and judged, never where or with what secrets they run. */
export const REPO_CONFIG_OPTIONS = [
  'dir',
  'format',
  'stages',
  'ignore',
  'critical-tables',
  'perf-rows',
  'perf-threshold-ms',
  'seed-rows',
  'statement-timeout',
  'lock-timeout',
  'strict-column-order',
  'snapshot',
  'allow-irreversible',
  'production-rows',
] as const;

const TOP_KEYS = ['$schema', ...REPO_CONFIG_OPTIONS, 'rules', 'overrides'] as const;
const OVERRIDE_KEYS = ['files', 'rules'] as const;

/** Every rule id a finding can carry. */
export function knownRules(): string[] {
  return RULES.map((r) => r.id);
}

/** The config file at `root`, or undefined when there is none. */
export function loadRepoConfig(root: string): RepoConfig | undefined {
  for (const name of REPO_CONFIG_FILES) {
    const file = path.join(root, name);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new InputError('input', `cannot read ${name}: ${(e as Error).message}`, { file: name });
    }
    return parseRepoConfig(text, name);
  }
  return undefined;
}

export function parseRepoConfig(text: string, file: string): RepoConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (n: Node | Pair | null | undefined): number | undefined => {
    const range = n && 'range' in n ? n.range : n && 'key' in n && isScalar(n.key) ? n.key.range : undefined;
    return range ? lines.linePos(range[0]).line : undefined;
  };
  const fail = (message: string, at?: Node | Pair | null): never => {
    const line = lineOf(at);
    throw new InputError('usage', message, { file, ...(line !== undefined ? { line } : {}) });
  };
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new InputError('usage', `not valid YAML: ${first.message.split('\n')[0]}`, { file, ...(line !== undefined ? { line } : {}) });
  }
  const out: RepoConfig = { file, options: {}, rules: [] };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return out;
  if (!isMap(doc.contents)) return fail('the config file must be a map of keys to values', doc.contents);
  const top = doc.contents as YAMLMap;

  const keyOf = (pair: Pair, where: string, allowed: readonly string[]): string => {
    const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (k === undefined || !allowed.includes(k)) {
      return fail(`unknown key "${k ?? String(pair.key)}"${where}; the keys are ${allowed.join(', ')}`, pair);
    }
    return k;
  };
  const scalar = (node: unknown, key: string): string => {
    if (isScalar(node) && ['string', 'number', 'boolean'].includes(typeof node.value)) return String(node.value);
    return fail(`${key} must be a single value`, node as Node);
  };
  const list = (node: unknown, key: string): string[] => {
    if (isScalar(node) && typeof node.value === 'string') return [node.value];
    if (!isSeq(node)) return fail(`${key} must be a list`, node as Node);
    return node.items.map((item) => scalar(item, `each entry of ${key}`));
  };
  const rules = (node: unknown, key: string, files?: string[]): void => {
    if (!isMap(node)) return fail(`${key} must map rule names to off, notice, warning or error`, node as Node);
    const ids = knownRules();
    for (const pair of node.items) {
      const rule = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!ids.includes(rule)) fail(`unknown rule "${rule}" in ${key}; the rules are listed in the README under Rules`, pair);
      const value = isScalar(pair.value) ? pair.value.value : undefined;
      // YAML 1.1 readers take a bare off as false: accept that spelling too.
      const level = value === false ? 'off' : typeof value === 'string' ? value.trim().toLowerCase() : undefined;
      if (!(RULE_LEVELS as readonly (string | undefined)[]).includes(level)) {
        fail(`${key}.${rule} must be one of ${RULE_LEVELS.join(', ')}, got ${JSON.stringify(value ?? null)}`, pair);
      }
      out.rules.push({ rule, level: level as RuleLevel, ...(files ? { files } : {}) });
    }
  };

  const overrides: Array<{ node: unknown }> = [];
  for (const pair of top.items) {
    const key = keyOf(pair, '', TOP_KEYS);
    const value = pair.value;
    if (key === '$schema') continue;
    if (key === 'rules') {
      rules(value, 'rules');
      continue;
    }
    if (key === 'overrides') {
      if (!isSeq(value)) fail('overrides must be a list of { files, rules }', pair);
      for (const item of (value as { items: unknown[] }).items) overrides.push({ node: item });
      continue;
    }
    const spec = OPTION_SPECS.find((s) => s.flag === key)!;
    if (key === 'critical-tables' && isSeq(value)) {
      out.criticalTables = list(value, key).map((t) => t.trim()).filter(Boolean);
      continue;
    }
    const raw = out.options as Record<string, unknown>;
    if (spec.kind === 'multi') raw[spec.key] = list(value, key);
    else if (key === 'stages' && isSeq(value)) raw[spec.key] = list(value, key).join(',');
    else raw[spec.key] = scalar(value, key);
  }
  for (const [i, { node }] of overrides.entries()) {
    const where = `overrides[${i}]`;
    if (!isMap(node)) fail(`${where} must be a map with files and rules`, node as Node);
    const map = node as YAMLMap;
    let files: string[] | undefined;
    let ruleNode: unknown;
    for (const pair of map.items) {
      const key = keyOf(pair, ` in ${where}`, OVERRIDE_KEYS);
      if (key === 'files') files = list(pair.value, `${where}.files`);
      else ruleNode = pair.value;
    }
    if (!files || files.length === 0) fail(`${where} needs files: the path globs it applies to`, map);
    if (ruleNode === undefined) fail(`${where} needs rules: the levels it sets`, map);
    rules(ruleNode, `${where}.rules`, files);
  }
  return out;
}

/**
 * The options a run uses: each flag or input that was given, else the config file's value. A
 * value that is blank (or an empty list) counts as not given.
 */
export function withRepoConfig(raw: RawOptions, repo: RepoConfig | undefined): RawOptions {
  if (!repo) return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [k, v] of Object.entries(repo.options)) {
    const given = out[k];
    const blank = given === undefined || (typeof given === 'string' && given.trim() === '') || (Array.isArray(given) && given.length === 0);
    if (blank) out[k] = v;
  }
  return out as RawOptions;
}
