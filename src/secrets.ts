import fs from 'node:fs';
import path from 'node:path';

/**
 * Every form of every secret a run knows of, masked in every text it writes: terminal, report
 * files, job summary, comment, outputs. Both front ends build one from their inputs and environment.
 */
export interface Masker {
  /** The text with each secret (and any URL or key=value password) replaced by `***`. */
  mask(text: string): string;
  /** Every string inside a JSON-like value masked; the value's shape is kept. */
  maskDeep<T>(value: T): T;
  /** Adds the secrets a connection string holds (a URL or key=value pairs). */
  addConnectionString(text: string): void;
  /** The secrets known so far, each form on its own, decoded forms first (for `::add-mask::`). */
  readonly secrets: readonly string[];
}

// Shorter values would mask ordinary words and numbers all over the output.
const MIN_SECRET_LENGTH = 3;

/** A URL's password anywhere in a text: `scheme://user:PASSWORD@` (matched from `://`, so a long word costs no backtracking). */
const URL_PASSWORD = /(:\/\/[^\s:/@'"]*:)([^\s@'"]*)@/g;
/** `password=...` of a key=value connection string, quoted or not. */
const KV_PASSWORD = /(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"]+)/gi;

function decodeSafely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The password forms a connection string holds: as written, decoded and re-encoded. */
export function passwordsOf(connection: string): string[] {
  const out: string[] = [];
  for (const m of connection.matchAll(URL_PASSWORD)) {
    const raw = m[2]!;
    out.push(decodeSafely(raw), raw, encodeURIComponent(decodeSafely(raw)));
  }
  try {
    const u = new URL(connection);
    if (u.password) out.push(decodeSafely(u.password), u.password, encodeURIComponent(decodeSafely(u.password)));
    const q = u.searchParams.get('password');
    if (q) out.push(q, encodeURIComponent(q));
  } catch {
    // Not a URL: key=value pairs, or nothing.
  }
  for (const m of connection.matchAll(KV_PASSWORD)) {
    const raw = m[2]!;
    out.push(raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw, raw);
  }
  return out;
}

/** Passwords of a libpq password file (`host:port:db:user:password`, `\:` and `\\` escaped). */
export function passfilePasswords(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === ':' && fields.length < 4) {
        fields.push(cur);
        cur = '';
      } else cur += c;
    }
    if (fields.length === 4) out.push(cur);
  }
  return out;
}

/**
 * The secrets of a run: its connection strings, `PGPASSWORD`, and the password file libpq would
 * read (`PGPASSFILE`, else `~/.pgpass`).
 */
export function createMasker(sources: { connections?: ReadonlyArray<string | undefined>; env?: Record<string, string | undefined> } = {}): Masker {
  const known = new Set<string>();
  const add = (s: string | undefined) => {
    if (s !== undefined && s.length >= MIN_SECRET_LENGTH) known.add(s);
  };
  let ordered: string[] = [];
  const refresh = () => {
    // Longest first: a secret that contains another is masked whole.
    ordered = [...known].sort((a, b) => b.length - a.length);
  };
  const env = sources.env ?? {};
  for (const c of sources.connections ?? []) if (c) passwordsOf(c).forEach(add);
  if (env.PGPASSWORD) {
    add(env.PGPASSWORD);
    add(encodeURIComponent(env.PGPASSWORD));
  }
  const passfile = env.PGPASSFILE || (env.HOME ? path.join(env.HOME, '.pgpass') : undefined);
  if (passfile) {
    try {
      for (const p of passfilePasswords(fs.readFileSync(passfile, 'utf8'))) {
        add(p);
        add(encodeURIComponent(p));
      }
    } catch {
      // No password file: nothing to mask from it.
    }
  }
  refresh();

  const mask = (text: string): string => {
    let out = text;
    for (const s of ordered) if (out.includes(s)) out = out.split(s).join('***');
    // Passwords nobody told us of, in the shapes that carry them.
    out = out.replace(URL_PASSWORD, (m, head: string, pw: string) => (pw === '' || pw === '***' ? m : `${head}***@`));
    out = out.replace(KV_PASSWORD, (m, head: string, pw: string) => (pw === '***' ? m : `${head}***`));
    return out;
  };
  const maskDeep = <T>(value: T): T => {
    if (typeof value === 'string') return mask(value) as T;
    if (Array.isArray(value)) return value.map((v) => maskDeep(v)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskDeep(v)])) as T;
    }
    return value;
  };
  return {
    mask,
    maskDeep,
    addConnectionString(text: string) {
      passwordsOf(text).forEach(add);
      refresh();
    },
    get secrets() {
      return [...known];
    },
  };
}
