import * as exec from '@actions/exec';
import type { CommandRunner } from '../command-runner.js';

/**
 * Runs a command with the runner's own exec, so its output streams into the job log as well.
 * coreutils `timeout` enforces the limit (and kills what ignores SIGTERM); service containers,
 * and so this action, run on Linux runners, which have it.
 */
export const actionsCommand: CommandRunner = async (command, opts) => {
  const seconds = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const r = await exec.getExecOutput('timeout', ['--kill-after=10', String(seconds), 'bash', '-c', command], {
    cwd: opts.cwd,
    env: { ...(process.env as Record<string, string>), ...opts.env },
    ignoreReturnCode: true,
    silent: false,
  });
  // 124: timed out; 137: killed after ignoring the first signal.
  const timedOut = r.exitCode === 124 || r.exitCode === 137;
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`, timedOut };
};
