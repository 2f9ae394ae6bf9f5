import { marked, type Token, type Tokens } from 'marked';
import { describe, expect, it } from 'vitest';
import { buildConfig } from '../src/config.js';
import { runPipeline } from '../src/pipeline.js';
import { renderSummary, type SourceLinks } from '../src/report/summary.js';
import { servers } from './support/servers.js';
import { bigReport, failingReport, passingReport, statementsReport } from './report-fixtures.js';

/** The summary as GitHub reads it: GFM tokens, in document order (tables, headings, lists, code). */
function tokens(markdown: string): Token[] {
  const out: Token[] = [];
  marked.walkTokens(marked.lexer(markdown, { gfm: true }), (t) => {
    out.push(t);
  });
  return out;
}

const repoRoot = new URL('..', import.meta.url).pathname;
const LINKS: SourceLinks = { serverUrl: 'https://github.com', repository: 'acme/shop', sha: '0123456789abcdef0123456789abcdef01234567' };

function html(markdown: string): string {
  return marked.parse(markdown, { gfm: true, async: false });
}

describe('the summary as GitHub renders it', () => {
  const cases = [
    ['failing', () => renderSummary(failingReport(), { links: LINKS })],
    ['passing', () => renderSummary(passingReport(), { links: LINKS })],
    ['statements', () => renderSummary(statementsReport(), { links: LINKS })],
    ['large', () => renderSummary(bigReport(300), { links: LINKS, maxBytes: 200_000 })],
  ] as const;

  it.each(cases)('%s: errors and warnings come before any table', (_name, render) => {
    const t = tokens(render());
    const firstTable = t.findIndex((x) => x.type === 'table');
    const findingHeadings = t.filter((x): x is Tokens.Heading => x.type === 'heading' && /Errors|Warnings/.test(x.text)).map((x) => t.indexOf(x));
    for (const i of findingHeadings) expect(i).toBeLessThan(firstTable === -1 ? Infinity : firstTable);
  });

  it.each(cases)('%s: no literal backslash-backtick in the rendered text', (_name, render) => {
    const out = html(render());
    expect(out).not.toContain('\\`');
    // And no backslash is left in front of any character in text (escapes are consumed by the renderer).
    const text = out.replace(/<pre>[\s\S]*?<\/pre>/g, '').replace(/<code>[\s\S]*?<\/code>/g, '');
    expect(text).not.toMatch(/\\[`*_|[\]]/);
  });

  it.each(cases)('%s: every link is well formed and points at a line of the commit', (_name, render) => {
    const links = tokens(render()).filter((x): x is Tokens.Link => x.type === 'link');
    for (const l of links) {
      const url = new URL(l.href);
      expect(url.origin).toBe('https://github.com');
      expect(url.pathname.startsWith(`/acme/shop/blob/${LINKS.sha}/`)).toBe(true);
      expect(url.hash).toMatch(/^(#L\d+(-L\d+)?)?$/);
    }
  });

  it('a failing run shows each error with its statement, a caret under the column and a link', () => {
    const md = renderSummary(failingReport(), { links: LINKS });
    const t = tokens(md);
    const errors = t.findIndex((x) => x.type === 'heading' && (x as Tokens.Heading).text.includes('Errors'));
    const code = t.findIndex((x, i) => i > errors && x.type === 'code');
    expect(code).toBeGreaterThan(errors);
    const block = (t[code] as Tokens.Code).text.split('\n');
    expect(block).toEqual(['2 | ALTER TABLE users ADD COLUMN bio text;', '3 |', '4 | ALTER TABLE users AERT COLUMN bio SET DEFAULT \'\';', '  |                   ^']);
    expect(md).toContain(`[\`db/migrations/0003_add_bio.up.sql:4:19\`](https://github.com/acme/shop/blob/${LINKS.sha}/db/migrations/0003_add_bio.up.sql#L4)`);
    // The fix of a rollback finding is SQL, shown as such.
    expect(t.some((x) => x.type === 'code' && (x as Tokens.Code).lang === 'sql' && (x as Tokens.Code).text === 'DROP INDEX users_status_idx;')).toBe(true);
  });

  it('tables keep every row to the header column count', () => {
    for (const [, render] of cases) {
      for (const table of tokens(render()).filter((x): x is Tokens.Table => x.type === 'table')) {
        for (const row of table.rows) expect(row.length).toBe(table.header.length);
      }
    }
  });

  it('table cells stay short enough for GitHub\'s 948 px content column', () => {
    // About 8 px a character in GitHub's body font (code a little wider): 110 visible characters a row.
    for (const [, render] of cases) {
      for (const table of tokens(render()).filter((x): x is Tokens.Table => x.type === 'table')) {
        for (const row of table.rows) {
          const widest = row.map((c) => Math.max(...c.text.split('<br>').map((part) => part.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`\\]/g, '').length)));
          const visible = widest.reduce((a, b) => a + b, 0) + row.length * 3;
          expect(visible, row.map((c) => c.text).join(' | ')).toBeLessThanOrEqual(110);
        }
      }
    }
  });
});

describe('examples/broken, run for real', () => {
  it.each(servers())('$name: both errors with their SQL and links above any table', async ({ url }) => {
    const report = await runPipeline(buildConfig(repoRoot, { dir: 'examples/broken', databaseUrl: url, stages: 'syntax,rollback' }));
    const md = renderSummary(report, { links: LINKS });
    const errors = report.findings.filter((f) => f.severity === 'error');
    expect(errors.map((f) => f.file)).toEqual(
      expect.arrayContaining(['examples/broken/0002_add_region.up.sql', 'examples/broken/0003_add_plan.up.sql']),
    );
    const firstTable = md.indexOf('\n| ');
    for (const f of errors) {
      const link = `https://github.com/acme/shop/blob/${LINKS.sha}/${f.file}#L${f.line}`;
      expect(md.indexOf(link)).toBeGreaterThan(0);
      expect(md.indexOf(link)).toBeLessThan(firstTable);
    }
    // The statements themselves, before the first table.
    const above = md.slice(0, firstTable);
    expect(above).toContain('ADD COLUMN region text NOT NULL;');
    expect(above).toContain("ALTER TABLE accounts AERT COLUMN plan SET DEFAULT 'free';");
    // The multi-line ALTER of 0002 is linked as a range.
    expect(above).toMatch(/0002_add_region\.up\.sql#L2-L3\)/);
    expect(above).toContain('[`examples/broken/0002_add_region.up.sql:2-3`](');
  });
});
