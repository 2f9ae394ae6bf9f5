import { spawn, type SpawnOptions } from 'node:child_process';

/**
 * A process run to its end without blocking the test worker (a synchronous spawn stalls the
 * worker's messages to vitest for as long as the child runs).
 */
export function runProcess(file: string, args: string[], opts: SpawnOptions = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
