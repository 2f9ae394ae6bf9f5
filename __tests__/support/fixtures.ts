import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { buildConfig, type Config, type RawOptions } from '../../src/config.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A throwaway repository holding the given files; removed after the test file. */
export function makeRepo(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-repo-'));
  made.push(root);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return root;
}

export function configFor(root: string, databaseUrl: string, raw: RawOptions = {}): Config {
  return buildConfig(root, { dir: 'migrations', databaseUrl, ...raw });
}

/** Scratch databases this process created that still exist (names carry the pid). */
export async function leftoverScratchDatabases(url: string, pid = process.pid): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [
      `mci\\_%\\_${pid.toString(36)}\\_%`,
    ]);
    return r.rows.map((x) => x.datname);
  } finally {
    await c.end();
  }
}

export const repoRoot = path.resolve(import.meta.dirname, '../..');
