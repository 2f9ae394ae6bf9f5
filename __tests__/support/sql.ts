import { beforeAll } from 'vitest';
import { loadParser, parseSource, type ParsedSource, type Statement } from '../../src/sql/parse.js';

/** Loads the parser before the tests of the file that imports this. */
beforeAll(async () => {
  await loadParser();
});

/** Parses SQL that must parse; a parse error fails the test with the parser's message. */
export function parse(text: string): ParsedSource {
  const r = parseSource({ file: 'm.sql', text });
  if (!r.ok) throw new Error(`unexpected parse error: ${r.error.message}`);
  return r.parsed;
}

export function statements(text: string): Statement[] {
  return parse(text).statements;
}
