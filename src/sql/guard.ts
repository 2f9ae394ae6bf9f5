import { InputError } from '../errors.js';
import { defElemArg, kindOf, list, routineSource, str, stringList, unwrap, walk, type Node } from './nodes.js';
import { parseSql, plpgsqlTrees, readPlpgsqlBody } from './plpgsql.js';
import type { ParsedSource, ParseResult, Statement } from './parse.js';

/**
 * Statements that act outside the scratch database a migration runs in: on the server, its files,
 * its other databases or sessions, or other servers. They are refused before anything runs, one
 * class at a time allowed by an explicit input.
 */
export const OUTSIDE_CLASSES = ['databases', 'system', 'tablespaces', 'programs', 'server-files', 'backends', 'remote'] as const;
export type OutsideClass = (typeof OUTSIDE_CLASSES)[number];

export const OUTSIDE_CLASS_HELP: Record<OutsideClass, string> = {
  databases: 'CREATE/ALTER/DROP DATABASE and grants on databases: other databases of the server',
  system: 'ALTER SYSTEM, pg_reload_conf() and friends: the server configuration',
  tablespaces: 'CREATE/ALTER/DROP TABLESPACE: directories of the server',
  programs: 'COPY ... PROGRAM: shell commands on the server',
  'server-files': "COPY to or from a server file, pg_read_file(), pg_ls_dir(), lo_import(), lo_export() and friends",
  backends: 'pg_terminate_backend(), pg_cancel_backend(): other sessions of the server',
  remote: 'dblink, postgres_fdw servers, IMPORT FOREIGN SCHEMA, subscriptions: other servers',
};

/**
 * What `allow-outside` takes: the classes, and `superuser`, which lets the migrations run as the
 * connecting role (for what only a superuser may do, such as an extension not marked trusted).
 */
export const ALLOW_OUTSIDE_VALUES = [...OUTSIDE_CLASSES, 'superuser'] as const;
export type AllowOutside = (typeof ALLOW_OUTSIDE_VALUES)[number];

export interface OutsideStatement {
  class: OutsideClass;
  statement: Statement;
  /** What it does, for the error: "DROP DATABASE other". */
  what: string;
}

// Functions that reach the server's files, programs, sessions or configuration.
const FUNCTIONS: Record<string, OutsideClass> = {
  pg_read_file: 'server-files',
  pg_read_binary_file: 'server-files',
  pg_ls_dir: 'server-files',
  pg_stat_file: 'server-files',
  pg_ls_logdir: 'server-files',
  pg_ls_waldir: 'server-files',
  pg_ls_tmpdir: 'server-files',
  pg_ls_archive_statusdir: 'server-files',
  pg_ls_logicalsnapdir: 'server-files',
  pg_ls_logicalmapdir: 'server-files',
  pg_ls_replslotdir: 'server-files',
  lo_import: 'server-files',
  lo_export: 'server-files',
  pg_file_write: 'server-files',
  pg_file_rename: 'server-files',
  pg_file_unlink: 'server-files',
  pg_file_sync: 'server-files',
  pg_logdir_ls: 'server-files',
  pg_terminate_backend: 'backends',
  pg_cancel_backend: 'backends',
  pg_reload_conf: 'system',
  pg_rotate_logfile: 'system',
  pg_promote: 'system',
  pg_switch_wal: 'system',
  pg_create_restore_point: 'system',
  pg_drop_replication_slot: 'system',
  pg_create_physical_replication_slot: 'system',
  pg_create_logical_replication_slot: 'system',
  pg_replication_origin_drop: 'system',
};

function functionClass(name: string): OutsideClass | undefined {
  if (name.startsWith('dblink')) return 'remote';
  return FUNCTIONS[name];
}

const REMOTE_WRAPPERS = new Set(['postgres_fdw', 'dblink_fdw']);

