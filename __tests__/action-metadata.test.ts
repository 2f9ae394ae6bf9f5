import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isScalar, isMap, parseDocument, Scalar, type Pair } from 'yaml';
import { FORMATS, STAGE_NAMES } from '../src/config.js';
import { OPTION_SPECS } from '../src/options.js';
import { expressionProblems, marketplaceProblems, runnerProblems } from './support/action-metadata.js';
import { repoRoot } from './support/fixtures.js';

const actionYml = fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8');

/** The inputs of action.yml as YAML nodes, so quoting can be seen. */
function inputNodes(): Array<{ name: string; description: string; defaultNode: Scalar | undefined }> {
  const inputs = parseDocument(actionYml).get('inputs');
  if (!isMap(inputs)) throw new Error('action.yml has no inputs map');
  return (inputs.items as Pair[]).map((pair) => {
    const entry = pair.value;
    if (!isMap(entry)) throw new Error(`input ${String(pair.key)} is not a map`);
    const def = entry.get('default', true);
    return {
      name: String(isScalar(pair.key) ? pair.key.value : pair.key),
      description: String(entry.get('description') ?? ''),
      defaultNode: isScalar(def) ? def : undefined,
    };
  });
}

describe('the runner loads action.yml', () => {
  it('finds no expression the runner would refuse', () => {
    expect(runnerProblems(actionYml)).toEqual([]);
  });

  it('refuses what the runner refuses, where it refuses it', () => {
    const broken = [
      'name: x',
      'description: "Key, e.g. pg${{ matrix.postgres }}"',
      'inputs:',
      '  key:',
      '    description: a key',
      "    default: ${{ github.token }}-${{ hashFiles('**/x') }}-${{ steps.a.outputs.b }}",
      '  other:',
      '    description: "unclosed ${{ github.token"',
      'outputs:',
      '  o:',
      '    description: out',
      '    value: ${{ steps.a.outputs.b }}',
      'runs:',
      '  using: node24',
      '  main: dist/${{ inputs.x }}.js',
    ].join('\n');
    expect(runnerProblems(broken)).toEqual([
      "description: Unrecognized named-value: 'matrix'",
      "inputs.key.default: Unrecognized named-value: 'steps'",
      'inputs.other.description: an expression opened with ${{ is never closed with }}',
      "runs.main: Unrecognized named-value: 'inputs'",
    ]);
  });

  it('reads expressions as the expression language does', () => {
    const ctx = { namedValues: ['github'], functions: [] };
    expect(expressionProblems("${{ github.event['x-y'] && format('{0}', github.sha) || 'matrix' }}", ctx)).toEqual([]);
    expect(expressionProblems('${{ GitHub.token == null }}', ctx)).toEqual([]);
    expect(expressionProblems('${{ hashFiles(github.x) }} ${{ env.X }}', ctx)).toEqual(["Unrecognized function: 'hashFiles'", "Unrecognized named-value: 'env'"]);
    expect(expressionProblems('plain text with $ and {{ braces }}', { namedValues: [], functions: [] })).toEqual([]);
  });
});

describe('the Marketplace lists action.yml', () => {
  it('has a short description, a real author, branding, and every input and output described', () => {
    expect(marketplaceProblems(actionYml)).toEqual([]);
  });

  it('reports what keeps an action out of the Marketplace', () => {
    const poor = [
      'name: tool',
      `description: ${'x'.repeat(125)}`,
      'author: tool',
      'inputs:',
      '  a:',
      '    required: false',
      'outputs:',
      '  b:',
      "    description: ''",
      'runs: { using: node24, main: index.js }',
    ].join('\n');
    expect(marketplaceProblems(poor)).toEqual([
      'description: 125 characters, the Marketplace takes fewer than 125',
      'author: "tool" is a placeholder',
      'branding.icon: missing',
      'branding.color: "" is not one of white, black, yellow, blue, green, orange, red, purple, gray-dark',
      'inputs.a.description: missing',
      'outputs.b.description: missing',
    ]);
  });
});

describe('the inputs say what they take', () => {
  const inputs = inputNodes();

  it('writes every default as a quoted string, as the runner passes it', () => {
    for (const { name, defaultNode } of inputs) {
      if (!defaultNode) continue;
      expect(typeof defaultNode.value, name).toBe('string');
      expect(defaultNode.type, name).toBe(Scalar.QUOTE_SINGLE);
    }
  });

  it('gives the unit of every number', () => {
    for (const { name, description, defaultNode } of inputs) {
      if (!defaultNode || !/^\d+$/.test(String(defaultNode.value))) continue;
      // A ratio's unit is "times".
      expect(description, name).toMatch(/\b(milliseconds|rows|times)\b/);
    }
  });

  it('names the values of every switch and every list of choices', () => {
    const booleans = new Set(['comment', ...OPTION_SPECS.flatMap((s) => (s.kind === 'boolean' && s.input ? [s.input] : []))]);
    const choices: Record<string, readonly string[]> = { format: FORMATS, stages: STAGE_NAMES, snapshot: ['catalog', 'pg_dump'] };
    for (const { name, description } of inputs) {
      if (booleans.has(name)) expect(description, name).toMatch(/\btrue or false\b/);
      for (const value of choices[name] ?? []) expect(description, name).toContain(value);
    }
  });
});
