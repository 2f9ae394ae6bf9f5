import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { discoverCodeMigrations } from '../src/migrations/code.js';
import { detectFormat, discoverMigrations, type DiscoveryOptions } from '../src/migrations/discover.js';
import { changesetSelected, parseFilterExpression, parseLiquibaseSql } from '../src/migrations/liquibase.js';
import { runPipeline } from '../src/pipeline.js';
import { configFor, makeRepo } from './support/fixtures.js';
import { servers } from './support/servers.js';

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

const discover = (root: string, format: Parameters<typeof discoverMigrations>[2] = 'auto', options: DiscoveryOptions = {}) =>
  discoverMigrations(root, path.join(root, 'migrations'), format, options);

describe('a folder with no migration to test says what it looks like', () => {
  const diesel = {
    'migrations/2024-01-01-000000_create_users/up.sql': 'CREATE TABLE users (id int);\n',
    'migrations/2024-01-01-000000_create_users/down.sql': 'DROP TABLE users;\n',
    'migrations/2024-01-02-000000_add_bio/up.sql': 'ALTER TABLE users ADD COLUMN bio text;\n',
  };

  it('names the format that fits when another was asked for', () => {
    const e = errorOf(() => discover(makeRepo(diesel), 'golang-migrate'));
    expect(e.message).toBe(
      'no migrations found in migrations (format golang-migrate); this folder looks like diesel because it holds 2 folders <version>_<name>/up.sql named as Diesel names them; pass --format diesel (or leave it at auto)',
    );
  });

  it('says what a folder holds when no SQL format fits it', () => {
    const js = makeRepo({ 'migrations/20240101_init.js': 'exports.up = () => {};\n', 'migrations/20240102_more.js': '' });
    expect(errorOf(() => discover(js)).message).toBe(
      'no migrations found in migrations: it holds 2 JavaScript/TypeScript files: migrations as code (knex, node-pg-migrate, TypeORM); give up-command and down-command',
    );
    const plain = makeRepo({ 'migrations/20240101_init.sql': 'SELECT 1;\n' });
    expect(errorOf(() => discover(plain)).message).toContain('it holds 1 file <version>_<name>.sql without up/down markers: up-only SQL as sqlx or Supabase keep it');
  });

  it('points one folder down when the migrations are there', () => {
    const root = makeRepo({ 'migrations/schema.prisma': 'datasource db {}\n', 'migrations/migrations/migration_lock.toml': 'provider = "postgresql"\n', 'migrations/migrations/20240101000000_init/migration.sql': 'SELECT 1;\n' });
    expect(errorOf(() => discover(root)).message).toBe(
      'no migrations found in migrations: it holds a migrations folder that looks like prisma: point migrations-dir at migrations/migrations',
    );
  });

  it('does not pass in command mode over a folder of migration folders: 0 steps is an error that names the layout', () => {
    const root = makeRepo(diesel);
    const e = errorOf(() => discoverCodeMigrations(root, path.join(root, 'migrations'), true));
    expect(e.message).toBe(
      'no migrations found in migrations for up-command: no file named <version>_<name>.<ext>; this folder looks like diesel because it holds 2 folders <version>_<name>/up.sql named as Diesel names them, whose SQL migration-ci runs itself: drop up-command and down-command',
    );
  });

  it('says when every Liquibase changeset is filtered out', () => {
    const root = makeRepo({ 'migrations/a.sql': '--liquibase formatted sql\n--changeset a:1 context:prod\nSELECT 1;\n' });
    expect(errorOf(() => discover(root, 'auto', { liquibase: { contexts: ['test'] } })).message).toContain(
      'no migrations found in migrations (format liquibase); every changeset is filtered out by contexts, labels or dbms',
    );
  });
});

