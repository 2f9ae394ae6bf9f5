import * as core from '@actions/core';
import { buildConfig, type Config } from '../config.js';

export interface ActionSettings {
  config: Config;
  githubToken: string;
  /** Where the JSON report goes (an input, or a file in the runner's temp folder). */
  reportPath: string;
}

/** Action inputs -> the typed config both front ends share. */
export function readInputs(env: NodeJS.ProcessEnv): ActionSettings {
  const root = env.GITHUB_WORKSPACE || process.cwd();
  const databaseUrl = core.getInput('database-url') || env.DATABASE_URL || '';
  if (databaseUrl) {
    try {
      const password = decodeURIComponent(new URL(databaseUrl).password);
      if (password) core.setSecret(password);
    } catch {
      // buildConfig reports the malformed URL.
    }
    core.setSecret(databaseUrl);
  }
  const reportInput = core.getInput('report-json');
  const config = buildConfig(root, {
    dir: core.getInput('migrations-dir'),
    format: core.getInput('format'),
    databaseUrl,
    stages: core.getInput('stages'),
    dataTests: core.getInput('data-tests'),
    perfRows: core.getInput('perf-rows'),
    perfThresholdMs: core.getInput('perf-threshold-ms'),
    criticalTables: core.getInput('critical-tables'),
    baseRef: core.getInput('base-ref'),
    reportJson: reportInput || `${env.RUNNER_TEMP || root}/migration-ci-report.json`,
    seedRows: core.getInput('seed-rows'),
    connectTimeoutMs: core.getInput('connect-timeout'),
  });
  return { config, githubToken: core.getInput('github-token'), reportPath: config.reportJson! };
}
