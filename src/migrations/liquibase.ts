import fs from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { InputError, errorMessage, isInputError } from '../errors.js';
import { readSqlFile, relativePath } from './files.js';
import type { DiscoveredMigrations, DiscoveryNotice, Migration, SqlSource } from './types.js';

export const LIQUIBASE_HEADER = /^\s*--\s*liquibase\s+formatted\s+sql\b/i;
const CHANGESET = /^\s*--\s*changeset\s+("[^"]+"|[^\s:]+):("[^"]+"|\S+)(.*)$/i;
const ROLLBACK_LINE = /^(\s*--\s*rollback)(?:\s|$)/i;
const ROLLBACK_BLOCK_START = /^\s*\/\*\s*liquibase\s+rollback\b/i;
const IGNORE_START = /^\s*--\s*ignoreLines:start\s*$/i;
const IGNORE_END = /^\s*--\s*ignoreLines:end\s*$/i;
const IGNORE_COUNT = /^\s*--\s*ignoreLines:(\d+)\s*$/i;
const CHANGELOG_EXT = /\.(xml|ya?ml|json|sql)$/i;

/** Which changesets a run takes: Liquibase's `--contexts` list and `--labels` expression. */
export interface LiquibaseFilters {
  contexts?: string[];
  labels?: string;
}