describe('directory per migration', () => {
  it('honours Diesel metadata.toml and Sourcegraph metadata.yaml, and takes an up without a down as a missing down', () => {
    const root = makeRepo({
      'migrations/2024-01-01-000000_a/up.sql': 'CREATE TABLE a (id int);\n',
      'migrations/2024-01-01-000000_a/down.sql': 'DROP TABLE a;\n',
      'migrations/2024-01-01-000000_a/metadata.toml': 'run_in_transaction = false\n',
      'migrations/2024-01-02-000000_b/up.sql': 'CREATE TABLE b (id int);\n',
    });
    const [a, b] = discover(root).migrations;
    expect([a!.up.noTransaction, a!.down!.noTransaction]).toEqual([true, true]);
    expect([b!.up.noTransaction, b!.down]).toEqual([undefined, undefined]);

    const sg = makeRepo({
      'migrations/1000/up.sql': 'CREATE INDEX CONCURRENTLY i ON t (c);\n',
      'migrations/1000/down.sql': 'DROP INDEX i;\n',
      'migrations/1000/metadata.yaml': 'name: add index\nparents: [999]\ncreateIndexConcurrently: true\n',
    });
    const found = discover(sg);
    expect(found.format).toBe('sourcegraph');
    expect(found.migrations.map((m) => [m.version, m.name, m.up.noTransaction])).toEqual([['1000', 'add index', true]]);
  });

  it('refuses Prisma migrations written for another database', () => {
    const root = makeRepo({ 'migrations/migration_lock.toml': 'provider = "mysql"\n', 'migrations/20240101000000_init/migration.sql': 'SELECT 1;\n' });
    expect(errorOf(() => discover(root)).message).toBe('migrations/migration_lock.toml says these migrations are for mysql, not PostgreSQL');
  });

  it('says which metadata file cannot be read', () => {
    const root = makeRepo({ 'migrations/2024-01-01-000000_a/up.sql': 'SELECT 1;\n', 'migrations/2024-01-01-000000_a/metadata.toml': 'run_in_transaction = = false\n' });
    expect(errorOf(() => discover(root)).message).toMatch(/^migrations\/2024-01-01-000000_a\/metadata\.toml cannot be read as TOML: /);
  });
});

describe('Atlas sum check', () => {
  const files = {
    'migrations/1_a.sql': 'CREATE TABLE a (id int);\n',
    'migrations/2_b.sql': 'CREATE TABLE b (id int);\n',
  };

  it('passes an untouched folder and warns about an edited, added or unrecorded file', async () => {
    const { atlasSum } = await import('../src/migrations/up-only.js');
    const sum = atlasSum([
      { name: '1_a.sql', bytes: Buffer.from(files['migrations/1_a.sql']) },
      { name: '2_b.sql', bytes: Buffer.from(files['migrations/2_b.sql']) },
    ]);
    const text = `h1:${sum.total}\n${sum.files.map((f) => `${f.name} h1:${f.hash}`).join('\n')}\n`;
    expect(discover(makeRepo({ ...files, 'migrations/atlas.sum': text })).notices).toEqual([]);
    const edited = discover(makeRepo({ ...files, 'migrations/1_a.sql': 'CREATE TABLE a (id bigint);\n', 'migrations/atlas.sum': text })).notices;
    expect(edited.map((n) => [n.severity, n.rule, n.line, n.message])).toEqual([
      ['warning', 'atlas-sum-mismatch', 2, '1_a.sql differs from what migrations/atlas.sum recorded (line 2): Atlas refuses to run an edited folder until atlas migrate hash runs again'],
    ]);
    const added = discover(makeRepo({ ...files, 'migrations/3_c.sql': 'SELECT 1;\n', 'migrations/atlas.sum': text })).notices;
    expect(added.map((n) => n.message)).toEqual(['3_c.sql is not in migrations/atlas.sum: Atlas refuses to run until atlas migrate hash records it']);
  });
});

