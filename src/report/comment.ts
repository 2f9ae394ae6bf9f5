import { countBySeverity, sortFindings, type Finding, type Report, type ReportMigration, type Severity } from './model.js';
import { code, escapeMarkdown, findingBlock, migrationRow, migrationsTableHeader, stageColumns, type SourceLinks } from './summary.js';
import { plural } from './terminal.js';

export interface CommentOptions {
  /** Hidden first line that finds this comment again (see `commentMarker`). */
  marker: string;
  /** Link to the run, where the full job summary is. */
  summaryUrl?: string;
  /** Shown in the heading; default `migration-ci`. */
  title?: string;
  /** Upper bound in characters (UTF-16 code units, never fewer than GitHub counts); default GitHub's limit. */
  maxChars?: number;
  /** Where the files are at the commit under test: locations become links. */
  links?: SourceLinks;
}

/** GitHub refuses an issue comment longer than this. */
export const MAX_COMMENT_CHARS = 65_536;

/**
 * The hidden line that identifies one job's comment on a pull request: workflow and job, plus
 * whatever tells apart jobs that share a job id (matrix legs: a key the user sets; shards).
 * Characters that could end an HTML comment are replaced.
 */
export function commentMarker(parts: { workflow?: string; job?: string; key?: string; shard?: { index: number; total: number } }): string {
  const id = [parts.workflow ?? '', parts.job ?? '', parts.key ?? '', parts.shard ? `shard ${parts.shard.index}/${parts.shard.total}` : '']
    .map((p) => p.trim().replace(/[^\p{L}\p{N} _./:@()+=#-]/gu, '_').replace(/-{2,}/g, '-'))
    .filter((p, i) => p !== '' || i < 2)
    .join(' / ');
  return `<!-- migration-ci comment: ${id} -->`;
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, notice: 2 };

interface Group {
  heading: string;
  findings: Finding[];
}

/**
 * The pull request comment: verdict and counts, then the migrations that fail or warn with
 * their findings (most severe first), then findings tied to no migration, then the passing
 * migrations folded away, then a link to the full job summary.
 *
 * Stays within `maxChars`: details of the last findings go first, then the last findings and
 * passing rows, each cut said in a line; the heading, the marker and the link always stay.
 */
export function renderComment(report: Report, opts: CommentOptions): string {
  const maxChars = opts.maxChars ?? MAX_COMMENT_CHARS;
  const title = opts.title ?? 'migration-ci';
  const columns = stageColumns(report);
  const findings = sortFindings(report.findings);

  const byMigration = new Map<string, Finding[]>();
  const loose: Finding[] = [];
  const versions = new Set(report.migrations.map((m) => m.version));
  for (const f of findings) {
    if (f.migration !== undefined && versions.has(f.migration)) {
      const list = byMigration.get(f.migration) ?? [];
      list.push(f);
      byMigration.set(f.migration, list);
    } else {
      loose.push(f);
    }
  }
  const rank = (m: ReportMigration): number => {
    const statuses = Object.values(m.stages);
    const own = byMigration.get(m.version) ?? [];
    if (statuses.includes('fail') || own.some((f) => f.severity === 'error')) return 0;
    if (statuses.includes('warn') || own.some((f) => f.severity === 'warning')) return 1;
    return 2;
  };
  const needsAttention = report.migrations
    .map((m, i) => ({ m, i, r: rank(m) }))
    .filter((x) => x.r < 2)
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.m);
  const passing = report.migrations.filter((m) => rank(m) === 2);

  const groups: Group[] = needsAttention.map((m) => ({
    heading: `#### ${rank(m) === 0 ? '❌' : '⚠️'} ${code(m.version, false)} ${escapeMarkdown(m.name)}${m.underTest ? '' : ' (baseline)'}\n\n`,
    findings: byMigration.get(m.version) ?? [],
  }));
  const looseSorted = [...loose].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
  if (looseSorted.length > 0) groups.push({ heading: '#### Other findings\n\n', findings: looseSorted });
  // Notices on passing migrations come last, inside the folded part.
  const passingNotices = passing.flatMap((m) => byMigration.get(m.version) ?? []);

  const flat = groups.flatMap((g) => g.findings);
  const shownFull = new Set<string>();
  const shownShort = new Set<string>();
  const full = flat.map((f) => findingBlock(f, true, { links: opts.links, shown: shownFull }));
  const short = flat.map((f) => findingBlock(f, false, { links: opts.links, shown: shownShort }));
  const noticeLines = passingNotices.map((f) => findingBlock(f, false, { links: opts.links }));
  const passingRows = passing.map((m) => migrationRow(m, columns).text);

  const head = `${opts.marker}\n${headLine(report, title)}`;

  interface Plan {
    detailsFor: number;
    findings: number;
    rows: number;
    notices: number;
  }
  const build = (p: Plan): string => {
    let out = head;
    if (groups.length > 0) out += '### Needs attention\n\n';
    let i = 0;
    for (const g of groups) {
      const shownHere = Math.max(0, Math.min(g.findings.length, p.findings - i));
      if (shownHere > 0 || g.findings.length === 0) {
        out += g.heading;
        for (let k = 0; k < shownHere; k++) out += (i + k < p.detailsFor ? full[i + k] : short[i + k]) ?? '';
        out += shownHere > 0 ? '\n' : '';
      }
      i += g.findings.length;
    }
    const cutDetails = flat.slice(p.detailsFor, p.findings).filter((f) => hasDetail(f)).length;
    if (cutDetails > 0) out += `_Details of ${plural(cutDetails, 'finding')} are in the job summary._\n\n`;
    if (p.findings < flat.length) out += `**${plural(flat.length - p.findings, 'more finding')} not shown here; see the job summary.**\n\n`;
    if (passing.length > 0) {
      const shown = passingRows.slice(0, p.rows);
      out += `<details><summary>✅ ${plural(passing.length, 'migration')} without failures or warnings</summary>\n\n`;
      if (shown.length > 0) out += migrationsTableHeader(columns) + shown.join('') + '\n';
      if (shown.length < passing.length) out += `${plural(passing.length - shown.length, 'more migration')} not listed here.\n\n`;
      const notices = noticeLines.slice(0, p.notices);
      if (notices.length > 0) out += notices.join('') + '\n';
      if (notices.length < noticeLines.length) out += `${plural(noticeLines.length - notices.length, 'more notice')} in the job summary.\n\n`;
      out += '</details>\n\n';
    }
    if (report.migrations.length === 0) out += 'No migrations found.\n\n';
    out += opts.summaryUrl ? `[Full job summary](${opts.summaryUrl}) · findings are also in the JSON report.\n` : 'The full job summary is on the run page.\n';
    return out;
  };

  const fits = (s: string) => s.length <= maxChars;
  /** Largest n in [0, max] for which `make(n)` fits (it fits for 0, and fitting is monotone in n). */
  const largest = (max: number, make: (n: number) => Plan): number => {
    let lo = 0;
    let hi = max;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(build(make(mid)))) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const all: Plan = { detailsFor: flat.length, findings: flat.length, rows: passingRows.length, notices: noticeLines.length };
  const text = build(all);
  if (fits(text)) return text;

  // Details go first, from the last finding backwards.
  const noDetails = { ...all, detailsFor: 0 };
  if (fits(build(noDetails))) return build({ ...noDetails, detailsFor: largest(flat.length, (n) => ({ ...noDetails, detailsFor: n })) });

  // Then the passing part, then the findings from the least severe backwards; what room is left goes back to the passing rows.
  const bare: Plan = { detailsFor: 0, findings: 0, rows: 0, notices: 0 };
  if (!fits(build(bare))) return `${opts.marker}\n${headLine(report, title)}`.slice(0, maxChars);
  const findingsShown = largest(flat.length, (n) => ({ ...bare, findings: n }));
  const rows = largest(passingRows.length, (n) => ({ ...bare, findings: findingsShown, rows: n }));
  return build({ ...bare, findings: findingsShown, rows });
}

function hasDetail(f: Finding): boolean {
  return (f.detail !== undefined && f.detail.trim() !== '') || (f.hint !== undefined && f.hint.trim() !== '');
}

function headLine(report: Report, title: string): string {
  const c = countBySeverity(report.findings);
  const underTest = report.migrations.filter((m) => m.underTest).length;
  const facts = [
    `PostgreSQL ${escapeMarkdown(report.postgres)}`,
    `${plural(underTest, 'migration')} under test of ${report.migrations.length.toLocaleString('en-US')}`,
    c.error > 0 ? `**${plural(c.error, 'error')}**` : plural(c.error, 'error'),
    plural(c.warning, 'warning'),
    plural(c.notice, 'notice'),
  ];
  return `## ${report.verdict === 'pass' ? '✅' : '❌'} ${escapeMarkdown(title)}: ${report.verdict}\n\n${facts.join(' · ')}\n\n`;
}
