import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { createMasker, passfilePasswords } from '../src/secrets.js';
import { makeRepo } from './support/fixtures.js';
import { runSourceAction } from './support/runner.js';
import { servers } from './support/servers.js';

describe('the masker', () => {
  it('masks every form of a URL password, PGPASSWORD, the password file and key=value strings', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-pass-'));
    const passfile = path.join(dir, 'pgpass');
    fs.writeFileSync(passfile, '# comment\nprod:5432:*:app:pass\\:file-pw\n*:*:*:*:other-file-pw\n');
    const m = createMasker({
      connections: ['postgres://app:s%40cret%2Fpw@db:5432/app', "host=db user=app password='kv secret'"],
      env: { PGPASSWORD: 'env-pw-1', PGPASSFILE: passfile },
    });
    const text = 's@cret/pw s%40cret%2Fpw env-pw-1 pass:file-pw other-file-pw kv secret';
    expect(m.mask(text)).toBe('*** *** *** *** *** ***');
    // Passwords nobody named, in the shapes that carry them.
    expect(m.mask('postgres://u:unknown-pw@h/d and password=unknown2 and "password=x"')).toBe('postgres://u:***@h/d and password=*** and "password=***"');
    expect(m.maskDeep({ a: ['x env-pw-1'], n: 3, b: { c: 'env-pw-1' } })).toEqual({ a: ['x ***'], n: 3, b: { c: '***' } });
    expect(passfilePasswords('h:p:d:u:a\\\\b\\:c\n')).toEqual(['a\\b:c']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('a password with an unencoded / # or ?', () => {
  it('exits 2 at once with how to encode it, the password masked, instead of retrying a host made of the password', async () => {
    const root = makeRepo({ 'migrations/0001_t.up.sql': 'CREATE TABLE t (id int);\n', 'migrations/0001_t.down.sql': 'DROP TABLE t;\n' });
    for (const [url, char] of [
      ['postgres://app:1234/ab-secret@127.0.0.1:5432/postgres', '/ as %2F'],
      ['postgres://app:pw#ab-secret@127.0.0.1:5432/postgres', '# as %23'],
      ['postgresql://app:pw?ab-secret@db.internal/postgres', '? as %3F'],
    ] as const) {
      let out = '';
      const t0 = Date.now();
      const code = await runCli([], { cwd: root, env: { DATABASE_URL: url }, stdout: (t) => (out += t), stderr: (t) => (out += t), isTTY: false });
      expect(code).toBe(2);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(out).toContain('percent-encode it');
      expect(out).toContain(char);
      expect(out).toMatch(/postgres(ql)?:\/\/app:\*\*\*@/);
      expect(out).not.toContain('ab-secret');
    }
    // Encoded, and an @ in a key=value query, read as written.
    let ok = '';
    expect(await runCli(['--stages', 'syntax'], { cwd: root, env: { DATABASE_URL: 'postgres://postgres:1234%2Fab@127.0.0.1:5432/postgres?application_name=a@b' }, stdout: (t) => (ok += t), stderr: (t) => (ok += t), isTTY: false })).toBe(0);
  });
});

describe.each(servers().slice(0, 1))('secrets in every output on $name', ({ url }) => {
  it('masks them on the terminal, in the JSON report and in SARIF, also in a failing command', async () => {
    const u = new URL(url);
    // The local server trusts its clients: any password connects, and every form of it must vanish.
    u.password = 's%40cret%2Fpw-9';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mci-pass-'));
    const passfile = path.join(dir, 'pgpass');
    fs.writeFileSync(passfile, '*:*:*:*:passfile-pw-42\n');
    const secrets = ['s@cret/pw-9', 's%40cret%2Fpw-9', 'envpw-7777', 'passfile-pw-42', 'kvsecret-1'];
    const root = makeRepo({
      'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY);\n',
      'migrations/0001_t.down.sql': 'DROP TABLE t;\n',
      'migrations/0002_leak.up.sql': "SELECT 's@cret/pw-9 s%40cret%2Fpw-9 envpw-7777 passfile-pw-42 password=kvsecret-1'::int;\n",
      'migrations/0002_leak.down.sql': 'SELECT 1;\n',
    });
    const env = { PATH: process.env.PATH, DATABASE_URL: u.toString(), PGPASSWORD: 'envpw-7777', PGPASSFILE: passfile };
    const run = async (cwd: string, args: string[]) => {
      let out = '';
      const code = await runCli(['--report-json', 'out/report.json', '--sarif', 'out/report.sarif', ...args], {
        cwd,
        env,
        stdout: (t) => (out += t),
        stderr: (t) => (out += t),
        isTTY: false,
      });
      return { code, texts: [out, fs.readFileSync(path.join(cwd, 'out/report.json'), 'utf8'), fs.readFileSync(path.join(cwd, 'out/report.sarif'), 'utf8')] };
    };
    const failing = await run(root, ['--stages', 'syntax']);
    expect(failing.code).toBe(1);
    expect(failing.texts[1]).toMatch(/invalid input syntax for type integer/);
    const commandRoot = makeRepo({ 'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY);\n', 'migrations/0001_t.down.sql': 'DROP TABLE t;\n' });
    const command = await run(commandRoot, ['--stages', 'syntax,data', '--data-test-command', 'echo "url=$DATABASE_URL pw=$PGPASSWORD"; exit 3']);
    expect(command.code).toBe(1);
    // The command connects as the run's role: its password, made up by the run, is masked as well.
    expect(command.texts[1]).toMatch(/url=postgres:\/\/mci_run_\w+:\*\*\*@.* pw=\*\*\*/);
    for (const text of [...failing.texts, ...command.texts]) for (const s of secrets) expect(text).not.toContain(s);

    // A key=value connection string is not a URL: the error says so without echoing its password.
    let bad = '';
    expect(await runCli(['--database-url', 'host=db user=app password=kvsecret-1'], { cwd: root, env: {}, stdout: (t) => (bad += t), stderr: (t) => (bad += t), isTTY: false })).toBe(2);
    expect(bad).toMatch(/not a valid URL/);
    expect(bad).not.toContain('kvsecret-1');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.each(servers().slice(0, 1))('secrets in the action on $name', ({ url }) => {
  it('masks the step summary, the JSON report, SARIF, outputs and the log, not only through add-mask', async () => {
    const u = new URL(url);
    u.password = 'act%2Fsecret%40pw';
    const root = makeRepo({
      'migrations/0001_t.up.sql': 'CREATE TABLE t (id int PRIMARY KEY);\n',
      'migrations/0001_t.down.sql': 'DROP TABLE t;\n',
      'migrations/0002_leak.up.sql': "SELECT 'act/secret@pw act%2Fsecret%40pw envpw-8888'::int;\n",
      'migrations/0002_leak.down.sql': 'SELECT 1;\n',
    });
    const run = await runSourceAction(
      { 'database-url': u.toString(), 'migrations-dir': 'migrations', stages: 'syntax', sarif: 'out/report.sarif' },
      { workspace: root, env: { PGPASSWORD: 'envpw-8888' } },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::add-mask::act/secret@pw');
    const sarif = fs.readFileSync(path.join(root, 'out/report.sarif'), 'utf8');
    expect(run.reportText).toMatch(/invalid input syntax for type integer/);
    const log = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const text of [log, run.stderr, run.summary, run.summaryMarkdown ?? '', run.reportText ?? '', sarif, JSON.stringify(run.outputs)]) {
      for (const s of ['act/secret@pw', 'act%2Fsecret%40pw', 'envpw-8888']) expect(text).not.toContain(s);
    }
  });
});
