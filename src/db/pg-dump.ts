import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../errors.js';
import { outputTail, type CommandRunner } from '../command-runner.js';
import { maskPassword } from './connect.js';
import { buildSnapshot, compareText, IgnoreRules, type SchemaObject, type SchemaSnapshot } from './schema-model.js';
import type { SnapshotOptions } from './snapshot.js';

export interface DumpOptions extends SnapshotOptions {
  /** Runs pg_dump; the engine starts no process itself. */
  runCommand: CommandRunner | undefined;
  cwd: string;
  timeoutMs: number;
}

/** libpq environment for a URL, so the password never appears on a command line. */
export function libpqEnvironment(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    PGPORT: u.port || '5432',
    PGDATABASE: decodeURIComponent(u.pathname.replace(/^\//, '')),
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
  };
  const params: Record<string, string> = {
    host: 'PGHOST',
    port: 'PGPORT',
    sslmode: 'PGSSLMODE',
    sslrootcert: 'PGSSLROOTCERT',
    sslcert: 'PGSSLCERT',
    sslkey: 'PGSSLKEY',
    options: 'PGOPTIONS',
  };
  for (const [k, v] of u.searchParams) if (params[k]) env[params[k]!] = v;
  if (!env.PGUSER) delete env.PGUSER;
  if (!env.PGPASSWORD) delete env.PGPASSWORD;
  return env;
}

/** `pg_dump --schema-only` of a scratch database, as a snapshot comparable with another of the run. */
export async function dumpSchema(url: string, opts: DumpOptions): Promise<SchemaSnapshot> {
  return parseDump(await runPgDump(url, opts), opts);
}

export async function runPgDump(url: string, opts: DumpOptions): Promise<string> {
  if (!opts.runCommand) throw new InputError('usage', 'the pg_dump snapshot needs a way to run pg_dump; use the catalog snapshot');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-dump-'));
  const file = path.join(dir, 'schema.sql');
  try {
    // Into a file: the command's output is stderr alone, and the dump is never cut short.
    const r = await opts.runCommand('pg_dump --schema-only --no-password --file "$MCI_DUMP_FILE"', {
      cwd: opts.cwd,
      env: { ...libpqEnvironment(url), MCI_DUMP_FILE: file },
      timeoutMs: opts.timeoutMs,
    });
    if (r.timedOut) throw new InputError('database', `pg_dump did not finish within ${opts.timeoutMs} ms`);
    if (r.exitCode !== 0) throw pgDumpError(r.exitCode, maskPassword(r.output, url));
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    // Even an empty database dumps a header: nothing at all is a broken pg_dump (or a wrapper of
    // it), and an empty snapshot would compare equal to every other empty one.
    if (text.trim() === '') {
      throw new InputError(
        'database',
        `pg_dump --schema-only exited 0 but wrote nothing to its output file${r.output.trim() ? ` (it said: ${outputTail(maskPassword(r.output, url), 5)})` : ''}; ` +
          'check which pg_dump is on PATH, or use the default catalog snapshot',
      );
    }
    return text;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function pgDumpError(exitCode: number, output: string): InputError {
  if (/server version mismatch/i.test(output)) {
    const server = /server version:\s*([\d.]+)/i.exec(output)?.[1];
    const client = /pg_dump version:\s*([\d.]+)/i.exec(output)?.[1];
    const major = server?.split('.')[0];
    return new InputError(
      'database',
      `pg_dump ${client ?? '(older)'} cannot dump PostgreSQL ${server ?? '(newer)'}: pg_dump refuses servers newer than itself. ` +
        `Put pg_dump ${major ?? 'of the server\'s version'} or newer on PATH (the postgresql-client${major ? `-${major}` : ''} package), ` +
        'or use the default catalog snapshot, which needs no client tools.',
    );
  }
  if (exitCode === 127 || /pg_dump: (command )?not found|No such file/i.test(output)) {
    return new InputError('usage', 'the pg_dump snapshot needs pg_dump on PATH (the PostgreSQL client tools); install them or use the default catalog snapshot');
  }
  return new InputError('database', `pg_dump failed (exit ${exitCode}): ${outputTail(output, 10)}`);
}

// ---------------------------------------------------------------------------------------------
// Dump text -> objects

/** Lines that change from run to run or say nothing about the schema. */
const NOISE = [
  /^\\(un)?restrict\b/, // a random key, new on every run (PostgreSQL minor releases of August 2025 on)
  /^SET [a-z_.]+ = .*;$/, // session settings, placed wherever the objects around them need them
  /^SELECT pg_catalog\.set_config\('search_path'/,
  /^--$/,
  /^-- (Dumped (from|by) |PostgreSQL database dump|TOC entry |Dependencies: |Started on |Completed on )/,
];

const HEADER = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: (.*)$/;

/** Entries named `<table> <object>`: constraints, triggers, defaults, policies, rules. */
const TABLE_CHILD_TYPES = new Set(['CONSTRAINT', 'FK CONSTRAINT', 'TRIGGER', 'DEFAULT', 'POLICY', 'RULE', 'CHECK CONSTRAINT']);
const RELATION_TYPES = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'FOREIGN TABLE']);

interface Entry {
  name: string;
  type: string;
  schema: string;
  lines: string[];
}

/** The dump's entries with their statements, every run-specific line removed. */
export function dumpEntries(text: string): Entry[] {
  const entries: Entry[] = [];
  let current: Entry | undefined;
  for (const line of text.split(/\r?\n/)) {
    const h = HEADER.exec(line);
    if (h) {
      current = { name: h[1]!, type: h[2]!, schema: h[3] === '-' ? '' : h[3]!, lines: [] };
      entries.push(current);
      continue;
    }
    if (!current || NOISE.some((re) => re.test(line))) continue;
    current.lines.push(line);
  }
  for (const e of entries) {
    // Blank runs collapse: pg_dump's spacing differs around the lines taken out.
    e.lines = e.lines.join('\n').replace(/\n{3,}/g, '\n\n').trim().split('\n');
  }
  return entries;
}

/** The column lines of a CREATE TABLE in name order: a column that moved is not drift by default. */
function sortColumnLines(lines: string[]): string[] {
  const out = [...lines];
  const open = out.findIndex((l) => /^CREATE (UNLOGGED |FOREIGN )?TABLE .*\($/.test(l));
  if (open < 0) return out;
  let close = open + 1;
  while (close < out.length && out[close]!.startsWith('    ')) close++;
  const body = out.slice(open + 1, close).map((l) => l.replace(/,$/, ''));
  body.sort(compareText);
  out.splice(open + 1, body.length, ...body);
  return out;
}

function identifiersOf(name: string): string[] {
  return name
    .split(/[\s.(),"]+/)
    .filter((p) => p !== '' && !/^[A-Z ]+$/.test(p));
}

/** A dump as a snapshot: one object per dump entry, keyed by its type, schema and name. */
export function parseDump(text: string, opts: SnapshotOptions = {}): SchemaSnapshot {
  const entries = dumpEntries(text);
  const relationKey = (schema: string, table: string) => `TABLE ${schema}.${table}`;
  const relations = new Set(entries.filter((e) => RELATION_TYPES.has(e.type)).map((e) => `${e.schema}.${e.name}`));
  // Sequences owned by a column belong to its table.
  const sequenceOwner = new Map<string, string>();
  for (const e of entries) {
    if (e.type !== 'SEQUENCE OWNED BY') continue;
    const m = /OWNED BY (?:"?([^".\s]+)"?\.)?"?([^".\s]+)"?\.[^\s;]+;/.exec(e.lines.join(' '));
    if (m) sequenceOwner.set(`${e.schema}.${e.name}`, `${m[1] ?? e.schema}.${m[2]}`);
  }
  const seen = new Map<string, number>();
  const objects: SchemaObject[] = [];
  for (const e of entries) {
    let table: string | undefined;
    let ident = e.name;
    if (TABLE_CHILD_TYPES.has(e.type)) {
      const space = e.name.indexOf(' ');
      if (space > 0) {
        table = e.name.slice(0, space);
        ident = e.name.slice(space + 1);
      }
    } else if (e.type === 'INDEX' || e.type === 'INDEX ATTACH') {
      const m = / ON (?:ONLY )?(?:"?[^".\s]+"?\.)?"?([^".\s]+)"? /.exec(e.lines.join(' '));
      table = m?.[1];
    } else if (e.type === 'SEQUENCE' || e.type === 'SEQUENCE OWNED BY') {
      table = sequenceOwner.get(`${e.schema}.${e.name}`)?.split('.')[1];
    } else if (e.type === 'COMMENT' || e.type === 'ACL') {
      const m = /^(?:COLUMN|TABLE|VIEW|MATERIALIZED VIEW|FOREIGN TABLE) "?([^".\s]+)"?/.exec(e.name);
      table = m?.[1];
    }
    const parent = table !== undefined && relations.has(`${e.schema}.${table}`) && !RELATION_TYPES.has(e.type) ? relationKey(e.schema, table) : undefined;
    const kind = e.type.toLowerCase();
    const baseKey = RELATION_TYPES.has(e.type) ? relationKey(e.schema, e.name) : `${e.type} ${e.schema}.${e.name}`;
    const n = (seen.get(baseKey) ?? 0) + 1;
    seen.set(baseKey, n);
    const key = n === 1 ? baseKey : `${baseKey} #${n}`;
    const lines = e.type === 'TABLE' && !opts.strictColumnOrder ? sortColumnLines(e.lines) : e.lines;
    const shown = table !== undefined && TABLE_CHILD_TYPES.has(e.type) ? `${ident} on ${table}` : e.name;
    const ids = identifiersOf(e.name);
    objects.push({
      key,
      kind,
      name: e.schema && e.schema !== 'public' && !TABLE_CHILD_TYPES.has(e.type) ? `${e.schema}.${shown}` : shown,
      ident,
      ...(parent ? { parent } : {}),
      locate: [ids, ids.slice(-1), ids.slice(0, 1)],
      names: [e.name, `${e.schema}.${e.name}`, ...(table ? [`${table}.${ident}`] : [])],
      schema: e.schema,
      order: [e.schema, table ?? e.name, parent ? '1' : '0', key].join('\u0001'),
      attributes: [{ name: 'definition', value: lines.join('\n') }],
    });
  }
  const rules = new IgnoreRules(opts.ignore, opts.bookkeeping);
  // Parents first, so that the ignore rules drop a table's entries with it.
  objects.sort((a, b) => compareText(a.order, b.order));
  return buildSnapshot(rules.apply(objects));
}
