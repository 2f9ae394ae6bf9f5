import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTION_SPECS } from '../src/options.js';
import { repoRoot } from './support/fixtures.js';

const actionYml = fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8');

/** Names of the entries of a top-level map of action.yml (`inputs:`, `outputs:`). */
function entries(section: string): string[] {
  const body = actionYml.split(new RegExp(`^${section}:\\n`, 'm'))[1]!.split(/^\S/m)[0]!;
  return [...body.matchAll(/^ {2}([a-z-]+):/gm)].map((m) => m[1]!);
}

const ACTION_ONLY = ['comment', 'comment-key', 'merge-reports', 'github-token'];

describe('action.yml', () => {
  it('declares exactly the inputs the option table and the action read', () => {
    const fromSpecs = OPTION_SPECS.flatMap((s) => (s.input ? [s.input] : []));
    expect(entries('inputs').sort()).toEqual([...fromSpecs, ...ACTION_ONLY].sort());
    const read = new Set<string>();
    for (const file of fs.readdirSync(path.join(repoRoot, 'src/action'))) {
      const text = fs.readFileSync(path.join(repoRoot, 'src/action', file), 'utf8');
      for (const m of text.matchAll(/get(?:Multiline|Boolean)?Input\('([a-z-]+)'/g)) read.add(m[1]!);
    }
    for (const name of read) expect(entries('inputs')).toContain(name);
  });

  it('declares the outputs the action sets, and runs the bundle on node24', () => {
    expect(entries('outputs').sort()).toEqual(['errors', 'report', 'sarif', 'summary-markdown', 'verdict', 'warnings']);
    expect(actionYml).toMatch(/^runs:\n {2}using: node24\n {2}main: dist\/index\.js$/m);
  });

  it('documents every input in the README', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    for (const name of entries('inputs')) expect(readme, name).toContain(`| \`${name}\``);
  });
});