/** The class of a statement node itself (not of what it contains). */
function statementClass(kind: string, body: Node): { class: OutsideClass; what: string } | undefined {
  switch (kind) {
    case 'CreatedbStmt':
      return { class: 'databases', what: `CREATE DATABASE ${str(body.dbname) ?? ''}` };
    case 'DropdbStmt':
      return { class: 'databases', what: `DROP DATABASE ${str(body.dbname) ?? ''}` };
    case 'AlterDatabaseStmt':
    case 'AlterDatabaseSetStmt':
    case 'AlterDatabaseRefreshCollStmt':
      return { class: 'databases', what: `ALTER DATABASE ${str(body.dbname) ?? ''}` };
    case 'AlterSystemStmt':
      return { class: 'system', what: 'ALTER SYSTEM' };
    case 'CreateTableSpaceStmt':
      return { class: 'tablespaces', what: `CREATE TABLESPACE ${str(body.tablespacename) ?? ''}` };
    case 'DropTableSpaceStmt':
      return { class: 'tablespaces', what: `DROP TABLESPACE ${str(body.tablespacename) ?? ''}` };
    case 'AlterTableSpaceOptionsStmt':
      return { class: 'tablespaces', what: `ALTER TABLESPACE ${str(body.tablespacename) ?? ''}` };
    case 'RenameStmt':
      if (body.renameType === 'OBJECT_DATABASE') return { class: 'databases', what: `ALTER DATABASE ${str(body.subname) ?? ''} RENAME` };
      if (body.renameType === 'OBJECT_TABLESPACE') return { class: 'tablespaces', what: `ALTER TABLESPACE ${str(body.subname) ?? ''} RENAME` };
      return undefined;
    case 'AlterOwnerStmt': {
      const name = str(unwrap(body.object, 'String')?.sval) ?? '';
      if (body.objectType === 'OBJECT_DATABASE') return { class: 'databases', what: `ALTER DATABASE ${name} OWNER` };
      if (body.objectType === 'OBJECT_TABLESPACE') return { class: 'tablespaces', what: `ALTER TABLESPACE ${name} OWNER` };
      return undefined;
    }
    case 'GrantStmt':
      if (body.objtype === 'OBJECT_DATABASE') return { class: 'databases', what: `GRANT ... ON DATABASE ${stringList(body.objects).join(', ')}` };
      if (body.objtype === 'OBJECT_TABLESPACE') return { class: 'tablespaces', what: `GRANT ... ON TABLESPACE ${stringList(body.objects).join(', ')}` };
      return undefined;
    case 'CopyStmt': {
      const file = str(body.filename);
      if (file === undefined) return undefined;
      if (body.is_program === true) return { class: 'programs', what: `COPY ... ${body.is_from ? 'FROM' : 'TO'} PROGRAM '${file}'` };
      return { class: 'server-files', what: `COPY ... ${body.is_from ? 'FROM' : 'TO'} '${file}'` };
    }
    case 'CreateForeignServerStmt': {
      const fdw = str(body.fdwname) ?? '';
      return REMOTE_WRAPPERS.has(fdw) ? { class: 'remote', what: `CREATE SERVER ${str(body.servername) ?? ''} FOREIGN DATA WRAPPER ${fdw}` } : undefined;
    }
    case 'ImportForeignSchemaStmt':
      return { class: 'remote', what: `IMPORT FOREIGN SCHEMA ${str(body.remote_schema) ?? ''}` };
    case 'CreateSubscriptionStmt':
      return { class: 'remote', what: `CREATE SUBSCRIPTION ${str(body.subname) ?? ''}` };
    case 'FuncCall': {
      const names = stringList(body.funcname);
      const name = names[names.length - 1];
      // Only the built-in functions (unqualified or pg_catalog's, or an extension's dblink).
      if (name === undefined || (names.length > 1 && names[0] !== 'pg_catalog' && !name.startsWith('dblink'))) return undefined;
      const c = functionClass(name);
      return c ? { class: c, what: `${name}()` } : undefined;
    }
    default:
      return undefined;
  }
}

