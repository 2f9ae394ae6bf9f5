/** Writes migration-ci.schema.json (the repository config file for editors) from the option table and the rule catalogue: `npx tsx scripts/write-config-schema.ts`. */
import fs from 'node:fs';
import { OPTION_SPECS } from '../src/options.js';
import { REPO_CONFIG_OPTIONS, RULE_LEVELS, knownRules } from '../src/repo-config.js';
import { RULES } from '../src/report/rules.js';
const level = { enum: [...RULE_LEVELS, false], description: 'off, notice, warning or error' };
const rules = { type: 'object', description: 'Rule levels: off drops the finding; notice, warning and error set its severity (error fails the run).', additionalProperties: false, properties: Object.fromEntries(knownRules().map((id) => [id, { ...level, description: RULES.find((r) => r.id === id)!.title }])) };
const props: Record<string, unknown> = { $schema: { type: 'string' } };
for (const key of REPO_CONFIG_OPTIONS) {
  const s = OPTION_SPECS.find((o) => o.flag === key)!;
  const description = `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}; the --${s.flag} flag and the ${s.input} input override it`;
  if (s.kind === 'multi') props[key] = { description, oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
  else if (s.kind === 'boolean') props[key] = { description, type: 'boolean' };
  else if (key === 'stages' || key === 'critical-tables') props[key] = { description: key === 'critical-tables' ? `${description}; or the tables themselves, as a list` : description, oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
  else if (/rows|-ms|timeout/.test(key) && key !== 'production-rows') props[key] = { description, oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string' }] };
  else props[key] = { description, type: 'string' };
}
props.rules = rules;
props.overrides = { type: 'array', description: 'Rule levels for some files only; a later entry wins over an earlier one and over rules.', items: { type: 'object', additionalProperties: false, required: ['files', 'rules'], properties: { files: { description: 'path globs (picomatch), relative to the repository root, e.g. migrations/legacy/**', oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }] }, rules } } };
const schema = { $schema: 'http://json-schema.org/draft-07/schema#', $id: 'https://raw.githubusercontent.com/org/migration-ci/main/migration-ci.schema.json', title: 'migration-ci repository config (.migration-ci.yml)', type: 'object', additionalProperties: false, properties: props };
fs.writeFileSync(new URL('../migration-ci.schema.json', import.meta.url), JSON.stringify(schema, null, 2) + '\n');
