import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

const GLOB_CHARS = /[*?[]/;

/** One path segment of a glob as a regular expression: `*`, `?` and `[...]`; a leading dot is matched only by a dot. */
function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Files under `dir` matching the glob segments; `**` matches any number of folders. */
function matchSegments(dir: string, segments: string[], out: Set<string>): void {
  if (segments.length === 0) {
    if (fs.statSync(dir, { throwIfNoEntry: false })?.isFile()) out.add(dir);
    return;
  }
  const [first, ...rest] = segments as [string, ...string[]];
  if (first === '**') {
    matchSegments(dir, rest, out);
    for (const e of listDir(dir)) if (e.isDirectory() && !e.name.startsWith('.')) matchSegments(path.join(dir, e.name), segments, out);
    return;
  }
  if (!GLOB_CHARS.test(first)) {
    matchSegments(path.join(dir, first), rest, out);
    return;
  }
  const re = segmentRegex(first);
  for (const e of listDir(dir)) {
    if (e.name.startsWith('.') && !first.startsWith('.')) continue;
    if (re.test(e.name)) matchSegments(path.join(dir, e.name), rest, out);
  }
}

/**
 * The report files named by the `merge-reports` input: one path or glob a line (`*`, `?`,
 * `[...]`, `**`), relative to the workspace. A line that matches nothing is an error: a shard
 * whose report did not arrive must not pass silently.
 */
export function resolveReportFiles(root: string, patterns: readonly string[]): string[] {
  const files = new Set<string>();
  for (const raw of patterns) {
    const pattern = raw.trim();
    if (pattern === '' || pattern.startsWith('#')) continue;
    const abs = path.resolve(root, pattern);
    const found = new Set<string>();
    if (!GLOB_CHARS.test(pattern)) {
      if (fs.statSync(abs, { throwIfNoEntry: false })?.isFile()) found.add(abs);
    } else {
      const { root: fsRoot } = path.parse(abs);
      matchSegments(fsRoot, abs.slice(fsRoot.length).split(path.sep).filter(Boolean), found);
    }
    if (found.size === 0) throw new InputError('input', `merge-reports: ${pattern} matches no report file`);
    for (const f of [...found].sort()) files.add(f);
  }
  if (files.size === 0) throw new InputError('usage', 'merge-reports names no report file');
  return [...files];
}