// Only when the PL/pgSQL parser refuses a body: its statements found by their words, comments and strings aside.
const PLPGSQL_STATEMENTS: Array<{ re: RegExp; class: OutsideClass; what: string }> = [
  { re: /\b(create|drop|alter)\s+database\b/i, class: 'databases', what: 'DATABASE' },
  { re: /\balter\s+system\b/i, class: 'system', what: 'ALTER SYSTEM' },
  { re: /\b(create|drop|alter)\s+tablespace\b/i, class: 'tablespaces', what: 'TABLESPACE' },
  { re: /\bprogram\s+(e?'|\$)/i, class: 'programs', what: 'COPY ... PROGRAM' },
];

function stripCommentsAndStrings(text: string): string {
  return text
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''");
}

/**
 * The parse trees of the SQL a routine body runs: a SQL body parsed, a PL/pgSQL body read with
 * the PL/pgSQL parser (dynamic SQL left to the run's role). Undefined when the body cannot be read.
 */
function routineTrees(language: string, text: string): Node[] | undefined {
  if (language === 'sql') return parseSql(text);
  if (language === 'plpgsql') return plpgsqlTrees(readPlpgsqlBody(text))?.trees;
  return undefined;
}

/** Every node of a statement and of the routine bodies in it, read as their trees; the texts of bodies that could not be read go to `unread`. */
function* nodesWithBodies(root: unknown, unread: string[], depth = 0): Generator<Node> {
  for (const node of walk(root)) {
    yield node;
    const k = depth < 3 ? kindOf(node) : undefined;
    const routine = k && routineBody(k[0], k[1]);
    if (!routine) continue;
    const trees = routineTrees(routine.language, routine.text);
    if (trees) for (const tree of trees) yield* nodesWithBodies(tree, unread, depth + 1);
    else unread.push(routine.text);
  }
}

function findInRoutineText(language: string, text: string, depth: number): Array<{ class: OutsideClass; what: string }> {
  const trees = routineTrees(language, text);
  if (trees) return trees.flatMap((tree) => findInTree(tree, depth + 1).map((hit) => (hit.what.endsWith(' body') ? hit : { ...hit, what: `${hit.what} in a ${language} body` })));
  if (language !== 'plpgsql') return [];
  const out: Array<{ class: OutsideClass; what: string }> = [];
  const code = stripCommentsAndStrings(text);
  for (const p of PLPGSQL_STATEMENTS) {
    const m = p.re.exec(code);
    if (m) out.push({ class: p.class, what: `${m[0].replace(/\s+/g, ' ').toUpperCase()} in a ${language} body` });
  }
  // COPY to a file: `COPY ... TO '/path'` keeps its string; look at the original text for it.
  if (/\bcopy\b[^;]*\b(to|from)\s+e?'/i.test(text.replace(/--[^\n]*/g, ' ')) && /\bcopy\b/i.test(code)) {
    out.push({ class: 'server-files', what: `COPY to or from a server file in a ${language} body` });
  }
  for (const m of code.matchAll(/\b([a-z_][a-z0-9_]*)\s*\(/gi)) {
    const name = m[1]!.toLowerCase();
    const c = functionClass(name);
    if (c) out.push({ class: c, what: `${name}() in a ${language} body` });
  }
  return out;
}

/** A DO block's or a string-bodied function's body, with the language the guard reads it in. */
function routineBody(kind: string, body: Node): { language: string; text: string } | undefined {
  const source = routineSource(kind, body);
  return source && { text: source.text, language: source.language ?? 'sql' };
}

function findInTree(root: Node, depth = 0): Array<{ class: OutsideClass; what: string }> {
  const out: Array<{ class: OutsideClass; what: string }> = [];
  for (const node of walk(root)) {
    const k = kindOf(node);
    if (!k) continue;
    const [kind, body] = k;
    const hit = statementClass(kind, body);
    if (hit) out.push(hit);
    const routine = depth < 3 ? routineBody(kind, body) : undefined;
    if (routine) out.push(...findInRoutineText(routine.language, routine.text, depth));
  }
  return out;
}

/** Every statement of a file that acts outside its database, in classes not allowed. */
export function findOutsideStatements(parsed: ParsedSource, allowed: readonly AllowOutside[] = []): OutsideStatement[] {
  const out: OutsideStatement[] = [];
  for (const statement of parsed.statements) {
    const seen = new Set<string>();
    for (const hit of findInTree(statement.node)) {
      if (allowed.includes(hit.class)) continue;
      const key = `${hit.class}\0${hit.what}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ class: hit.class, statement, what: hit.what.trim() });
    }
  }
  return out;
}

/**
 * Throws, before anything runs, when a file would act outside the scratch database: the first
 * such statement at its file and line, the others counted, and the input that lets a class through.
 */
export function refuseOutsideStatements(files: ReadonlyArray<ParseResult | undefined>, allowed: readonly AllowOutside[]): void {
  const found = files.flatMap((f) => (f?.ok ? findOutsideStatements(f.parsed, allowed).map((o) => ({ o, file: f.parsed.source.file })) : []));
  if (found.length === 0) return;
  const [{ o, file }] = found as [{ o: OutsideStatement; file: string }];
  const more = found.length > 1 ? ` (and ${found.length - 1} more: ${[...new Set(found.slice(1).map((x) => `${x.file}:${x.o.statement.line}`))].slice(0, 5).join(', ')})` : '';
  throw new InputError(
    'input',
    `${o.what} acts outside the scratch database (${OUTSIDE_CLASS_HELP[o.class]}); refused before anything ran${more}. ` +
      `If the migrations must do this, allow the class with allow-outside: ${o.class}`,
    { file, line: o.statement.line, column: o.statement.column },
  );
}

const ROLE_STATEMENTS = new Set(['CreateRoleStmt', 'AlterRoleStmt', 'AlterRoleSetStmt', 'DropRoleStmt', 'GrantRoleStmt']);

/** Does a file create or change roles (the server's, not the database's), also in a DO block or a function body? */
export function touchesRoles(parsed: ParsedSource): boolean {
  for (const statement of parsed.statements) {
    const unread: string[] = [];
    for (const node of nodesWithBodies(statement.node, unread)) {
      const k = kindOf(node);
      if (!k) continue;
      if (ROLE_STATEMENTS.has(k[0])) return true;
      if (k[0] === 'RenameStmt' && k[1].renameType === 'OBJECT_ROLE') return true;
    }
    // A body no parser reads (another language, or one the parser refuses): by its words.
    if (unread.some((text) => /\b(create|alter|drop)\s+(role|user|group)\b|\bgrant\b/i.test(stripCommentsAndStrings(text)))) return true;
  }
  return false;
}

/**
 * Does a file run SQL the parse tree cannot read: a statement the parser refused, a DO block or
 * routine in a language other than SQL whose body cannot be read or builds SQL at run time
 * (EXECUTE)? Such SQL may create roles that {@link touchesRoles} does not see.
 */
export function runsUnseenSql(parsed: ParsedSource): boolean {
  for (const statement of parsed.statements) {
    if (statement.unparsed || Object.keys(statement.node).length === 0) return true;
    for (const node of walk(statement.node)) {
      const k = kindOf(node);
      if (!k) continue;
      const routine = routineBody(k[0], k[1]);
      if (!routine || routine.language === 'sql') continue;
      if (routine.language !== 'plpgsql') return true;
      const inner = plpgsqlTrees(readPlpgsqlBody(routine.text));
      if (!inner || inner.dynamic) return true;
    }
  }
  return false;
}

/** Extensions a file creates (CREATE EXTENSION, also in a DO block or a function body), by name. */
export function createdExtensions(parsed: ParsedSource): string[] {
  const out = new Set<string>();
  for (const statement of parsed.statements) {
    const unread: string[] = [];
    for (const node of nodesWithBodies(statement.node, unread)) {
      const create = unwrap(node, 'CreateExtensionStmt');
      const name = str(create?.extname);
      if (name) out.add(name);
    }
    for (const text of unread) {
      for (const m of stripCommentsAndStrings(text).matchAll(/\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?"?([a-z0-9_-]+)"?/gi)) out.add(m[1]!.toLowerCase());
    }
  }
  return [...out];
}

function roleName(spec: unknown): string | undefined {
  const r = (unwrap(spec, 'RoleSpec') ?? spec) as Node | undefined;
  return r && r.roletype === 'ROLESPEC_CSTRING' ? str(r.rolename) : undefined;
}

/** The roles a statement node acts on as an owner or admin of them would: alters, drops, grants membership in, hands objects to. */
function rolesActedOn(kind: string, body: Node): Array<string | undefined> {
  switch (kind) {
    case 'AlterRoleStmt':
    case 'AlterRoleSetStmt':
      return [roleName(body.role)];
    case 'DropRoleStmt':
    case 'DropOwnedStmt':
      return list(body.roles).map(roleName);
    case 'ReassignOwnedStmt':
      return [...list(body.roles).map(roleName), roleName(body.newrole)];
    case 'GrantRoleStmt':
      return list(body.granted_roles).map((p) => str(unwrap(p, 'AccessPriv')?.priv_name));
    case 'RenameStmt':
      return body.renameType === 'OBJECT_ROLE' ? [str(body.subname)] : [];
    case 'AlterOwnerStmt':
    case 'AlterTableCmd':
      return [roleName(body.newowner)];
    case 'CreateSchemaStmt':
      return [roleName(body.authrole)];
    case 'CreateRoleStmt':
      return list(unwrap(defElemArg(body.options, 'addroleto'), 'List')?.items).map(roleName);
    case 'VariableSetStmt':
      return body.name === 'role' || body.name === 'session_authorization' ? list(body.args).map((a) => str((unwrap(a, 'A_Const')?.sval as Node | undefined)?.sval)) : [];
    default:
      return [];
  }
}

/**
 * Roles a file alters, drops, grants membership in or gives objects to, by name (plain statements
 * only: a role named in dynamic SQL is not seen). Those that exist before the run are the
 * server's: only the connecting role may act on them.
 */
export function rolesNamed(parsed: ParsedSource): string[] {
  const out = new Set<string>();
  for (const statement of parsed.statements) {
    for (const node of walk(statement.node)) {
      const k = kindOf(node);
      if (!k) continue;
      for (const name of rolesActedOn(k[0], k[1])) if (name) out.add(name);
    }
  }
  return [...out];
}