describe('Liquibase formatted SQL', () => {
  const changelog = [
    '--liquibase formatted sql', // 1
    '', // 2
    '--changeset alice:1 runInTransaction:false', // 3
    'CREATE INDEX CONCURRENTLY i ON t (c);', // 4
    '--rollback DROP INDEX CONCURRENTLY i;', // 5
    '', // 6
    '--changeset "Bob Smith":2 endDelimiter:/ context:"dev or test" labels:v2,slow', // 7
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', // 8
    '/', // 9
    '--rollback not required', // 10
    '', // 11
    '--changeset alice:3 dbms:!oracle', // 12
    '--ignoreLines:1', // 13
    'this line is ignored', // 14
    'SELECT 3;', // 15
  ].join('\n');

  it('reads changesets, their attributes and rollbacks at their own lines', () => {
    const sets = parseLiquibaseSql('c.sql', changelog);
    expect(sets.map((c) => [c.author, c.id, c.line])).toEqual([
      ['alice', '1', 3],
      ['Bob Smith', '2', 7],
      ['alice', '3', 12],
    ]);
    expect(sets[0]!.up.noTransaction).toBe(true);
    expect(sets[0]!.down!.text.split('\n')[4]).toBe('           DROP INDEX CONCURRENTLY i;');
    expect(sets[1]!.up.text.split('\n')[8]).toBe(';');
    expect([sets[1]!.down, sets[1]!.rollbackNotRequired]).toEqual([undefined, true]);
    expect(sets[2]!.up.text.split('\n')[13]!.trim()).toBe('');
    expect(sets[2]!.up.text.split('\n')[14]).toBe('SELECT 3;');
    for (const c of sets) expect(c.up.text.split('\n')).toHaveLength(15);
  });

  it('filters by contexts, labels and dbms as Liquibase does', () => {
    const sets = parseLiquibaseSql('c.sql', changelog);
    const pick = (filters: Parameters<typeof changesetSelected>[1]) => sets.filter((c) => changesetSelected(c.attributes, filters).selected).map((c) => c.id);
    expect(pick({})).toEqual(['1', '2', '3']);
    expect(pick({ contexts: ['prod'] })).toEqual(['1', '3']);
    expect(pick({ contexts: ['test'] })).toEqual(['1', '2', '3']);
    expect(pick({ labels: '!slow' })).toEqual(['1', '3']);
    expect(pick({ labels: 'v2 and (slow or fast)' })).toEqual(['1', '2', '3']);
    expect(changesetSelected({ dbms: 'oracle,mysql' }, {}).selected).toBe(false);
    expect(changesetSelected({ dbms: 'postgresql' }, {}).selected).toBe(true);
    expect(parseFilterExpression('not a and b, c')((n) => n === 'c')).toBe(true);
    expect(() => parseFilterExpression('a and')).toThrow('cannot read the Liquibase expression "a and"');
  });

  it('reads one changelog file, an XML master with include and includeAll, and a SQL master', () => {
    const header = '--liquibase formatted sql\n';
    const one = makeRepo({ 'db/changes.sql': `${header}--changeset a:1\nSELECT 1;\n--changeset a:2\nSELECT 2;\n` });
    expect(discoverMigrations(one, path.join(one, 'db/changes.sql'), 'auto').migrations.map((m) => m.version)).toEqual(['a:1', 'a:2']);

    const xml = makeRepo({
      'src/main/resources/db/changelog/master.xml':
        '<?xml version="1.0"?>\n<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">\n' +
        '  <include file="db/changelog/z-first.sql"/>\n  <includeAll path="later/" relativeToChangelogFile="true"/>\n' +
        '  <changeSet id="x" author="a"><sql>SELECT 1</sql></changeSet>\n</databaseChangeLog>\n',
      'src/main/resources/db/changelog/z-first.sql': `${header}--changeset a:first\nSELECT 1;\n`,
      'src/main/resources/db/changelog/later/b.sql': `${header}--changeset a:b\nSELECT 1;\n`,
      'src/main/resources/db/changelog/later/a.sql': `${header}--changeset a:a\nSELECT 1;\n`,
    });
    const found = discoverMigrations(xml, path.join(xml, 'src/main/resources/db/changelog'), 'auto');
    expect(found.format).toBe('liquibase');
    expect(found.migrations.map((m) => m.version)).toEqual(['a:first', 'a:a', 'a:b']);
    expect(found.notices.map((n) => n.message)).toEqual([
      'src/main/resources/db/changelog/master.xml: 1 changesets written in XML/YAML are not read (only formatted SQL is); skipped',
    ]);

    const sqlMaster = makeRepo({
      'migrations/changelog.sql': `${header}--include file:b.sql relativeToChangelogFile:true\n--include file:a.sql relativeToChangelogFile:true\n`,
      'migrations/a.sql': `${header}--changeset a:a\nSELECT 1;\n`,
      'migrations/b.sql': `${header}--changeset a:b\nSELECT 1;\n`,
    });
    expect(discover(sqlMaster).migrations.map((m) => m.version)).toEqual(['a:b', 'a:a']);

    // Plain SQL a changelog includes is one raw changeset; plain SQL nobody includes is not a changelog.
    const raw = makeRepo({
      'migrations/changelog.xml': '<databaseChangeLog><include file="init.sql" relativeToChangelogFile="true"/></databaseChangeLog>',
      'migrations/init.sql': 'CREATE TABLE t (id int);\n',
      'migrations/notes.sql': 'SELECT 1;\n',
    });
    const rawFound = discover(raw);
    expect(rawFound.migrations.map((m) => [m.version, m.name, m.down])).toEqual([['includeAll:raw', 'init', undefined]]);
  });

  it('refuses a changeset defined twice in a file and an include that is not there', () => {
    const twice = makeRepo({ 'migrations/a.sql': '--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n--changeset a:1\nSELECT 2;\n' });
    expect(errorOf(() => discover(twice)).message).toBe('migrations/a.sql:4: changeset a:1 is already defined at line 2');
    const missing = makeRepo({ 'migrations/changelog.yaml': 'databaseChangeLog:\n  - include:\n      file: nope.sql\n      relativeToChangelogFile: true\n' });
    expect(errorOf(() => discover(missing)).message).toBe('migrations/changelog.yaml includes migrations/nope.sql, which does not exist');
  });
});