export interface Changeset {
  author: string;
  id: string;
  /** 1-based line of the `--changeset` line. */
  line: number;
  attributes: Record<string, string>;
  up: SqlSource;
  down: SqlSource | undefined;
  /** `--rollback not required` / `--rollback empty`: no way back, on purpose. */
  rollbackNotRequired: boolean;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** `key:value` attributes after `--changeset author:id`, values optionally in double quotes. */
function parseAttributes(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of rest.matchAll(/([A-Za-z]+):("[^"]*"|\S*)/g)) out[m[1]!.toLowerCase()] = unquote(m[2]!);
  return out;
}

function blank(line: string): string {
  return line.replace(/[^\r]/g, ' ');
}

/**
 * A statement end written as `endDelimiter` (`/`, `GO`) becomes `;` padded to the same width, so
 * the real parser splits where Liquibase does and every position stays where it was.
 */
function withDelimiter(line: string, delimiter: string | undefined): string {
  if (!delimiter || delimiter === ';') return line;
  const trimmed = line.replace(/\s+$/, '');
  if (!trimmed.endsWith(delimiter)) return line;
  const at = trimmed.length - delimiter.length;
  return `${line.slice(0, at)};${' '.repeat(delimiter.length - 1)}${line.slice(trimmed.length)}`;
}

/**
 * The changesets of one Liquibase formatted SQL file. Every part keeps the file's shape: lines of
 * other changesets, markers and the `--rollback` prefixes are blanked, so a line and column in a
 * changeset's up or down is the same line and column in the file.
 */
export function parseLiquibaseSql(file: string, text: string): Changeset[] {
  const lines = text.split('\n');
  const starts: Array<{ line: number; author: string; id: string; attributes: Record<string, string> }> = [];
  lines.forEach((l, i) => {
    const m = CHANGESET.exec(l.replace(/\r$/, ''));
    if (m) starts.push({ line: i, author: unquote(m[1]!), id: unquote(m[2]!), attributes: parseAttributes(m[3] ?? '') });
  });
  const seen = new Map<string, number>();
  return starts.map((s, k) => {
    const key = `${s.author}:${s.id}`;
    if (seen.has(key)) {
      throw new InputError('input', `${file}:${s.line + 1}: changeset ${key} is already defined at line ${seen.get(key)! + 1}`, { file, line: s.line + 1 });
    }
    seen.set(key, s.line);
    const end = starts[k + 1]?.line ?? lines.length;
    const up = lines.map(blank);
    const down = lines.map(blank);
    let hasDown = false;
    let notRequired = false;
    let inBlock = false;
    let ignoring = 0;
    let ignoreBlock = false;
    for (let i = s.line + 1; i < end; i++) {
      const line = lines[i]!;
      const bare = line.replace(/\r$/, '');
      if (inBlock) {
        const close = bare.indexOf('*/');
        if (close === -1) {
          down[i] = withDelimiter(line, s.attributes.rollbackenddelimiter);
          hasDown ||= bare.trim() !== '';
        } else {
          down[i] = line.slice(0, close) + blank(line.slice(close));
          hasDown ||= bare.slice(0, close).trim() !== '';
          inBlock = false;
        }
        continue;
      }
      if (ignoreBlock) {
        if (IGNORE_END.test(bare)) ignoreBlock = false;
        continue;
      }
      if (ignoring > 0) {
        ignoring--;
        continue;
      }
      if (IGNORE_START.test(bare)) {
        ignoreBlock = true;
        continue;
      }
      const count = IGNORE_COUNT.exec(bare);
      if (count) {
        ignoring = Number(count[1]);
        continue;
      }
      const rb = ROLLBACK_LINE.exec(bare);
      if (rb) {
        const body = line.slice(rb[1]!.length);
        if (/^\s*(not\s+required|empty)\s*$/i.test(body)) {
          notRequired = true;
          continue;
        }
        down[i] = withDelimiter(blank(rb[1]!) + body, s.attributes.rollbackenddelimiter);
        hasDown ||= body.trim() !== '';
        continue;
      }
      if (ROLLBACK_BLOCK_START.exec(bare)) {
        const after = bare.replace(ROLLBACK_BLOCK_START, '');
        const close = after.indexOf('*/');
        if (close === -1) {
          inBlock = true;
          continue;
        }
        // `/* liquibase rollback DROP TABLE t; */` on one line.
        const startCol = bare.length - after.length;
        down[i] = blank(line.slice(0, startCol)) + after.slice(0, close) + blank(line.slice(startCol + close));
        hasDown ||= after.slice(0, close).trim() !== '';
        continue;
      }
      up[i] = withDelimiter(line, s.attributes.enddelimiter);
    }
    const noTransaction = s.attributes.runintransaction?.toLowerCase() === 'false';
    const source = (parts: string[]): SqlSource => ({ file, text: parts.join('\n'), ...(noTransaction ? { noTransaction: true } : {}) });
    return {
      author: s.author,
      id: s.id,
      line: s.line + 1,
      attributes: s.attributes,
      up: source(up),
      down: hasDown ? source(down) : undefined,
      rollbackNotRequired: notRequired && !hasDown,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Context and label expressions: `dev`, `!prod`, `dev and test`, `(a or b) and !c`, `a, b`.

type Expr = (has: (name: string) => boolean) => boolean;

export function parseFilterExpression(source: string): Expr {
  const tokens = source.match(/\(|\)|!|,|[^\s(),!]+/g) ?? [];
  let at = 0;
  const peek = () => tokens[at]?.toLowerCase();
  const fail = (): never => {
    throw new InputError('usage', `cannot read the Liquibase expression "${source}"`);
  };
  const primary = (): Expr => {
    const t = peek();
    if (t === undefined) return fail();
    at++;
    if (t === '!' || t === 'not') {
      const inner = primary();
      return (has) => !inner(has);
    }
    if (t === '(') {
      const inner = anyOf();
      if (peek() !== ')') fail();
      at++;
      return inner;
    }
    if (t === ')' || t === ',' || t === 'and' || t === 'or') return fail();
    return (has) => has(t);
  };
  const allOf = (): Expr => {
    let left = primary();
    while (peek() === 'and') {
      at++;
      const l = left;
      const r = primary();
      left = (has) => l(has) && r(has);
    }
    return left;
  };
  const anyOf = (): Expr => {
    let left = allOf();
    while (peek() === 'or' || peek() === ',') {
      at++;
      const l = left;
      const r = allOf();
      left = (has) => l(has) || r(has);
    }
    return left;
  };
  if (tokens.length === 0) return () => true;
  const expr = anyOf();
  if (at !== tokens.length) fail();
  return expr;
}

/** Whether a run with these filters takes the changeset, as Liquibase decides. */
export function changesetSelected(attributes: Record<string, string>, filters: LiquibaseFilters): { selected: boolean; why?: string } {
  const dbms = attributes.dbms;
  if (dbms) {
    const list = dbms.split(',').map((d) => d.trim().toLowerCase());
    const pg = ['postgresql', 'postgres', 'all'];
    const yes = list.some((d) => pg.includes(d));
    const no = list.includes('none') || list.some((d) => d.startsWith('!') && pg.includes(d.slice(1)));
    const onlyNegations = list.every((d) => d.startsWith('!'));
    if (no || (!yes && !onlyNegations)) return { selected: false, why: `dbms:${dbms} excludes PostgreSQL` };
  }
  const context = attributes.context ?? attributes.contexts;
  if (context && filters.contexts && filters.contexts.length > 0) {
    const run = new Set(filters.contexts.map((c) => c.toLowerCase()));
    if (!parseFilterExpression(context)((n) => run.has(n))) return { selected: false, why: `context ${context} is not among ${filters.contexts.join(', ')}` };
  }
  const labels = attributes.labels ?? attributes.label;
  if (labels && filters.labels && filters.labels.trim() !== '') {
    const own = new Set(labels.split(',').map((l) => l.trim().toLowerCase()));
    if (!parseFilterExpression(filters.labels)((n) => own.has(n))) return { selected: false, why: `labels ${labels} do not match ${filters.labels}` };
  }
  return { selected: true };
}

// ---------------------------------------------------------------------------------------------
// Changelogs: which files, in which order.

interface Include {
  kind: 'file' | 'all';
  path: string;
  relative: boolean;
}

function xmlIncludes(text: string): { includes: Include[]; changesets: number } {
  const doc = new XMLParser({ ignoreAttributes: false, preserveOrder: true, attributeNamePrefix: '' }).parse(text) as Array<Record<string, unknown>>;
  const includes: Include[] = [];
  let changesets = 0;
  const root = doc.find((n) => 'databaseChangeLog' in n);
  for (const node of ((root?.databaseChangeLog as Array<Record<string, unknown>>) ?? [])) {
    const attrs = (node[':@'] ?? {}) as Record<string, string>;
    const relative = String(attrs.relativeToChangelogFile).toLowerCase() === 'true';
    if ('include' in node && attrs.file) includes.push({ kind: 'file', path: attrs.file, relative });
    else if ('includeAll' in node && attrs.path) includes.push({ kind: 'all', path: attrs.path, relative });
    else if ('changeSet' in node) changesets++;
  }
  return { includes, changesets };
}

function yamlIncludes(text: string): { includes: Include[]; changesets: number } {
  const doc = parseYaml(text) as { databaseChangeLog?: Array<Record<string, Record<string, unknown>>> } | null;
  const includes: Include[] = [];
  let changesets = 0;
  for (const item of doc?.databaseChangeLog ?? []) {
    const inc = item?.include;
    const all = item?.includeAll;
    const relative = (o: Record<string, unknown>) => String(o.relativeToChangelogFile).toLowerCase() === 'true';
    if (inc && typeof inc.file === 'string') includes.push({ kind: 'file', path: inc.file, relative: relative(inc) });
    else if (all && typeof all.path === 'string') includes.push({ kind: 'all', path: all.path, relative: relative(all) });
    else if (item && 'changeSet' in item) changesets++;
  }
  return { includes, changesets };
}

/** `--include file:x.sql` and `--includeAll path:dir/` lines of a formatted SQL changelog. */
function sqlIncludes(text: string): Include[] {
  const out: Include[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*--\s*(include|includeAll)\s+(.*)$/i.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const attrs = parseAttributes(m[2]!);
    const target = m[1]!.toLowerCase() === 'include' ? attrs.file : attrs.path;
    if (target) out.push({ kind: m[1]!.toLowerCase() === 'include' ? 'file' : 'all', path: target, relative: attrs.relativetochangelogfile?.toLowerCase() === 'true' });
  }
  return out;
}

function walkChangelogFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const abs = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walkChangelogFiles(abs));
    else if (CHANGELOG_EXT.test(e.name)) out.push(abs);
  }
  // includeAll takes files in alphabetical order of their paths.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A path from a changelog: next to the changelog when it says so, else on Liquibase's search
 * path, which in a repository is the changelog's folder or one above it (src/main/resources).
 */
function resolveInclude(root: string, changelog: string, inc: Include): string | undefined {
  const p = inc.path.replace(/^classpath\*?:/, '').replace(/^\/+/, '');
  if (inc.relative) return path.resolve(path.dirname(changelog), p);
  const rootAbs = path.resolve(root);
  for (let d = path.dirname(changelog); ; d = path.dirname(d)) {
    const candidate = path.resolve(d, p);
    if (fs.existsSync(candidate)) return candidate;
    if (d === rootAbs || path.dirname(d) === d || !d.startsWith(rootAbs)) break;
  }
  return undefined;
}

function isMasterName(name: string): boolean {
  return /changelog|master/i.test(name) && CHANGELOG_EXT.test(name);
}

/** The changelog that orders the folder: a top-level file that includes others, named like a master first. */
export function findMasterChangelog(root: string, dir: string): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => CHANGELOG_EXT.test(n));
  } catch {
    return undefined;
  }
  const ranked = names.sort((a, b) => Number(/master/i.test(b)) - Number(/master/i.test(a)) || Number(isMasterName(b)) - Number(isMasterName(a)) || (a < b ? -1 : 1));
  for (const name of ranked) {
    const abs = path.join(dir, name);
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch {
      continue;
    }
    if (/\.sql$/i.test(name) ? sqlIncludes(text).length > 0 : /databaseChangeLog/.test(text) && /include/i.test(text)) return abs;
  }
  return undefined;
}

/** True when a folder holds Liquibase changelogs. */
export function looksLikeLiquibase(samples: ReadonlyArray<{ name: string; head: string }>): boolean {
  return samples.some((s) => (/\.sql$/i.test(s.name) && LIQUIBASE_HEADER.test(s.head)) || (/\.(xml|ya?ml|json)$/i.test(s.name) && /databaseChangeLog/.test(s.head)));
}

/**
 * Liquibase formatted SQL: each changeset is a migration (`version` = `author:id`), its
 * `--rollback` lines and `/* liquibase rollback *\/` blocks its down. Files are ordered by the
 * master changelog (`include`/`includeAll` in XML, YAML, JSON or SQL) when there is one, else
 * alphabetically as `includeAll` would; `dir` may also be one changelog file.
 */
export function discoverLiquibase(root: string, dir: string, filters: LiquibaseFilters = {}): DiscoveredMigrations {
  const notices: DiscoveryNotice[] = [];
  const rel = (abs: string) => relativePath(root, abs);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new InputError('input', `migrations folder ${rel(dir) || '.'} does not exist`, { file: rel(dir) });
  }
  const files: string[] = [];
  /** Files a changelog names: plain SQL there is one raw changeset, as Liquibase runs it. */
  const included = new Set<string>();
  const visited = new Set<string>();
  const visit = (abs: string, via: string | undefined, depth: number) => {
    if (visited.has(abs)) return;
    visited.add(abs);
    if (depth > 50) throw new InputError('input', `${rel(abs)}: changelogs include each other more than 50 deep`, { file: rel(abs) });
    if (!fs.existsSync(abs)) {
      throw new InputError('input', `${via ? `${via} includes` : 'changelog'} ${rel(abs)}, which does not exist`, { file: via ?? rel(abs) });
    }
    const text = readSqlFile(root, abs);
    let includes: Include[];
    let changesets = 0;
    try {
      if (/\.xml$/i.test(abs)) ({ includes, changesets } = xmlIncludes(text));
      else if (/\.(ya?ml|json)$/i.test(abs)) ({ includes, changesets } = yamlIncludes(text));
      else {
        includes = sqlIncludes(text);
        files.push(abs);
      }
    } catch (e) {
      if (isInputError(e)) throw e;
      throw new InputError('input', `${rel(abs)} cannot be read as a changelog: ${errorMessage(e).split('\n')[0]}`, { file: rel(abs) });
    }
    if (changesets > 0) {
      notices.push({ file: rel(abs), message: `${rel(abs)}: ${changesets} changesets written in XML/YAML are not read (only formatted SQL is); skipped` });
    }
    for (const inc of includes) {
      const target = resolveInclude(root, abs, inc);
      if (!target) throw new InputError('input', `${rel(abs)} includes ${inc.path}, which cannot be found next to it or on the search path`, { file: rel(abs) });
      if (inc.kind === 'file') {
        included.add(target);
        visit(target, rel(abs), depth + 1);
      }
      else
        for (const f of walkChangelogFiles(target)) {
          included.add(f);
          visit(f, rel(abs), depth + 1);
        }
    }
  };
  if (stat.isFile()) visit(dir, undefined, 0);
  else {
    const master = findMasterChangelog(root, dir);
    if (master) visit(master, undefined, 0);
    else for (const f of walkChangelogFiles(dir).filter((f) => /\.sql$/i.test(f))) visit(f, undefined, 0);
  }

