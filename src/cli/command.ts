import { spawn } from 'node:child_process';
import type { CommandRunner } from '../command-runner.js';

/** Runs a command through the shell, capturing output; a timeout kills its whole process group. */
export const spawnCommand: CommandRunner = (command, opts) =>
  new Promise((resolve) => {
    const child = spawn(command, {
      shell: true,
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const keep = (d: Buffer) => {
      output += d.toString('utf8');
      // Keep memory bounded on chatty commands: only the tail is ever shown.
      if (output.length > 1_000_000) output = output.slice(-500_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, output: `${output}${e.message}\n`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? (signal ? 128 : 1), output, timedOut });
    });
  });
