import fs from 'node:fs';
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { errorMessage } from '../errors.js';
import { commentMarker, renderComment } from '../report/comment.js';
import { sourceLinks } from './inputs.js';
import type { Report } from '../report/model.js';

export interface CommentTarget {
  owner: string;
  repo: string;
  number: number;
}

/** The pull request the workflow runs for, from the event payload; undefined for other events. */
export function pullRequestOf(env: NodeJS.ProcessEnv): CommentTarget | undefined {
  const file = env.GITHUB_EVENT_PATH;
  if (!file) return undefined;
  let payload: Record<string, any>;
  try {
    payload = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const number: unknown = payload.pull_request?.number ?? (payload.issue?.pull_request ? payload.issue.number : undefined);
  if (typeof number !== 'number') return undefined;
  const full: string = env.GITHUB_REPOSITORY || payload.repository?.full_name || '';
  const [owner, repo] = full.split('/');
  if (!owner || !repo) return undefined;
  return { owner, repo, number };
}

/** Link to the run page, where the full job summary is. */
export function runUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run, GITHUB_RUN_ATTEMPT: attempt } = env;
  if (!server || !repo || !run) return undefined;
  return `${server.replace(/\/$/, '')}/${repo}/actions/runs/${run}${attempt && attempt !== '1' ? `/attempts/${attempt}` : ''}`;
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown })?.status;
  return typeof s === 'number' ? s : undefined;
}

/**
 * Creates or updates this job's one comment on the pull request, found again by its hidden
 * marker. Never throws: without permission (a fork's read-only token), or when GitHub fails,
 * it says so once and the run goes on; the verdict never depends on the comment.
 */
export async function postComment(
  report: Report,
  opts: { env: NodeJS.ProcessEnv; token: string; key: string | undefined },
): Promise<void> {
  const { env, token, key } = opts;
  const pr = pullRequestOf(env);
  if (!pr) {
    core.info(`comment: this run is not for a pull request (event ${env.GITHUB_EVENT_NAME || 'unknown'}), so there is nothing to comment on`);
    return;
  }
  if (token.trim() === '') {
    core.warning('migration-ci cannot comment on the pull request: the github-token input is empty. The result is in the job summary.');
    return;
  }
  const marker = commentMarker({ workflow: env.GITHUB_WORKFLOW, job: env.GITHUB_JOB, key, shard: report.shard });
  const title = ['migration-ci', key, report.shard ? `shard ${report.shard.index}/${report.shard.total}` : undefined].filter(Boolean).join(' · ');
  const links = sourceLinks(env);
  const body = renderComment(report, { marker, title, summaryUrl: runUrl(env), ...(links ? { links } : {}) });
  try {
    const octokit = getOctokit(token, { baseUrl: env.GITHUB_API_URL || 'https://api.github.com' });
    const target = { owner: pr.owner, repo: pr.repo };
    const comments = await octokit.paginate(octokit.rest.issues.listComments, { ...target, issue_number: pr.number, per_page: 100 });
    // Ours start with the marker; a reply quoting one does not.
    const ours = comments.filter((c) => (c.body ?? '').startsWith(marker));
    if (ours.length === 0) {
      const created = await octokit.rest.issues.createComment({ ...target, issue_number: pr.number, body });
      core.info(`comment: posted ${created.data.html_url}`);
      return;
    }
    const [keep, ...extra] = ours;
    const updated = await octokit.rest.issues.updateComment({ ...target, comment_id: keep!.id, body });
    core.info(`comment: updated ${updated.data.html_url}`);
    // Two runs racing may each have created one; keep a single comment.
    for (const c of extra) await octokit.rest.issues.deleteComment({ ...target, comment_id: c.id }).catch(() => {});
  } catch (e) {
    const status = statusOf(e);
    const reason = status !== undefined ? `GitHub answered ${status}: ${firstLine(errorMessage(e))}` : errorMessage(e);
    const advice =
      status === 403 || status === 404
        ? ' A pull request from a fork gets a read-only token; elsewhere the job needs `permissions: pull-requests: write`.'
        : '';
    core.warning(`migration-ci cannot comment on pull request #${pr.number} (${reason}).${advice} The result is in the job summary.`);
  }
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
