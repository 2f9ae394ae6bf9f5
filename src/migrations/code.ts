import path from 'node:path';
import { InputError } from '../errors.js';
import { compareVersions, listFolder, relativePath } from './files.js';
import { describeDetection, explainFolder } from './detect.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration } from './types.js';

// knex `20240101120000_name.js`, node-pg-migrate `1700000000000_name.js`, Alembic `abc123_name.py`
// is ordered by its own graph and run by its tool: only the count and the names matter to us.
const FILE = /^(\d+)[_-](.+)\.(?:js|cjs|mjs|ts|cts|mts|py|rb|sql|go)$/;

/**
 * Migrations that are code, moved by the project's own tool (`--up-command`): one file is one
 * step. The files are listed for names and order; their text is never parsed or run by us.
 */
export function discoverCodeMigrations(root: string, dir: string, hasDown: boolean): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  const migrations: Migration[] = [];
  const seen = new Map<string, string>();
  for (const entry of listFolder(root, dir, 'migrations folder')) {
    if (entry.name.startsWith('.') || !entry.isFile()) continue;
    const rel = relativePath(root, path.join(dir, entry.name));
    const m = FILE.exec(entry.name);
    if (!m) {
      notices.push({ file: rel, message: `${rel} does not look like a migration step (<version>_<name>.<ext>); skipped` });
      continue;
    }
    const [, version, name] = m as unknown as [string, string, string];
    const other = seen.get(version);
    if (other) throw new InputError('input', `duplicate migration version ${version}: ${other} and ${rel}`, { file: rel });
    seen.set(version, rel);
    const source = { file: rel, text: '' };
    migrations.push({ version, name, up: source, down: hasDown ? source : undefined, underTest: true, code: true });
  }
  if (migrations.length === 0) {
    // A command run over nothing would pass having tested nothing.
    const looks = explainFolder(root, dir);
    const sql = looks.format ? `; ${describeDetection(looks)}, whose SQL migration-ci runs itself: drop up-command and down-command` : `: ${looks.because}`;
    throw new InputError('input', `no migrations found in ${relativePath(root, dir) || '.'} for up-command: no file named <version>_<name>.<ext>${sql}`);
  }
  migrations.sort((a, b) => compareVersions(a.version, b.version));
  return { format: 'command', migrations, notices };
}
