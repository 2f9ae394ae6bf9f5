import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ActionRun {
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
  summary: string;
  outputs: Record<string, string>;
  /** Contents of the file the `report` output names, read before the runner's temp folder goes. */
  reportText: string | undefined;
  /** Contents of the file the `summary-markdown` output names. */
  summaryMarkdown: string | undefined;
}

/** Parses the runner's `name<<delimiter` file format of GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (m) {
      const [, name, delim] = m as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      out[name] = value.join('\n');
    } else if (lines[i]!.includes('=')) {
      const [k, ...v] = lines[i]!.split('=');
      out[k!] = v.join('=');
    }
  }
  return out;
}

export interface ActionRunOptions {
  workspace: string;
  env?: Record<string, string>;
  signalAfterMs?: { signal: NodeJS.Signals; ms: number };
}

/**
 * Runs the built action (dist/index.js) as the runner does: inputs as INPUT_* variables,
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, workflow commands on stdout.
 */
export async function runBuiltAction(distEntry: string, inputs: Record<string, string>, opts: ActionRunOptions): Promise<ActionRun> {
  return runActionProcess([distEntry], inputs, opts);
}

/** Runs the action from source (src/index.ts through tsx), with the same contract as the built one. */
export async function runSourceAction(inputs: Record<string, string>, opts: ActionRunOptions): Promise<ActionRun> {
  const repo = path.resolve(import.meta.dirname, '../..');
  const tsxLoader = pathToFileURL(path.join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
  return runActionProcess(['--import', tsxLoader, path.join(repo, 'src/index.ts')], inputs, opts);
}

async function runActionProcess(args: string[], inputs: Record<string, string>, opts: ActionRunOptions): Promise<ActionRun> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-runner-'));
  const outputFile = path.join(tmp, 'output');
  const summaryFile = path.join(tmp, 'summary');
  fs.writeFileSync(outputFile, '');
  fs.writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmp,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: tmp,
    ...opts.env,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  const child = spawn(process.execPath, args, { cwd: opts.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (opts.signalAfterMs) {
    const { signal, ms } = opts.signalAfterMs;
    setTimeout(() => child.kill(signal), ms);
  }
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const outputs = parseOutputFile(fs.readFileSync(outputFile, 'utf8'));
  const result = {
    pid: child.pid ?? -1,
    code,
    stdout,
    stderr,
    summary: fs.readFileSync(summaryFile, 'utf8'),
    outputs,
    reportText: outputs.report && fs.existsSync(outputs.report) ? fs.readFileSync(outputs.report, 'utf8') : undefined,
    summaryMarkdown: outputs['summary-markdown'] && fs.existsSync(outputs['summary-markdown']) ? fs.readFileSync(outputs['summary-markdown'], 'utf8') : undefined,
  };
  fs.rmSync(tmp, { recursive: true, force: true });
  return result;
}
