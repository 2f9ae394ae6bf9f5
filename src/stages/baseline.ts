import { performance } from 'node:perf_hooks';
import { applyWhole } from '../db/execute.js';
import type { ScratchServer } from '../db/scratch.js';
import type { Finding } from '../report/model.js';
import type { ProgressEvent } from '../report/terminal.js';
import type { PreparedMigration } from './context.js';
import { failureFinding } from './syntax.js';

/**
 * Applies the leading baseline migrations once into a template database that every stage then
 * clones (a file copy on the server), instead of each stage applying them again.
 */
export async function buildBaselineTemplate(
  server: ScratchServer,
  migrations: PreparedMigration[],
  progress: (e: ProgressEvent) => void,
): Promise<{ template: { name: string; count: number } | undefined; findings: Finding[] }> {
  let count = 0;
  while (count < migrations.length && !migrations[count]!.migration.underTest && migrations[count]!.up.ok) count++;
  if (count === 0) return { template: undefined, findings: [] };
  const db = await server.createDatabase();
  const client = await server.connect(db);
  const findings: Finding[] = [];
  try {
    for (const prepared of migrations.slice(0, count)) {
      const t0 = performance.now();
      const up = prepared.up.ok ? prepared.up.parsed : undefined;
      if (!up) break;
      const r = await applyWhole(client, up);
      const m = prepared.migration;
      progress({ kind: 'migration', stage: 'syntax', version: m.version, name: m.name, status: r.ok ? 'baseline' : 'fail', durationMs: performance.now() - t0 });
      if (!r.ok) {
        findings.push(failureFinding(prepared, up, r.failure!, 'baseline-failed', 'error', `baseline migration fails: ${r.failure!.message}`));
        return { template: undefined, findings };
      }
    }
  } finally {
    // A template must have no open connection when it is cloned.
    await client.end().catch(() => {});
  }
  return { template: { name: db.name, count }, findings };
}
