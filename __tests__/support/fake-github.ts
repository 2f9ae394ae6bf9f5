import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: string };
  html_url: string;
  created_at: string;
  updated_at: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/**
 * A stand-in for the GitHub REST API on 127.0.0.1, holding the comments of pull requests:
 * list (paginated with Link headers, like GitHub), create, update, delete. `refuse` makes every
 * request answer with that status, as GitHub does for a read-only token.
 */
export class FakeGitHub {
  readonly comments = new Map<string, FakeComment[]>();
  readonly requests: RecordedRequest[] = [];
  refuse: 403 | 404 | 500 | undefined;
  private nextId = 1000;
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (d) => (raw += d));
      req.on('end', () => this.handle(req, raw, res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Comments of one pull request, created as some user. */
  seed(prKey: string, bodies: string[], login = 'reviewer'): void {
    const list = this.comments.get(prKey) ?? [];
    for (const body of bodies) list.push(this.make(prKey, body, login));
    this.comments.set(prKey, list);
  }

  private make(prKey: string, body: string, login: string): FakeComment {
    const id = this.nextId++;
    const now = new Date().toISOString();
    return { id, body, user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' }, html_url: `https://github.test/${prKey.replace('#', '/pull/')}#issuecomment-${id}`, created_at: now, updated_at: now };
  }

  private send(res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, authorization: req.headers.authorization, body });
    if (this.refuse !== undefined) {
      const message = this.refuse === 403 ? 'Resource not accessible by integration' : this.refuse === 404 ? 'Not Found' : 'Server Error';
      this.send(res, this.refuse, { message, documentation_url: 'https://docs.github.com/rest', status: String(this.refuse) });
      return;
    }
    const list = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
    const one = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (list) {
      const key = `${list[1]}/${list[2]}#${list[3]}`;
      const all = this.comments.get(key) ?? [];
      if (req.method === 'GET') {
        const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
        const page = Number(url.searchParams.get('page') ?? 1);
        const pages = Math.max(1, Math.ceil(all.length / perPage));
        const links: string[] = [];
        const link = (p: number, rel: string) => {
          const u = new URL(url.href);
          u.searchParams.set('per_page', String(perPage));
          u.searchParams.set('page', String(p));
          links.push(`<${u.href}>; rel="${rel}"`);
        };
        if (page < pages) {
          link(page + 1, 'next');
          link(pages, 'last');
        }
        this.send(res, 200, all.slice((page - 1) * perPage, page * perPage), links.length > 0 ? { link: links.join(', ') } : {});
        return;
      }
      if (req.method === 'POST') {
        const c = this.make(key, String((body as { body?: unknown })?.body ?? ''), 'github-actions[bot]');
        all.push(c);
        this.comments.set(key, all);
        this.send(res, 201, c);
        return;
      }
    }
    if (one) {
      const id = Number(one[3]);
      for (const all of this.comments.values()) {
        const i = all.findIndex((c) => c.id === id);
        if (i < 0) continue;
        if (req.method === 'PATCH') {
          all[i] = { ...all[i]!, body: String((body as { body?: unknown })?.body ?? ''), updated_at: new Date().toISOString() };
          this.send(res, 200, all[i]);
          return;
        }
        if (req.method === 'DELETE') {
          all.splice(i, 1);
          this.send(res, 204);
          return;
        }
      }
    }
    this.send(res, 404, { message: 'Not Found' });
  }
}

/** A pull_request event payload as GitHub writes it to GITHUB_EVENT_PATH (the fields that matter, and some that do not). */
export function pullRequestEvent(opts: { owner: string; repo: string; number: number; fork?: boolean }): Record<string, unknown> {
  const full = `${opts.owner}/${opts.repo}`;
  const headRepo = opts.fork ? `contributor/${opts.repo}` : full;
  return {
    action: 'synchronize',
    number: opts.number,
    before: '9f2c1d0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d',
    after: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b',
    pull_request: {
      url: `https://api.github.com/repos/${full}/pulls/${opts.number}`,
      id: 1_934_567_890,
      number: opts.number,
      state: 'open',
      title: 'Add plan column to accounts',
      user: { login: 'contributor', type: 'User' },
      head: { label: `${headRepo.split('/')[0]}:add-plan`, ref: 'add-plan', sha: '1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b', repo: { full_name: headRepo, fork: opts.fork === true } },
      base: { label: `${opts.owner}:main`, ref: 'main', sha: '0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6', repo: { full_name: full, fork: false } },
      draft: false,
      merged: false,
    },
    repository: { id: 123_456_789, name: opts.repo, full_name: full, private: false, owner: { login: opts.owner, type: 'Organization' }, default_branch: 'main' },
    sender: { login: 'contributor', type: 'User' },
  };
}
