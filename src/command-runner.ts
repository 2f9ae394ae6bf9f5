/**
 * Runs a user's shell command (a data test command, a migration tool's up/down step). The engine
 * does not start processes itself: each front end supplies this (the action through @actions/exec).
 */
export interface CommandResult {
  exitCode: number;
  /** stdout and stderr interleaved as far as the runner can tell; callers keep the tail. */
  output: string;
  timedOut: boolean;
}

export type CommandRunner = (
  command: string,
  opts: { cwd: string; env: Record<string, string>; timeoutMs: number },
) => Promise<CommandResult>;

/** Last `maxLines` lines of a command's output, for findings. */
export function outputTail(output: string, maxLines = 40): string {
  const lines = output.replace(/\s+$/, '').split('\n');
  return lines.length <= maxLines ? lines.join('\n') : [`… ${lines.length - maxLines} earlier lines`, ...lines.slice(-maxLines)].join('\n');
}
