import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { buildConfig, parseBoolean, type Config, type RawOptions } from '../config.js';
import { OPTION_SPECS } from '../options.js';

export interface ActionSettings {
  config: Config;
  githubToken: string;
  /** Post or update one sticky comment on the pull request. */
  comment: boolean;
  /** Where the JSON report goes (an input, or a file in the runner's temp folder). */
  reportPath: string;
}

/** Action inputs -> the typed config both front ends share. */
export function readInputs(env: NodeJS.ProcessEnv): ActionSettings {
  const root = env.GITHUB_WORKSPACE || process.cwd();
  const raw: Record<string, unknown> = {};
  for (const s of OPTION_SPECS) {
    if (!s.input) continue;
    raw[s.key] = s.kind === 'multi' ? core.getMultilineInput(s.input) : core.getInput(s.input);
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
  raw.baseRef = (raw.baseRef as string) || pullRequestBase(env);
  const config = buildConfig(root, raw as RawOptions);
  return {
    config,
    githubToken: core.getInput('github-token'),
    comment: parseBoolean('comment', core.getInput('comment')),
    // Without an input the report still exists, in the runner's temp folder (outside the workspace, on purpose).
    reportPath: config.reportJson ?? path.join(env.RUNNER_TEMP || os.tmpdir(), 'migration-ci-report.json'),
  };
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
