import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './support/fixtures.js';

/** The majors of GitHub's own actions that run on Node 24; older ones run on Node 20 or older. */
const CURRENT_MAJORS: Record<string, number> = {
  'actions/checkout': 6,
  'actions/setup-node': 6,
  'actions/upload-artifact': 7,
  'actions/download-artifact': 8,
  'github/codeql-action/upload-sarif': 4,
};

interface Workflow {
  where: string;
  doc: { on?: unknown; concurrency?: unknown; jobs?: Record<string, { steps?: Array<{ uses?: string }> }> };
}

/** Every complete workflow in the docs (```yaml blocks with jobs) and in .github/workflows. */
function workflows(): { docs: Workflow[]; own: Workflow[] } {
  const docs: Workflow[] = [];
  for (const file of ['README.md', 'docs/workflows.md']) {
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
    for (const m of text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)) {
      const doc = parse(m[1]!) as Workflow['doc'] | null;
      if (doc && typeof doc === 'object' && 'jobs' in doc) docs.push({ where: `${file}:${text.slice(0, m.index).split('\n').length}`, doc });
    }
  }
  const dir = path.join(repoRoot, '.github/workflows');
  const own = fs.readdirSync(dir).map((f) => ({ where: `.github/workflows/${f}`, doc: parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Workflow['doc'] }));
  return { docs, own };
}

const triggers = (on: unknown): Record<string, unknown> =>
  typeof on === 'string' ? { [on]: null } : Array.isArray(on) ? Object.fromEntries(on.map((t: string) => [t, null])) : ((on as Record<string, unknown>) ?? {});

describe('the workflows we show and run', () => {
  const { docs, own } = workflows();

  it('finds the workflows', () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    expect(own.map((w) => w.where)).toContain('.github/workflows/release.yml');
  });

  it("use the current majors of GitHub's actions", () => {
    for (const { where, doc } of [...docs, ...own]) {
      for (const job of Object.values(doc.jobs ?? {})) {
        for (const step of job.steps ?? []) {
          const m = /^([^@]+)@v(\d+)$/.exec(step.uses ?? '');
          if (m && m[1]! in CURRENT_MAJORS) expect(Number(m[2]), `${where}: ${step.uses}`).toBe(CURRENT_MAJORS[m[1]!]);
        }
      }
    }
  });

  it('run one at a time per pull request, and never filter a pull request check by paths', () => {
    for (const { where, doc } of docs) {
      const on = triggers(doc.on);
      if (!('pull_request' in on)) continue;
      expect(doc.concurrency, where).toMatchObject({ group: expect.stringContaining('github.event.pull_request.number') });
      const pr = on.pull_request as { paths?: unknown; 'paths-ignore'?: unknown } | null;
      expect(pr?.paths ?? pr?.['paths-ignore'], where).toBeUndefined();
    }
    const guide = fs.readFileSync(path.join(repoRoot, 'docs/workflows.md'), 'utf8');
    expect(guide).toMatch(/required[\s\S]{0,300}paths[\s\S]{0,300}never\s+starts the workflow/);
  });
});

describe('pictures in the README', () => {
  it('are PNG files of the repository, redrawn by a script that the README names', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const pictures = [...readme.matchAll(/!\[[^\]]+\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(pictures).toContain('docs/summary.png');
    for (const p of pictures) {
      const bytes = fs.readFileSync(path.join(repoRoot, p));
      expect(bytes.subarray(1, 4).toString('latin1'), p).toBe('PNG');
    }
    expect(readme).toContain('scripts/summary-picture.ts');
    expect(fs.existsSync(path.join(repoRoot, 'scripts/summary-picture.ts'))).toBe(true);
  });
});
