import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration, SqlSource } from './types.js';

export const SQITCH_PLAN = 'sqitch.plan';

interface PlanChange {
  name: string;
  line: number;
  /** For a change reworked later in the plan: the tag its old scripts are filed under. */
  tag: string | undefined;
}

/** Changes of a plan in order. Tags (`@v1`) matter only for reworked changes (`deploy/name@v1.sql`). */
export function parseSqitchPlan(file: string, text: string): PlanChange[] {
  const items: Array<{ kind: 'change'; name: string; line: number } | { kind: 'tag'; name: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\uFEFF/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith('%')) return;
    const first = line.split(/\s+/)[0]!;
    if (first.startsWith('@')) {
      items.push({ kind: 'tag', name: first.slice(1) });
      return;
    }
    const name = first.replace(/^[+-]/, '');
    if (!/^[^\s:@#\\/]+$/.test(name)) throw new InputError('input', `${file}:${i + 1}: cannot read a change name from "${raw.trim()}"`, { file, line: i + 1 });
    items.push({ kind: 'change', name, line: i + 1 });
  });
  const changes: PlanChange[] = [];
  items.forEach((item, idx) => {
    if (item.kind !== 'change') return;
    const reworked = items.slice(idx + 1).some((x) => x.kind === 'change' && x.name === item.name);
    let tag: string | undefined;
    if (reworked) {
      const next = items.slice(idx + 1).find((x) => x.kind === 'tag');
      if (!next) throw new InputError('input', `${file}:${item.line}: change ${item.name} is reworked later but no tag follows it`, { file, line: item.line });
      tag = next.name;
    }
    changes.push({ name: item.name, line: item.line, tag });
  });
  return changes;
}

/** sqitch: `sqitch.plan` orders the changes; `deploy/`, `revert/` and `verify/` hold their scripts. */
export function discoverSqitch(root: string, dir: string): DiscoveredMigrations {
  const planAbs = path.join(dir, SQITCH_PLAN);
  const planRel = relativePath(root, planAbs);
  if (!fs.existsSync(planAbs)) throw new InputError('input', `${planRel} does not exist`, { file: planRel });
  const changes = parseSqitchPlan(planRel, readSqlFile(root, planAbs));
  const notices: DiscoveryNotice[] = [];
  const script = (kind: 'deploy' | 'revert' | 'verify', c: PlanChange): SqlSource | undefined => {
    const base = c.tag ? `${c.name}@${c.tag}` : c.name;
    const abs = path.join(dir, kind, `${base}.sql`);
    if (!fs.existsSync(abs)) return undefined;
    return { file: relativePath(root, abs), text: readSqlFile(root, abs) };
  };
  const migrations: Migration[] = changes.map((c) => {
    const up = script('deploy', c);
    const version = c.tag ? `${c.name}@${c.tag}` : c.name;
    if (!up) {
      throw new InputError('input', `${planRel}:${c.line}: change ${c.name} has no deploy script (expected ${relativePath(root, path.join(dir, 'deploy', `${version}.sql`))})`, {
        file: planRel,
        line: c.line,
      });
    }
    const verify = script('verify', c);
    return { version, name: c.name, up, down: script('revert', c), ...(verify ? { verify } : {}), underTest: true };
  });
  return { format: 'sqitch', migrations, notices };
}
