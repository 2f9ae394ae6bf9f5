import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { RawOptions } from '../config.js';
import { InputError } from '../errors.js';
import { OPTION_SPECS } from '../options.js';

const FRONT_END_FLAGS = [
  ['no-color', 'plain output, no ANSI colours'],
  ['github-annotations', 'also print GitHub workflow commands (::error file=...)'],
  ['help', 'this text (-h)'],
  ['version', 'the version'],
] as const;

function usage(): string {
  const rows: Array<[string, string]> = OPTION_SPECS.map((s) => {
    const flag = `--${s.flag}${s.kind === 'boolean' ? '' : ` ${'arg' in s ? s.arg : 'VALUE'}`}`;
    const def = s.default !== undefined && s.kind !== 'boolean' ? ` (default: ${s.default})` : '';
    return [flag, `${s.help}${def}`];
  });
  for (const [flag, help] of FRONT_END_FLAGS) rows.push([`--${flag}`, help]);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    'Usage: migration-ci [options]',
    '       migration-ci merge-reports [--report-json FILE] [--sarif FILE] REPORT.json...',
    '       migration-ci stats --database-url URL [--output FILE] [--with-values]   (see stats --help)',
    '',
    'Tests PostgreSQL migrations against a real Postgres: every migration applies on populated',
    'tables, rolls back cleanly, keeps its data, and is measured at volume.',
    '',
    'merge-reports combines the JSON reports of the shards of a run (--shard I/N) into one and',
    'prints its summary as markdown; it exits 0 or 1 by the merged verdict.',
    '',
    'Options:',
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`),
    '',
    'Exit codes: 0 pass, 1 fail, 2 bad usage, bad input or no database.',
    '',
  ].join('\n');
}

export const USAGE = usage();

export interface CliArgs {
  raw: RawOptions;
  color: boolean | undefined;
  githubAnnotations: boolean;
  help: boolean;
  version: boolean;
  positionals: string[];
}

export function parseCliArgs(argv: string[], opts: { allowPositionals?: boolean } = {}): CliArgs {
  const options: NonNullable<ParseArgsConfig['options']> = {
    color: { type: 'boolean' },
    'no-color': { type: 'boolean' },
    'github-annotations': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const s of OPTION_SPECS) {
    options[s.flag] = s.kind === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: s.kind === 'multi' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: opts.allowPositionals === true, strict: true, options });
  } catch (e) {
    // Node's messages name the flag; keep them, drop the error-code prefix.
    throw new InputError('usage', `${(e as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, '')} (see --help)`);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const raw: Record<string, unknown> = {};
  for (const s of OPTION_SPECS) raw[s.key] = v[s.flag];
  return {
    raw: raw as RawOptions,
    color: v['no-color'] ? false : (v.color as boolean | undefined),
    githubAnnotations: v['github-annotations'] === true,
    help: v.help === true,
    version: v.version === true,
    positionals: parsed.positionals,
  };
}
