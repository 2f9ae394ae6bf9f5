import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commentMarker, MAX_COMMENT_CHARS, renderComment } from '../src/report/comment.js';
import { bigReport, failingReport, passingReport } from './report-fixtures.js';
import { FakeGitHub, pullRequestEvent } from './support/fake-github.js';
import { leftoverScratchDatabases, makeRepo } from './support/fixtures.js';
import { runSourceAction } from './support/runner.js';
import { servers } from './support/servers.js';

const MARKER = '<!-- migration-ci comment: migrations / check -->';

describe('renderComment', () => {
  it('puts the marker first, failing migrations with their findings next, passing ones folded, then the link', () => {
    const text = renderComment(failingReport(), { marker: MARKER, summaryUrl: 'https://github.test/acme/shop/actions/runs/42' });
    expect(text.split('\n')[0]).toBe(MARKER);
    expect(text).toContain('## ❌ migration-ci: fail');
    const failing = text.indexOf('#### ❌ `0003` add\\_bio');
    const warning = text.indexOf('#### ⚠️ `0002` add\\_status');
    const missing = text.indexOf('#### ❌ `0004` backfill\\_bio');
    const passing = text.indexOf('<details><summary>✅ 1 migration without failures or warnings</summary>');
    expect(failing).toBeGreaterThan(0);
    // Errors first, then warnings; the passing part after all of them; the link last.
    expect(failing).toBeLessThan(warning);
    expect(missing).toBeLessThan(warning);
    expect(warning).toBeLessThan(passing);
    expect(text.slice(failing, warning)).toContain('`db/migrations/0003_add_bio.up.sql:4:19` · `syntax/apply-failed` — syntax error at or near "AERT"');
    expect(text.slice(warning, passing)).toContain('<details><summary>Detail</summary>');
    expect(text.slice(passing)).toContain('| `0001` | create\\_users | baseline |');
    expect(text.trimEnd().split('\n').at(-1)).toBe('[Full job summary](https://github.test/acme/shop/actions/runs/42) · findings are also in the JSON report.');
  });

  it('says pass and folds everything when nothing needs attention', () => {
    const text = renderComment(passingReport(), { marker: MARKER });
    expect(text).toContain('## ✅ migration-ci: pass');
    expect(text).not.toContain('Needs attention');
    expect(text).toContain('<details><summary>✅ 3 migrations without failures or warnings</summary>');
    // The notice of a passing migration is inside the folded part.
    expect(text.indexOf('CREATE INDEX CONCURRENTLY')).toBeGreaterThan(text.indexOf('<details>'));
  });

  it('stays within 65,536 characters with 5,000 findings, cutting details, then findings, and saying so', () => {
    const report = bigReport(5_000);
    const text = renderComment(report, { marker: MARKER, summaryUrl: 'https://github.test/r' });
    expect(text.length).toBeLessThanOrEqual(MAX_COMMENT_CHARS);
    expect(text.length).toBeGreaterThan(MAX_COMMENT_CHARS * 0.8); // the room is used
    expect(text.startsWith(MARKER)).toBe(true);
    const m = /\*\*([\d,]+) more findings not shown here; see the job summary\.\*\*/.exec(text);
    expect(m).not.toBeNull();
    const shown = text.split('\n').filter((l) => l.startsWith('- `db/migrations/')).length;
    expect(shown + Number(m![1]!.replace(/,/g, ''))).toBe(
      // findings of failing migrations and findings without one; notices of passing migrations are counted apart
      report.findings.filter((f) => report.migrations.find((x) => x.version === f.migration)!.stages.syntax === 'fail' || f.severity !== 'notice').length,
    );
    // Errors are listed before anything is cut, and the link survives.
    expect(text).toContain('`syntax/apply-failed`');
    expect(text.trimEnd().endsWith('findings are also in the JSON report.')).toBe(true);
    for (const max of [2_000, 10_000, 30_000]) expect(renderComment(report, { marker: MARKER, maxChars: max }).length).toBeLessThanOrEqual(max);
  });

  it('makes markers that tell jobs, matrix keys and shards apart and cannot close the HTML comment', () => {
    expect(commentMarker({ workflow: 'migrations', job: 'check' })).toBe(MARKER);
    expect(commentMarker({ workflow: 'migrations', job: 'check', key: 'pg17' })).toBe('<!-- migration-ci comment: migrations / check / pg17 -->');
    expect(commentMarker({ workflow: 'ci', job: 'test', shard: { index: 2, total: 4 } })).toBe('<!-- migration-ci comment: ci / test / shard 2/4 -->');
    const evil = commentMarker({ workflow: 'a --> <img src=x>', job: 'j' });
    expect(evil.slice(4, -3)).not.toMatch(/-->|<|>/);
  });
});