describe('sql-migrate, tern, postgrator, node-pg-migrate', () => {
  it('honours their transaction markers and missing downs', () => {
    const sqlMigrate = discover(makeRepo({ 'migrations/20240101120000-idx.sql': '-- +migrate Up notransaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n-- +migrate Down\nDROP INDEX i;\n' }));
    expect(sqlMigrate.format).toBe('sql-migrate');
    expect([sqlMigrate.migrations[0]!.up.noTransaction, sqlMigrate.migrations[0]!.down!.noTransaction]).toEqual([true, undefined]);

    const tern = discover(makeRepo({ 'migrations/tern.conf': '[database]\n', 'migrations/001_a.sql': '---- tern: disable-tx ----\nCREATE TABLE a (id int);\n---- create above / drop below ----\nDROP TABLE a;\n', 'migrations/002_b.sql': 'CREATE TABLE b (id int);\n' }));
    expect([tern.format, tern.notices]).toEqual(['tern', []]);
    expect(tern.migrations.map((m) => [m.up.noTransaction, m.down?.text.trim()])).toEqual([
      [true, 'DROP TABLE a;'],
      [undefined, undefined],
    ]);

    const postgrator = makeRepo({ 'migrations/001.do.sql': 'SELECT 1;\n', 'migrations/002.undo.sql': 'SELECT 1;\n' });
    expect(errorOf(() => discover(postgrator)).message).toBe('migrations/002.undo.sql is an undo migration without a do migration (expected 002.do.sql)');

    const npm = discover(makeRepo({ 'migrations/1700000000000_a.sql': '-- Up Migration\nCREATE TABLE a (id int);\n-- Down Migration\nDROP TABLE a;\n' }));
    expect([npm.format, npm.migrations[0]!.up.text.split('\n')[1], npm.migrations[0]!.down!.text.split('\n')[3]]).toEqual(['node-pg-migrate', 'CREATE TABLE a (id int);', 'DROP TABLE a;']);
  });

  it('detects up-only folders from where they are', () => {
    const supabase = makeRepo({ 'supabase/migrations/20240101000000_a.sql': 'SELECT 1;\n' });
    expect(detectFormat(supabase, path.join(supabase, 'supabase/migrations'))).toBe('supabase');
    const sqlx = makeRepo({ 'Cargo.toml': '[package]\nname = "x"\n', 'migrations/20240101000000_a.sql': '-- no-transaction\nSELECT 1;\n' });
    const found = discover(sqlx);
    expect([found.format, found.migrations[0]!.up.noTransaction, found.migrations[0]!.upOnly]).toEqual(['sqlx', true, 'sqlx']);
  });
});

