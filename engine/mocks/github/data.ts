// The GitHub mock's fake data: repositories, issues, pull requests and users, derived from their names and a
// seed, so every start with the same seed gives the same ids, numbers, titles and states. Created issues
// are the only state, kept in memory for the life of the process.

import { mulberry32 } from '../../random.js';

/** Pull requests in every repository, numbered after its issues. */
export const PULLS_PER_REPO = 45;
/** The repository `/search/issues` searches when the query names none with `repo:`. */
export const DEFAULT_SEARCH_REPO = 'octocat/hello-world';
/** Repositories whose issue states are kept computed (listing a repository recomputes them otherwise). */
const STATE_CACHE_SIZE = 512;
const SEEDED_FROM = Date.parse('2023-01-02T09:00:00Z');
const HOUR_MS = 3_600_000;

const VERBS = ['Fix', 'Add', 'Support', 'Improve', 'Remove', 'Document', 'Refactor', 'Speed up', 'Handle', 'Deprecate'];
const SUBJECTS = [
  'crash', 'dark mode', 'pagination', 'rate limit handling', 'login flow', 'search results', 'webhook retries',
  'config loader', 'CLI output', 'cache invalidation', 'memory leak', 'timeouts', 'unicode titles', 'error messages',
  'flaky tests',
];
const CONTEXTS = [
  'on startup', 'in the settings page', 'for large repositories', 'when offline', 'on Windows', 'in the API client',
  'behind a proxy', 'during upgrades', 'with empty input', 'for new users',
];
const AUTHORS = [
  'octocat', 'monalisa', 'hubot', 'defunkt', 'mojombo', 'pjhyett', 'wycats', 'jbarnette', 'tenderlove', 'mislav',
  'kneath', 'holman',
];
const LABELS = [
  { name: 'bug', color: 'd73a4a' },
  { name: 'enhancement', color: 'a2eeef' },
  { name: 'documentation', color: '0075ca' },
  { name: 'good first issue', color: '7057ff' },
  { name: 'help wanted', color: '008672' },
  { name: 'question', color: 'd876e3' },
];
const LANGUAGES = ['TypeScript', 'Go', 'Rust', 'Python', 'JavaScript', 'Ruby', 'Java', 'C'];

/** FNV-1a over the text, started from the seed: a stable 32-bit number for a name. */
export function hashOf(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A number in [min, min + span) that follows from the name. */
function idOf(seed: number, text: string, min: number, span: number): number {
  return min + (hashOf(seed, text) % span);
}

function nodeId(kind: string, id: number): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString('base64');
}

function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export type IssueState = 'open' | 'closed';
export type StateFilter = IssueState | 'all';

interface IssueRecord {
  number: number;
  title: string;
  body: string;
  state: IssueState;
  author: string;
  labels: number[];
  comments: number;
  createdAt: number;
  updatedAt: number;
  closedAt: number | null;
}

interface PullRecord extends IssueRecord {
  mergedAt: number | null;
  draft: boolean;
  branch: string;
}

/** A repository as requested: the names as written, the key (lowercase) that data follows from. */
export interface RepoRef {
  owner: string;
  name: string;
  key: string;
}

export function repoRef(owner: string, name: string): RepoRef {
  return { owner, name, key: `${owner}/${name}`.toLowerCase() };
}

export interface SearchQuery {
  repo: RepoRef;
  words: string[];
  type: 'issue' | 'pr' | undefined;
  state: IssueState | undefined;
}

/** `q` of /search/issues: words matched in titles, and the qualifiers repo:, is:/type: (issue, pr), is:/state: (open,
 * closed). */
export function parseSearchQuery(q: string): SearchQuery {
  const query: SearchQuery = {
    repo: repoRef(...(DEFAULT_SEARCH_REPO.split('/') as [string, string])),
    words: [],
    type: undefined,
    state: undefined,
  };
  for (const term of q.trim().split(/\s+/)) {
    if (term === '') continue;
    const colon = term.indexOf(':');
    const key = colon > 0 ? term.slice(0, colon).toLowerCase() : '';
    const value = colon > 0 ? term.slice(colon + 1) : '';
    if (key === 'repo' && /^[\w.-]+\/[\w.-]+$/.test(value))
      query.repo = repoRef(...(value.split('/') as [string, string]));
    else if ((key === 'is' || key === 'type') && (value === 'issue' || value === 'pr')) query.type = value;
    else if ((key === 'is' || key === 'state') && (value === 'open' || value === 'closed')) query.state = value;
    else if (key === '') query.words.push(term.toLowerCase());
    // Other qualifiers (in:title, label:, author:, sort:, …) are accepted and ignored.
  }
  return query;
}