const OWNER = 'acme';
const REPO = 'shop';
const PR = 7;
const PR_KEY = `${OWNER}/${REPO}#${PR}`;

const BROKEN_ADD_REGION = 'ALTER TABLE accounts ADD COLUMN region text NOT NULL;\n';
const FIXED_ADD_REGION = "ALTER TABLE accounts ADD COLUMN region text NOT NULL DEFAULT 'eu';\n";

function workspace(addRegion: string): string {
  return makeRepo({
    'migrations/0001_create_accounts.up.sql': 'CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL);\n',
    'migrations/0001_create_accounts.down.sql': 'DROP TABLE accounts;\n',
    'migrations/0002_add_region.up.sql': addRegion,
    'migrations/0002_add_region.down.sql': 'ALTER TABLE accounts DROP COLUMN region;\n',
  });
}

describe.each(servers())('sticky pull request comment on $name', ({ url }) => {
  const github = new FakeGitHub();
  let eventPath = '';
  beforeAll(async () => {
    await github.start();
    eventPath = path.join(makeRepo({}), 'event.json');
    fs.writeFileSync(eventPath, JSON.stringify(pullRequestEvent({ owner: OWNER, repo: REPO, number: PR })));
    // Enough comments from people that ours lands on the second page.
    github.seed(PR_KEY, Array.from({ length: 130 }, (_, i) => `looks good ${i}`));
  });
  afterAll(() => github.stop());

  const env = () => ({
    GITHUB_API_URL: github.url,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_WORKFLOW: 'migrations',
    GITHUB_JOB: 'check',
    GITHUB_SERVER_URL: 'https://github.test',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
  });
  const inputs = { 'database-url': url, 'migrations-dir': 'migrations', stages: 'syntax', comment: 'true', 'github-token': 'ghs_test_token' };
  const ours = () => (github.comments.get(PR_KEY) ?? []).filter((c) => c.body.startsWith('<!-- migration-ci comment:'));

  it('creates the comment on the first run and updates the same one on the second', async () => {
    github.refuse = undefined;
    const firstRoot = workspace(BROKEN_ADD_REGION);
    const first = await runSourceAction({ ...inputs, sarif: 'out/migrations.sarif' }, { workspace: firstRoot, env: env() });
    expect(first.code, first.stderr).toBe(1);
    // The files the next steps use.
    expect(first.outputs.sarif).toBe(path.join(firstRoot, 'out/migrations.sarif'));
    const sarif = JSON.parse(fs.readFileSync(first.outputs.sarif!, 'utf8'));
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(['syntax/fails-with-rows']);
    expect(first.summaryMarkdown).toContain('## ❌ migration-ci: fail');
    expect(ours()).toHaveLength(1);
    const created = ours()[0]!;
    expect(created.body.split('\n')[0]).toBe(MARKER);
    expect(created.body).toContain('## ❌ migration-ci: fail');
    expect(created.body).toContain('#### ❌ `0002` add\\_region');
    expect(created.body).toContain('column "region" of relation "accounts" contains null values');
    expect(created.body).toContain('[Full job summary](https://github.test/acme/shop/actions/runs/4242)');
    expect(first.stdout).toMatch(/^comment: posted https:\/\/github\.test\/acme\/shop\/pull\/7#issuecomment-\d+$/m);
    // It looked through every page before creating, with the token it was given.
    expect(github.requests.some((r) => r.method === 'GET' && r.path.includes('page=2'))).toBe(true);
    expect(github.requests.every((r) => r.authorization === 'token ghs_test_token')).toBe(true);

    const before = github.requests.length;
    const second = await runSourceAction(inputs, { workspace: workspace(FIXED_ADD_REGION), env: env() });
    expect(second.code, second.stderr).toBe(0);
    expect(ours()).toHaveLength(1);
    const updated = ours()[0]!;
    expect(updated.id).toBe(created.id);
    expect(updated.body).toContain('## ✅ migration-ci: pass');
    expect(updated.body).not.toContain('contains null values');
    expect(github.comments.get(PR_KEY)).toHaveLength(131);
    const calls = github.requests.slice(before).map((r) => r.method);
    expect(calls.filter((m) => m === 'POST')).toHaveLength(0);
    expect(calls.filter((m) => m === 'PATCH')).toHaveLength(1);
    expect(second.stdout).toMatch(/^comment: updated /m);

    // A matrix leg with its own key gets its own comment and leaves the first one alone.
    const leg = await runSourceAction({ ...inputs, 'comment-key': 'pg17' }, { workspace: workspace(FIXED_ADD_REGION), env: env() });
    expect(leg.code, leg.stderr).toBe(0);
    expect(ours()).toHaveLength(2);
    expect(ours().map((c) => c.body.split('\n')[0])).toEqual([MARKER, '<!-- migration-ci comment: migrations / check / pg17 -->']);
    expect(ours()[1]!.body).toContain('## ✅ migration-ci · pg17: pass');
    expect(await leftoverScratchDatabases(url, second.pid)).toEqual([]);
  });

  it('survives a 403 (a fork pull request): says so once, and the verdict and outputs stay the same', async () => {
    github.refuse = 403;
    try {
      const failing = await runSourceAction(inputs, { workspace: workspace(BROKEN_ADD_REGION), env: env() });
      expect(failing.code, failing.stderr).toBe(1);
      expect(failing.outputs.verdict).toBe('fail');
      expect(failing.outputs.errors).toBe('1');
      const warnings = failing.stdout.split('\n').filter((l) => l.startsWith('::warning') && l.includes('comment'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^::warning::migration-ci cannot comment on pull request #7 \(GitHub answered 403: Resource not accessible by integration/);
      expect(warnings[0]).toContain('pull-requests: write');
      expect(failing.summary).toContain('## ❌ migration-ci: fail');
      expect(failing.stdout).toMatch(/^::error::migration-ci: 1 error in the migrations$/m);

      const passing = await runSourceAction(inputs, { workspace: workspace(FIXED_ADD_REGION), env: env() });
      expect(passing.code, passing.stderr).toBe(0);
      expect(passing.outputs.verdict).toBe('pass');
    } finally {
      github.refuse = undefined;
    }
  });

  it('skips with an info line on an event that is not a pull request', async () => {
    const pushEvent = path.join(makeRepo({}), 'push.json');
    fs.writeFileSync(pushEvent, JSON.stringify({ ref: 'refs/heads/main', before: 'a'.repeat(40), after: 'b'.repeat(40), repository: { full_name: `${OWNER}/${REPO}` } }));
    const before = github.requests.length;
    const run = await runSourceAction(inputs, { workspace: workspace(FIXED_ADD_REGION), env: { ...env(), GITHUB_EVENT_PATH: pushEvent, GITHUB_EVENT_NAME: 'push' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('comment: this run is not for a pull request (event push), so there is nothing to comment on');
    expect(run.stdout).not.toMatch(/^::warning/m);
    expect(github.requests.length).toBe(before);
  });
});
