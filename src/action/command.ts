import * as exec from '@actions/exec';
import type { CommandRunner } from '../stages/command.js';

/** Runs a command with the runner's own exec, so its output streams into the job log as well. */
export const actionsCommand: CommandRunner = async (command, opts) => {
  let timedOut = false;
  const controller = setTimeout(() => {
    timedOut = true;
  }, opts.timeoutMs);
  try {
    const r = await exec.getExecOutput('bash', ['-c', command], {
      cwd: opts.cwd,
      env: { ...(process.env as Record<string, string>), ...opts.env },
      ignoreReturnCode: true,
      silent: false,
    });
    return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`, timedOut };
  } finally {
    clearTimeout(controller);
  }
};