export class GithubData {
  private readonly created = new Map<string, IssueRecord[]>();
  private readonly stateCache = new Map<string, Uint8Array>();

  constructor(
    readonly seed: number,
    readonly issueCount: number,
  ) {}

  // ---- users

  user(login: string, base: string): Record<string, unknown> {
    const id = idOf(this.seed, `user:${login.toLowerCase()}`, 1_000, 90_000_000);
    return {
      login,
      id,
      node_id: nodeId('User', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: `${base}/users/${login}`,
      html_url: `https://github.com/${login}`,
      type: 'User',
      site_admin: false,
    };
  }

  /** The user a token belongs to: one user per token, its id stable for the same token and seed. */
  tokenUser(token: string): { id: number; login: string } {
    const id = idOf(this.seed, `token:${token}`, 1_000_000, 89_000_000);
    return { id, login: `user-${id}` };
  }

  authenticatedUser(token: string, base: string): Record<string, unknown> {
    const { id, login } = this.tokenUser(token);
    const random = mulberry32(id);
    return {
      ...this.user(login, base),
      id,
      node_id: nodeId('User', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      name: `Mock User ${id}`,
      company: null,
      blog: '',
      location: null,
      email: null,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: Math.floor(random() * 40),
      public_gists: Math.floor(random() * 10),
      followers: Math.floor(random() * 500),
      following: Math.floor(random() * 100),
      created_at: iso(SEEDED_FROM - Math.floor(random() * 2000) * 24 * HOUR_MS),
      updated_at: iso(SEEDED_FROM),
    };
  }

  // ---- repositories

  repo(ref: RepoRef, base: string): Record<string, unknown> {
    const id = idOf(this.seed, `repo:${ref.key}`, 100_000_000, 800_000_000);
    const random = mulberry32(id);
    const stars = Math.floor(random() * 5000);
    const forks = Math.floor(random() * 800);
    const createdAt = SEEDED_FROM - (1 + Math.floor(random() * 1500)) * 24 * HOUR_MS;
    const openIssues = this.numbers(ref, 'open').length + this.pullNumbers(ref, 'open').length;
    const url = `${base}/repos/${ref.owner}/${ref.name}`;
    return {
      id,
      node_id: nodeId('Repository', id),
      name: ref.name,
      full_name: `${ref.owner}/${ref.name}`,
      private: false,
      owner: this.user(ref.owner, base),
      html_url: `https://github.com/${ref.owner}/${ref.name}`,
      description: `${ref.name}: a repository of the GitHub API mock`,
      fork: false,
      url,
      issues_url: `${url}/issues{/number}`,
      pulls_url: `${url}/pulls{/number}`,
      created_at: iso(createdAt),
      updated_at: iso(SEEDED_FROM),
      pushed_at: iso(SEEDED_FROM),
      homepage: null,
      size: Math.floor(random() * 100_000),
      stargazers_count: stars,
      watchers_count: stars,
      language: LANGUAGES[Math.floor(random() * LANGUAGES.length)],
      has_issues: true,
      has_projects: true,
      has_wiki: false,
      forks_count: forks,
      archived: false,
      disabled: false,
      open_issues_count: openIssues,
      license: null,
      topics: [],
      visibility: 'public',
      forks,
      open_issues: openIssues,
      watchers: stars,
      default_branch: 'main',
    };
  }

  // ---- issues

  /** Numbers of the repository's issues in this state, newest first (GitHub's default order). */
  numbers(ref: RepoRef, state: StateFilter): number[] {
    const states = this.statesOf(ref);
    const out: number[] = [];
    const created = this.created.get(ref.key) ?? [];
    for (let i = created.length - 1; i >= 0; i--) if (state !== 'closed') out.push(created[i]!.number);
    for (let n = this.issueCount; n >= 1; n--) {
      const closed = states[n - 1] === 1;
      if (state === 'all' || (state === 'closed') === closed) out.push(n);
    }
    return out;
  }

  issue(ref: RepoRef, number: number, base: string): Record<string, unknown> | undefined {
    const record = this.issueRecord(ref, number);
    return record === undefined ? undefined : this.issueJson(ref, record, base);
  }

  createIssue(
    ref: RepoRef,
    title: string,
    body: string | null,
    author: string,
    now: number,
    base: string,
  ): Record<string, unknown> {
    const list = this.created.get(ref.key) ?? [];
    this.created.set(ref.key, list);
    const record: IssueRecord = {
      number: this.issueCount + PULLS_PER_REPO + list.length + 1,
      title,
      body: body ?? '',
      state: 'open',
      author,
      labels: [],
      comments: 0,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
    };
    list.push(record);
    return this.issueJson(ref, record, base);
  }

  // ---- pull requests

  pullNumbers(ref: RepoRef, state: StateFilter): number[] {
    const out: number[] = [];
    for (let n = this.issueCount + PULLS_PER_REPO; n > this.issueCount; n--) {
      if (state === 'all' || this.pullRecord(ref, n).state === state) out.push(n);
    }
    return out;
  }

  pull(ref: RepoRef, number: number, base: string): Record<string, unknown> {
    const pr = this.pullRecord(ref, number);
    const url = `${base}/repos/${ref.owner}/${ref.name}`;
    const id = idOf(this.seed, `pull:${ref.key}#${number}`, 1_000_000_000, 1_000_000_000);
    const sha = (hashOf(this.seed, `head:${ref.key}#${number}`).toString(16).padStart(8, '0')).repeat(5);
    return {
      url: `${url}/pulls/${number}`,
      id,
      node_id: nodeId('PullRequest', id),
      html_url: `https://github.com/${ref.owner}/${ref.name}/pull/${number}`,
      diff_url: `https://github.com/${ref.owner}/${ref.name}/pull/${number}.diff`,
      issue_url: `${url}/issues/${number}`,
      number,
      state: pr.state,
      locked: false,
      title: pr.title,
      user: this.user(pr.author, base),
      body: pr.body,
      labels: pr.labels.map((l) => this.labelJson(ref, l, base)),
      created_at: iso(pr.createdAt),
      updated_at: iso(pr.updatedAt),
      closed_at: pr.closedAt === null ? null : iso(pr.closedAt),
      merged_at: pr.mergedAt === null ? null : iso(pr.mergedAt),
      merge_commit_sha: pr.mergedAt === null ? null : sha.split('').reverse().join(''),
      draft: pr.draft,
      head: { label: `${pr.author}:${pr.branch}`, ref: pr.branch, sha },
      base: { label: `${ref.owner}:main`, ref: 'main', sha: '0'.repeat(40) },
      author_association: 'CONTRIBUTOR',
    };
  }

  // ---- search

  /** Issues and pull requests of the query's repository whose titles hold every word, newest first. */
  search(query: SearchQuery, base: string): Record<string, unknown>[] {
    const { repo, words } = query;
    const matches = (title: string): boolean => {
      const lower = title.toLowerCase();
      return words.every((w) => lower.includes(w));
    };
    const items: { number: number; json: () => Record<string, unknown> }[] = [];
    if (query.type !== 'pr') {
      for (const n of this.numbers(repo, query.state ?? 'all')) {
        const record = this.issueRecord(repo, n)!;
        if (matches(record.title)) items.push({ number: n, json: () => this.issueJson(repo, record, base) });
      }
    }
    if (query.type !== 'issue') {
      for (const n of this.pullNumbers(repo, query.state ?? 'all')) {
        const pr = this.pullRecord(repo, n);
        if (matches(pr.title)) items.push({ number: n, json: () => this.pullAsIssue(repo, pr, base) });
      }
    }
    items.sort((a, b) => b.number - a.number);
    return items.map((item) => ({ ...item.json(), score: 1 }));
  }

  // ---- records

  private statesOf(ref: RepoRef): Uint8Array {
    let states = this.stateCache.get(ref.key);
    if (states !== undefined) return states;
    states = new Uint8Array(this.issueCount);
    for (let n = 1; n <= this.issueCount; n++) states[n - 1] = this.issueRandom(ref, n)() < 0.25 ? 1 : 0;
    if (this.stateCache.size >= STATE_CACHE_SIZE) this.stateCache.delete(this.stateCache.keys().next().value!);
    this.stateCache.set(ref.key, states);
    return states;
  }

  private issueRandom(ref: RepoRef, number: number): () => number {
    return mulberry32(hashOf(this.seed, `issue:${ref.key}#${number}`));
  }

  private issueRecord(ref: RepoRef, number: number): IssueRecord | undefined {
    if (!Number.isSafeInteger(number) || number < 1) return undefined;
    if (number > this.issueCount) {
      const created = this.created.get(ref.key) ?? [];
      return created[number - this.issueCount - PULLS_PER_REPO - 1];
    }
    const random = this.issueRandom(ref, number);
    // The first draw is the state, so listing by state needs only one draw per issue (statesOf).
    const closed = random() < 0.25;
    return this.record(random, number, closed ? 'closed' : 'open');
  }

  private pullRecord(ref: RepoRef, number: number): PullRecord {
    const random = mulberry32(hashOf(this.seed, `pull:${ref.key}#${number}`));
    const open = random() < 0.4;
    const record = this.record(random, number, open ? 'open' : 'closed');
    const merged = !open && random() < 0.7;
    return {
      ...record,
      mergedAt: merged ? record.closedAt : null,
      draft: open && random() < 0.2,
      branch: `patch-${number}`,
    };
  }

  private record(random: () => number, number: number, state: IssueState): IssueRecord {
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const title = `${pick(VERBS)} ${pick(SUBJECTS)} ${pick(CONTEXTS)}`;
    const createdAt = SEEDED_FROM + number * 7 * HOUR_MS + Math.floor(random() * HOUR_MS);
    const updatedAt = createdAt + Math.floor(random() * 30 * 24) * HOUR_MS;
    const labels = [...new Set([Math.floor(random() * LABELS.length), Math.floor(random() * LABELS.length)])].slice(
      0,
      Math.floor(random() * 3),
    );
    return {
      number,
      title,
      body: `${title}.\n\nSteps to reproduce are in the linked discussion; seen by ` +
        `${1 + Math.floor(random() * 20)} people.`,
      state,
      author: pick(AUTHORS),
      labels,
      comments: Math.floor(random() * 15),
      createdAt,
      updatedAt,
      closedAt: state === 'closed' ? updatedAt : null,
    };
  }

  private labelJson(ref: RepoRef, index: number, base: string): Record<string, unknown> {
    const label = LABELS[index]!;
    const id = idOf(this.seed, `label:${ref.key}:${label.name}`, 100_000, 900_000_000);
    return {
      id,
      node_id: nodeId('Label', id),
      url: `${base}/repos/${ref.owner}/${ref.name}/labels/${encodeURIComponent(label.name)}`,
      name: label.name,
      color: label.color,
      default: index < 3,
      description: null,
    };
  }

  private issueJson(ref: RepoRef, record: IssueRecord, base: string): Record<string, unknown> {
    const url = `${base}/repos/${ref.owner}/${ref.name}`;
    const id = idOf(this.seed, `issue:${ref.key}#${record.number}`, 1_000_000_000, 1_000_000_000);
    return {
      url: `${url}/issues/${record.number}`,
      repository_url: url,
      comments_url: `${url}/issues/${record.number}/comments`,
      html_url: `https://github.com/${ref.owner}/${ref.name}/issues/${record.number}`,
      id,
      node_id: nodeId('Issue', id),
      number: record.number,
      title: record.title,
      user: this.user(record.author, base),
      labels: record.labels.map((l) => this.labelJson(ref, l, base)),
      state: record.state,
      state_reason: record.state === 'closed' ? 'completed' : null,
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: record.comments,
      created_at: iso(record.createdAt),
      updated_at: iso(record.updatedAt),
      closed_at: record.closedAt === null ? null : iso(record.closedAt),
      author_association: 'CONTRIBUTOR',
      body: record.body,
    };
  }

  /** A pull request as /search/issues lists it: issue-shaped, with a `pull_request` field. */
  private pullAsIssue(ref: RepoRef, pr: PullRecord, base: string): Record<string, unknown> {
    const url = `${base}/repos/${ref.owner}/${ref.name}`;
    return {
      ...this.issueJson(ref, pr, base),
      pull_request: {
        url: `${url}/pulls/${pr.number}`,
        html_url: `https://github.com/${ref.owner}/${ref.name}/pull/${pr.number}`,
        merged_at: pr.mergedAt === null ? null : iso(pr.mergedAt),
      },
    };
  }
}
