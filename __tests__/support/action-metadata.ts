/**
 * action.yml read the way the runner reads it, and the way the Marketplace lists it.
 *
 * The runner loads action metadata through a template schema (actions/runner,
 * src/Runner.Worker/action_yaml.json) and parses every `${{` it meets in any string. Each place
 * in the file allows a fixed set of named values (contexts) and functions; a place with none
 * listed (name, description, author, every input's and output's description, runs.main, ...)
 * allows none, so `${{ matrix.x }}` there fails every workflow at "Set up job" with
 * "Unrecognized named-value: 'matrix'".
 */
import { parse } from 'yaml';

interface ExpressionContext {
  namedValues: readonly string[];
  functions: readonly string[];
}

const NOTHING: ExpressionContext = { namedValues: [], functions: [] };
// input-default-context
const INPUT_DEFAULT: ExpressionContext = { namedValues: ['github', 'strategy', 'matrix', 'job', 'runner'], functions: ['hashFiles'] };
// output-value
const OUTPUT_VALUE: ExpressionContext = { namedValues: ['github', 'strategy', 'matrix', 'steps', 'inputs', 'job', 'runner', 'env'], functions: [] };
// container-runs-context, container-runs-env
const CONTAINER_RUNS: ExpressionContext = { namedValues: ['inputs'], functions: [] };
// string-steps-context, step-env, step-with (composite actions)
const COMPOSITE_STEP: ExpressionContext = {
  namedValues: ['github', 'inputs', 'strategy', 'matrix', 'steps', 'job', 'runner', 'env'],
  functions: ['hashFiles'],
};

/** Functions the expression language always has, wherever expressions are parsed. */
const BUILT_IN_FUNCTIONS = ['contains', 'startsWith', 'endsWith', 'format', 'join', 'toJSON', 'fromJSON'];
const LITERALS = ['true', 'false', 'null', 'NaN', 'Infinity'];

/** The schema's context for a value at this path of the document. */
function contextAt(keys: readonly (string | number)[]): ExpressionContext {
  const [top, , leaf] = keys;
  if (top === 'inputs' && keys.length === 3 && leaf === 'default') return INPUT_DEFAULT;
  if (top === 'outputs' && keys.length === 3 && leaf === 'value') return OUTPUT_VALUE;
  if (top === 'runs' && (keys[1] === 'args' || keys[1] === 'env')) return CONTAINER_RUNS;
  if (top === 'runs' && keys[1] === 'steps' && keys.length >= 4 && keys[3] !== 'id' && keys[3] !== 'shell' && keys[3] !== 'uses') {
    return COMPOSITE_STEP;
  }
  return NOTHING;
}

/** What the runner would reject in one string value, or [] when it loads. */
export function expressionProblems(value: string, context: ExpressionContext): string[] {
  const problems: string[] = [];
  let at = value.indexOf('${{');
  while (at >= 0) {
    const body = value.slice(at + 3);
    const close = closingBraces(body);
    if (close < 0) {
      problems.push('an expression opened with ${{ is never closed with }}');
      break;
    }
    const expr = body.slice(0, close).replace(/'(?:[^']|'')*'/g, "''");
    for (const m of expr.matchAll(/(?<![\w.\-])([A-Za-z_][\w-]*)(?=(\s*\()?)/g)) {
      const name = m[1]!;
      const isCall = m[2] !== undefined;
      if (isCall) {
        const known = [...BUILT_IN_FUNCTIONS, ...context.functions].some((f) => f.toLowerCase() === name.toLowerCase());
        if (!known) problems.push(`Unrecognized function: '${name}'`);
      } else if (!LITERALS.includes(name) && !context.namedValues.includes(name.toLowerCase())) {
        problems.push(`Unrecognized named-value: '${name}'`);
      }
    }
    at = value.indexOf('${{', at + 3 + close + 2);
  }
  return problems;
}

/** Index of the `}}` that ends an expression body, skipping string literals; -1 if none. */
function closingBraces(body: string): number {
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "'") inString = !inString;
    else if (!inString && body.startsWith('}}', i)) return i;
  }
  return -1;
}

/** Every string in the document that the runner would refuse, as `path: problem`. */
export function runnerProblems(actionYml: string): string[] {
  const doc = parse(actionYml) as unknown;
  const out: string[] = [];
  const walk = (node: unknown, keys: Array<string | number>): void => {
    if (typeof node === 'string') {
      for (const p of expressionProblems(node, contextAt(keys))) out.push(`${keys.join('.')}: ${p}`);
    } else if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, [...keys, i]));
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        // Keys are parsed too (loose-key-type non-empty-string, no context).
        for (const p of expressionProblems(k, NOTHING)) out.push(`${[...keys, k].join('.')} (key): ${p}`);
        walk(v, [...keys, k]);
      }
    }
  };
  walk(doc, []);
  if (doc === null || typeof doc !== 'object' || !('runs' in doc)) out.push('runs: missing');
  return out;
}

/** The colours the Marketplace accepts for `branding.color`. */
export const BRANDING_COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'];

interface ActionMetadata {
  name?: unknown;
  description?: unknown;
  author?: unknown;
  branding?: { icon?: unknown; color?: unknown };
  inputs?: Record<string, { description?: unknown } | null>;
  outputs?: Record<string, { description?: unknown } | null>;
}

/** What would keep the action out of the Marketplace, or mislead its listing. */
export function marketplaceProblems(actionYml: string): string[] {
  const doc = parse(actionYml) as ActionMetadata;
  const out: string[] = [];
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const name = text(doc.name);
  const description = text(doc.description);
  const author = text(doc.author);
  if (name === '') out.push('name: missing');
  if (description === '') out.push('description: missing');
  else if (description.length >= 125) out.push(`description: ${description.length} characters, the Marketplace takes fewer than 125`);
  if (author === '') out.push('author: missing');
  else if (author.toLowerCase() === name.toLowerCase() || /^(org|owner|me|todo|tbd|your[ -]?name|author|example|name)$/i.test(author)) {
    out.push(`author: "${author}" is a placeholder`);
  }
  if (text(doc.branding?.icon) === '') out.push('branding.icon: missing');
  if (!BRANDING_COLORS.includes(text(doc.branding?.color))) out.push(`branding.color: "${text(doc.branding?.color)}" is not one of ${BRANDING_COLORS.join(', ')}`);
  for (const section of ['inputs', 'outputs'] as const) {
    for (const [key, entry] of Object.entries(doc[section] ?? {})) {
      if (text(entry?.description) === '') out.push(`${section}.${key}.description: missing`);
    }
  }
  return out;
}
