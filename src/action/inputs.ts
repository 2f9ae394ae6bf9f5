import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { buildConfig, parseBoolean, type Config, type RawOptions } from '../config.js';
import { InputError } from '../errors.js';
import { OPTION_SPECS } from '../options.js';
import type { SourceLinks } from '../report/summary.js';
import { resolveReportFiles } from './report-files.js';

/** Where the results go: files, outputs, the pull request. */
export interface PublishSettings {
  /** Workspace root; SARIF paths are relative to it. */
  root: string;
  /** Where the JSON report goes (an input, or a file in the runner's temp folder). */
  reportPath: string;
  /** Where the SARIF log goes, when asked for. */
  sarifPath: string | undefined;
  /** Where the job summary markdown goes (the `summary-markdown` output). */
  summaryPath: string;
  githubToken: string;
  /** Post or update one sticky comment on the pull request. */
  comment: boolean;
  /** Tells apart the comments of jobs that share a job id (matrix legs). */
  commentKey: string | undefined;
}

export interface ActionSettings extends PublishSettings {
  config: Config;
}

export interface MergeSettings extends PublishSettings {
  /** Report files to merge, absolute. */
  reports: string[];
}

/** Inputs that only the action has (the CLI has no pull request to comment on). */
function publishInputs(env: NodeJS.ProcessEnv, root: string, reportJson: string | undefined, sarif: string | undefined): PublishSettings {
  const temp = env.RUNNER_TEMP || os.tmpdir();
  const key = core.getInput('comment-key').trim();
  return {
    root,
    // Without an input the report still exists, in the runner's temp folder (outside the workspace, on purpose).
    reportPath: reportJson ?? path.join(temp, 'migration-ci-report.json'),
    sarifPath: sarif,
    summaryPath: path.join(temp, 'migration-ci-summary.md'),
    githubToken: core.getInput('github-token'),
    comment: parseBoolean('comment', core.getInput('comment')),
    commentKey: key === '' ? undefined : key,
  };
}

function workspace(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.GITHUB_WORKSPACE || process.cwd());
}

/** A migrations folder that is (or sits under) a symlink out of the workspace is refused like `..`. */
function refuseLinkOutside(root: string, dir: string): void {
  let real: string;
  let realRoot: string;
  try {
    real = fs.realpathSync(dir);
    realRoot = fs.realpathSync(root);
  } catch {
    return; // discovery says the folder is missing
  }
  const rel = path.relative(realRoot, real);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new InputError('usage', `migrations dir "${path.relative(root, dir)}" resolves to ${real}, outside the workspace ${root}`);
  }
}

/** Action inputs -> the typed config both front ends share. */
export function readInputs(env: NodeJS.ProcessEnv): ActionSettings {
  const root = workspace(env);
  const raw: Record<string, unknown> = {};
  for (const s of OPTION_SPECS) {
    if (!s.input) continue;
    raw[s.key] = s.kind === 'multi' ? core.getMultilineInput(s.input) : core.getInput(s.input);
    // The runner fills in action.yml's defaults: an input at its default leaves the repository config file in charge.
    if (s.default !== undefined && raw[s.key] === s.default) raw[s.key] = '';
  }
  const databaseUrl = (raw.databaseUrl as string) || env.DATABASE_URL || '';
  if (databaseUrl) {
    try {
      const password = decodeURIComponent(new URL(databaseUrl).password);
      if (password) core.setSecret(password);
    } catch {
      // buildConfig reports the malformed URL.
    }
    core.setSecret(databaseUrl);
  }
  raw.databaseUrl = databaseUrl;
  const guessedBase = (raw.baseRef as string) ? undefined : pullRequestBase(env);
  raw.baseRef = (raw.baseRef as string) || guessedBase;
  const config = buildConfig(root, raw as RawOptions, { paths: 'workspace' });
  refuseLinkOutside(config.root, config.dir);
  config.baseRefOptional = guessedBase !== undefined;
  return { config, ...publishInputs(env, config.root, config.reportJson, config.sarif) };
}

/** The `merge-reports` input: one path or glob a line; empty when the action runs the migrations. */
export function mergePatterns(): string[] {
  return core.getMultilineInput('merge-reports');
}

/** Settings of a merge run: no database, the reports to merge, and where the results go. */
export function readMergeInputs(env: NodeJS.ProcessEnv, patterns: readonly string[]): MergeSettings {
  const root = workspace(env);
  const file = (name: string) => {
    const v = core.getInput(name).trim();
    return v === '' ? undefined : path.resolve(root, v);
  };
  return { reports: resolveReportFiles(root, patterns), ...publishInputs(env, root, file('report-json'), file('sarif')) };
}

/** On a pull request, its base commit: migrations there are the baseline. On a push, none. */
export function pullRequestBase(env: NodeJS.ProcessEnv): string | undefined {
  const event = env.GITHUB_EVENT_NAME ?? '';
  if (!event.startsWith('pull_request') || !env.GITHUB_EVENT_PATH) return undefined;
  try {
    const payload = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { pull_request?: { base?: { sha?: string } } };
    return payload.pull_request?.base?.sha || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the files under test are on GitHub: the pull request's head commit (the merge commit
 * GITHUB_SHA names on a pull request is not kept), else GITHUB_SHA; undefined outside a runner.
 */
export function sourceLinks(env: NodeJS.ProcessEnv): SourceLinks | undefined {
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com';
  const repository = env.GITHUB_REPOSITORY;
  let sha = env.GITHUB_SHA;
  if ((env.GITHUB_EVENT_NAME ?? '').startsWith('pull_request') && env.GITHUB_EVENT_PATH) {
    try {
      const payload = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { pull_request?: { head?: { sha?: string } } };
      sha = payload.pull_request?.head?.sha || sha;
    } catch {
      // GITHUB_SHA still names a commit that holds the files.
    }
  }
  return repository && sha ? { serverUrl, repository, sha } : undefined;
}
