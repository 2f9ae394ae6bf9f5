/**
 * Regenerates docs/summary.png, the README's picture of a job summary, from a real run: the CLI
 * tests examples/broken against a real Postgres, `merge-reports` prints the run's summary
 * markdown, `marked` renders it as GitHub-flavoured markdown in GitHub's look, and headless
 * Chromium takes the picture.
 *
 *   npx tsx scripts/summary-picture.ts [--database-url URL] [--out FILE]
 *
 * The server defaults to $DATABASE_URL, then postgres://postgres@127.0.0.1:5432/postgres. Needs
 * `chromium` on the PATH (Debian: `apt-get install -y chromium fonts-noto-color-emoji`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { marked } from 'marked';
import { runCli } from '../src/cli/main.js';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { 'database-url': { type: 'string' }, out: { type: 'string' } } });
const url = values['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const out = path.resolve(values.out ?? path.join(root, 'docs/summary.png'));
/** GitHub's job summary column is about this wide on a 1280 px window. */
const WIDTH = 948;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-picture-'));
try {
  const reportFile = path.join(work, 'report.json');
  const run = await cli(['--dir', 'examples/broken', '--database-url', url, '--report-json', reportFile]);
  if (run.code === 2 || !fs.existsSync(reportFile)) throw new Error(`the run did not give a verdict (exit ${run.code}):\n${run.stderr}`);
  const summary = await cli(['merge-reports', reportFile]);
  fs.writeFileSync(path.join(work, 'summary.md'), summary.stdout);

  const html = page(await marked.parse(summary.stdout, { gfm: true }));
  const htmlFile = path.join(work, 'summary.html');
  fs.writeFileSync(htmlFile, html);
  // First the page's height (a script writes it into the DOM), then the picture at that height.
  const dom = chromium(['--dump-dom', `file://${htmlFile}`]);
  const height = Number(/data-height="(\d+)"/.exec(dom)?.[1]);
  if (!Number.isFinite(height) || height <= 0) throw new Error('could not read the page height from Chromium');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  chromium([`--screenshot=${out}`, `--window-size=${WIDTH + 2 * 16},${height}`, `file://${htmlFile}`]);
  if (!fs.existsSync(out)) throw new Error('Chromium wrote no picture');
  process.stdout.write(`${path.relative(root, out)}: ${WIDTH + 2 * 16}×${height} px, from a run of examples/broken on ${new URL(url).host}\n`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false });
  return { code, stdout, stderr };
}

function chromium(args: string[]): string {
  // A profile of its own each time, and nothing that talks to the network.
  const profile = fs.mkdtempSync(path.join(work, 'profile-'));
  const r = spawnSync(
    'chromium',
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--force-device-scale-factor=1',
      `--user-data-dir=${profile}`, `--window-size=${WIDTH + 2 * 16},800`, ...args,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.error) throw new Error(`chromium could not be started: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The rendered markdown in the look of GitHub's markdown (light theme), in a job summary's frame. */
function page(body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><style>
  html { background: #f6f8fa; }
  body { margin: 0; padding: 16px; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif, "Apple Color Emoji", "Noto Color Emoji";
         font-size: 14px; line-height: 1.5; color: #1f2328; }
  .frame { box-sizing: border-box; width: ${WIDTH}px; background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; padding: 16px 24px; overflow: hidden; }
  h2 { font-size: 1.5em; font-weight: 600; margin: 8px 0 16px; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; }
  h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
  p, ul, table, pre, details { margin: 0 0 16px; }
  ul { padding-left: 2em; }
  li + li { margin-top: .25em; }
  li > p { margin: 16px 0 0; }
  code { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 85%;
         padding: .2em .4em; background: #818b981f; border-radius: 6px; }
  pre { padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; background: #f6f8fa; border-radius: 6px; }
  pre code { padding: 0; background: transparent; font-size: 100%; }
  table { border-spacing: 0; border-collapse: collapse; display: block; max-width: 100%; overflow: auto; }
  th, td { padding: 6px 13px; border: 1px solid #d1d9e0; }
  th { font-weight: 600; }
  tr:nth-child(2n) { background: #f6f8fa; }
  summary { cursor: pointer; }
  sub { font-size: 75%; }
  a { color: #0969da; text-decoration: none; }
</style></head>
<body><div class="frame">${body}</div>
<script>document.body.setAttribute('data-height', String(Math.ceil(document.documentElement.getBoundingClientRect().height)));</script>
</body></html>
`;
}