  const migrations: Migration[] = [];
  const versions = new Map<string, string>();
  for (const abs of files) {
    const file = rel(abs);
    const text = readSqlFile(root, abs);
    if (!LIQUIBASE_HEADER.test(text.split('\n').find((l) => l.trim() !== '') ?? '')) {
      if (sqlIncludes(text).length > 0) continue;
      if (included.has(abs) && text.trim() !== '') {
        // Liquibase runs an included plain SQL file as one changeset, author "includeAll", id "raw".
        const version = versions.has('includeAll:raw') ? `${file}::includeAll:raw` : 'includeAll:raw';
        versions.set(version, file);
        migrations.push({ version, name: path.basename(abs, path.extname(abs)), up: { file, text }, down: undefined, underTest: true });
        continue;
      }
      notices.push({ file, message: `${file} does not start with "--liquibase formatted sql"; skipped` });
      continue;
    }
    for (const c of parseLiquibaseSql(file, text)) {
      const chosen = changesetSelected(c.attributes, filters);
      if (!chosen.selected) {
        notices.push({ file, line: c.line, rule: 'changeset-filtered', message: `changeset ${c.author}:${c.id} is not run: ${chosen.why}` });
        continue;
      }
      // Liquibase tells changesets apart by file, author and id: the same author:id in two files is two changesets.
      let version = `${c.author}:${c.id}`;
      if (versions.has(version)) version = `${file}::${version}`;
      versions.set(version, file);
      migrations.push({
        version,
        name: c.id,
        up: c.up,
        down: c.down,
        underTest: true,
        ...(c.rollbackNotRequired ? { irreversible: true } : {}),
      });
    }
  }
  return { format: 'liquibase', migrations, notices, sections: changesetSections, anyOrder: true };
}

/** The changesets of a file as it was at another commit, by version, for the pull request view. */
function changesetSections(file: string, text: string): Map<string, { up: string; down: string | undefined }> {
  const out = new Map<string, { up: string; down: string | undefined }>();
  try {
    for (const c of parseLiquibaseSql(file, text)) out.set(`${c.author}:${c.id}`, { up: c.up.text, down: c.down?.text });
  } catch {
    // A base version that does not parse holds no changeset to compare with: all count as new.
  }
  return out;
}