describe.each(servers().slice(0, 1))('runs on $name', ({ url }) => {
  it("gives a Diesel migration that reads Diesel's own table that table, as Diesel would", async () => {
    const root = makeRepo({
      'migrations/2024-01-01-000000_a/up.sql': 'CREATE TABLE a (id int);\n',
      'migrations/2024-01-01-000000_a/down.sql': 'DROP TABLE a;\n',
      'migrations/2024-01-02-000000_b/up.sql': 'CREATE TABLE b AS SELECT version FROM __diesel_schema_migrations;\n',
      'migrations/2024-01-02-000000_b/down.sql': 'DROP TABLE b;\n',
    });
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,rollback' }));
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.verdict).toBe('pass');
    // Other formats get no such table.
    const other = makeRepo({ 'migrations/1_b.up.sql': 'SELECT version FROM __diesel_schema_migrations;\n', 'migrations/1_b.down.sql': 'SELECT 1;\n' });
    const failing = await runPipeline(configFor(other, url, { stages: 'syntax' }));
    expect(failing.findings.map((f) => f.message)).toContain('relation "__diesel_schema_migrations" does not exist');
  });


  it('a changeset added to an existing Liquibase file is the only one under test, and not out of order', async () => {
    const header = '--liquibase formatted sql\n';
    const root = makeRepo({
      'migrations/changelog.yaml': 'databaseChangeLog:\n  - include: { file: a.sql, relativeToChangelogFile: true }\n  - include: { file: b.sql, relativeToChangelogFile: true }\n',
      'migrations/a.sql': `${header}--changeset x:1\nCREATE TABLE a (id int);\n--rollback DROP TABLE a;\n`,
      'migrations/b.sql': `${header}--changeset x:2\nCREATE TABLE b (id int);\n--rollback DROP TABLE b;\n`,
    });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'pipe', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    fs.appendFileSync(path.join(root, 'migrations/a.sql'), '\n--changeset x:3\nALTER TABLE a ADD COLUMN note text;\n--rollback ALTER TABLE a DROP COLUMN note;\n');
    const report = await runPipeline(configFor(root, url, { stages: 'syntax,rollback', baseRef: 'main' }));
    expect(report.migrations.map((m) => [m.version, m.underTest])).toEqual([
      ['x:1', false],
      ['x:3', true],
      ['x:2', false],
    ]);
    expect(report.findings.filter((f) => f.severity !== 'notice')).toEqual([]);
    expect(report.verdict).toBe('pass');
  });

  it('a pull request that touches no migration passes and says there was nothing to test', async () => {
    const root = makeRepo({ 'migrations/1_a.up.sql': 'CREATE TABLE a (id int);\n', 'migrations/1_a.down.sql': 'DROP TABLE a;\n' });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'pipe', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    fs.writeFileSync(path.join(root, 'README.md'), 'docs only\n');
    const report = await runPipeline(configFor(root, url, { stages: 'syntax', baseRef: 'main' }));
    expect(report.verdict).toBe('pass');
    expect(report.findings.filter((f) => f.rule === 'nothing-to-test').map((f) => f.message)).toEqual([
      'nothing to test: all 1 migrations exist unchanged at main, so this change touches no migration',
    ]);
  });
});
