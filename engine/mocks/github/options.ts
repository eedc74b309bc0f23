// The settings of the GitHub API mock: one table that the `options:` of the built-in service, the flags of
// its process (main.ts) and `perfy mock github` all read, so a name, a default and a check exist once.

import { closest } from '../../errors.js';
import { formatDuration, parseDuration, parsePercent, parseThink } from '../../units.js';

export interface GithubMockSettings {
  /** Primary limit per token for the core resource. */
  limit: number;
  /** Primary limit per client address (requests without a token). */
  unauthenticatedLimit: number;
  windowMs: number;
  searchLimit: number;
  searchWindowMs: number;
  limitedStatus: 403 | 429;
  concurrency: number;
  points: number;
  pointsWindowMs: number;
  contentLimit: number;
  contentWindowMs: number;
  secondaryStatus: 403 | 429;
  /** Whole seconds as given; a fraction once scaled (the `retry-after` sent is rounded up). */
  retryAfterS: number;
  /** 0: no abuse detection. */
  abuseStrikes: number;
  abuseBlockMs: number;
  /** Refusals within this time after the first refused answer of a limit was written are not strikes. */
  abuseGraceMs: number;
  issues: number;
  latency: { minMs: number; maxMs: number };
  errorRate: number;
  seed: number;
  host: string;
}

/** Windows shorter than this would make `x-ratelimit-reset` (whole seconds) meaningless. */
export const MIN_WINDOW_MS = 1000;
export const MAX_ISSUES = 100_000;

interface OptionSpec {
  /** The settings field it fills. */
  field: keyof GithubMockSettings;
  /** Flag of main.ts and `perfy mock github`, without the dashes. */
  flag: string;
  /** The default as users write it. */
  default: string;
  /** What it is, for help texts and hints. */
  help: string;
  /** The setting from a YAML value or a flag's text; throws a RangeError saying what it must be. */
  parse(value: unknown): GithubMockSettings[keyof GithubMockSettings];
  /** The setting back as a flag value that `parse` reads. */
  format(value: never): string;
}

function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: unknown) => number {
  return (value) => {
    const n =
      typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new RangeError(
        `must be a whole number${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}`,
      );
    }
    return n;
  };
}

/** A duration with its unit (`10s`, `1h`): a bare number is refused rather than guessed as ms or seconds. */
function duration(minMs: number, wholeSeconds = false): (value: unknown) => number {
  return (value) => {
    const ms = typeof value === 'string' ? parseDuration(value.trim()) : undefined;
    if (ms === undefined) {
      const bare = typeof value === 'number' || (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value));
      throw new RangeError(
        bare
          ? `must be a duration with its unit, e.g. ${String(value).trim()}s`
          : 'must be a duration such as 10s, 1min or 1h',
      );
    }
    if (ms < minMs) throw new RangeError(`must be at least ${formatDuration(minMs)}`);
    if (wholeSeconds && ms % 1000 !== 0) throw new RangeError('must be a whole number of seconds, e.g. 2s');
    return ms;
  };
}

function status(value: unknown): 403 | 429 {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  if (n !== 403 && n !== 429) throw new RangeError('must be 403 or 429');
  return n;
}

/** `5ms`, `2ms..10ms`, or a number of milliseconds (as the demo API's `latency`). */
function latency(value: unknown): { minMs: number; maxMs: number } {
  const text = typeof value === 'number' ? `${value}ms` : value;
  const range = typeof text === 'string' ? parseThink(text.trim()) : undefined;
  if (range === undefined || (typeof value === 'number' && !(value >= 0)))
    throw new RangeError('must be a duration or a range like 2ms..10ms');
  if (range.maxMs < range.minMs) throw new RangeError('is reversed: write the smaller bound first');
  return range;
}

function errorRate(value: unknown): number {
  const text = typeof value === 'string' ? value.trim() : undefined;
  const rate =
    typeof value === 'number'
      ? value
      : text === undefined || text === ''
        ? NaN
        : text.endsWith('%')
          ? (parsePercent(text) ?? NaN)
          : Number(text);
  if (!(rate >= 0 && rate <= 1)) throw new RangeError('must be a number from 0 to 1 or a percentage like "1%"');
  return rate;
}

function seed(value: unknown): number {
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new RangeError('must be an integer');
  return n;
}

function host(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || /[\s/]/.test(value.trim()))
    throw new RangeError('must be a host name or address to listen on, e.g. 127.0.0.1 or 0.0.0.0');
  return value.trim();
}

const ms = (value: number): string => `${value}ms`;
const text = (value: number | string): string => String(value);

/** Every option, by its name in `options:` (snake_case); flags are the same names in kebab-case. */
export const GITHUB_MOCK_OPTIONS = {
  limit: {
    field: 'limit',
    flag: 'limit',
    default: '5000',
    help: 'core requests per window for each token',
    parse: wholeNumber(1),
    format: text,
  },
  unauthenticated_limit: {
    field: 'unauthenticatedLimit',
    flag: 'unauthenticated-limit',
    default: '60',
    help: 'core requests per window for each client address without a token',
    parse: wholeNumber(1),
    format: text,
  },
  window: {
    field: 'windowMs',
    flag: 'window',
    default: '1h',
    help: 'length of the core window, from the first counted request (at least 1s)',
    parse: duration(MIN_WINDOW_MS),
    format: ms,
  },
  search_limit: {
    field: 'searchLimit',
    flag: 'search-limit',
    default: '30',
    help: 'search requests (/search/*) per search window',
    parse: wholeNumber(1),
    format: text,
  },
  search_window: {
    field: 'searchWindowMs',
    flag: 'search-window',
    default: '1min',
    help: 'length of the search window (at least 1s)',
    parse: duration(MIN_WINDOW_MS),
    format: ms,
  },
  limited_status: {
    field: 'limitedStatus',
    flag: 'limited-status',
    default: '403',
    help: 'status of a primary rate-limit answer: 403 or 429',
    parse: status,
    format: text,
  },
  concurrency: {
    field: 'concurrency',
    flag: 'concurrency',
    default: '100',
    help: 'requests in flight at once for each token or address (secondary limit)',
    parse: wholeNumber(1),
    format: text,
  },
  points: {
    field: 'points',
    flag: 'points',
    default: '900',
    help: 'points per points window (GET/HEAD/OPTIONS 1, other methods 5; secondary limit)',
    parse: wholeNumber(1),
    format: text,
  },
  points_window: {
    field: 'pointsWindowMs',
    flag: 'points-window',
    default: '1min',
    help: 'length of the points window (at least 1s)',
    parse: duration(MIN_WINDOW_MS),
    format: ms,
  },
  content_limit: {
    field: 'contentLimit',
    flag: 'content-limit',
    default: '80',
    help: 'content-creating requests (POST …/issues) per content window (secondary limit)',
    parse: wholeNumber(1),
    format: text,
  },
  content_window: {
    field: 'contentWindowMs',
    flag: 'content-window',
    default: '1min',
    help: 'length of the content window (at least 1s)',
    parse: duration(MIN_WINDOW_MS),
    format: ms,
  },
  secondary_status: {
    field: 'secondaryStatus',
    flag: 'secondary-status',
    default: '403',
    help: 'status of a secondary rate-limit answer: 403 or 429',
    parse: status,
    format: text,
  },
  retry_after: {
    field: 'retryAfterS',
    flag: 'retry-after',
    default: '60s',
    help: 'how long a secondary limit lasts once it trips, sent as `retry-after` (whole seconds, at least 1s)',
    parse: (v: unknown) => duration(1000, true)(v) / 1000,
    format: (s: number) => `${s}s`,
  },
  abuse_strikes: {
    field: 'abuseStrikes',
    flag: 'abuse-strikes',
    default: '5',
    help: 'requests sent while limited before the client is blocked (0: never block)',
    parse: wholeNumber(0),
    format: text,
  },
  abuse_grace: {
    field: 'abuseGraceMs',
    flag: 'abuse-grace',
    default: '500ms',
    help: 'refusals that arrive within this time after the first refused answer of a limit was written are not ' +
      'strikes (requests already on their way)',
    parse: duration(0),
    format: ms,
  },
  abuse_block: {
    field: 'abuseBlockMs',
    flag: 'abuse-block',
    default: '5min',
    help: 'how long an abuse block lasts (at least 1s)',
    parse: duration(MIN_WINDOW_MS),
    format: ms,
  },
  issues: {
    field: 'issues',
    flag: 'issues',
    default: '120',
    help: `issues in every repository (0 to ${MAX_ISSUES})`,
    parse: wholeNumber(0, MAX_ISSUES),
    format: text,
  },
  latency: {
    field: 'latency',
    flag: 'latency',
    default: '0ms',
    help: 'extra delay per answer: 5ms, or a range 2ms..10ms drawn uniformly (a number means ms)',
    parse: latency,
    format: (r: { minMs: number; maxMs: number }) => `${r.minMs}ms..${r.maxMs}ms`,
  },
  error_rate: {
    field: 'errorRate',
    flag: 'error-rate',
    default: '0',
    help: 'share of admitted requests (all but /rate_limit) that answer 500 or 502: 0.01 or "1%"',
    parse: errorRate,
    format: text,
  },
  seed: {
    field: 'seed',
    flag: 'seed',
    default: '1',
    help: 'integer that fixes the data, the delays and which requests fail',
    parse: seed,
    format: text,
  },
  host: {
    field: 'host',
    flag: 'host',
    default: '127.0.0.1',
    help: 'address to listen on',
    parse: host,
    format: (h: string) => h,
  },
} as const satisfies Record<string, OptionSpec>;

export type GithubMockOptionName = keyof typeof GITHUB_MOCK_OPTIONS;
export const GITHUB_MOCK_OPTION_NAMES = Object.keys(GITHUB_MOCK_OPTIONS) as GithubMockOptionName[];

/**
 * The settings of a mock whose clock runs `factor` times faster, as the run's does under `--time-scale`: every
 * window, every duration a limit or block lasts and the abuse grace are divided. `latency` is not: it is how long
 * an answer takes, which the run measures. What goes on the wire stays in whole seconds, rounded up
 * (`x-ratelimit-reset`, `retry-after`), so a client that waits as told is never early; a duration scaled below a
 * second makes it wait until the next whole second.
 */
export function scaleGithubMockSettings(settings: GithubMockSettings, factor: number): GithubMockSettings {
  if (factor === 1) return settings;
  return {
    ...settings,
    windowMs: settings.windowMs / factor,
    searchWindowMs: settings.searchWindowMs / factor,
    pointsWindowMs: settings.pointsWindowMs / factor,
    contentWindowMs: settings.contentWindowMs / factor,
    retryAfterS: settings.retryAfterS / factor,
    abuseBlockMs: settings.abuseBlockMs / factor,
    abuseGraceMs: settings.abuseGraceMs / factor,
  };
}

/** `--time-scale` of the mock's process: a positive number; undefined when malformed. */
export function parseTimeScale(text: string): number | undefined {
  const factor = Number(text);
  return text.trim() !== '' && Number.isFinite(factor) && factor > 0 ? factor : undefined;
}

/** The settings when nothing is given. */
export function defaultGithubMockSettings(): GithubMockSettings {
  const settings: Partial<Record<keyof GithubMockSettings, unknown>> = {};
  for (const spec of Object.values(GITHUB_MOCK_OPTIONS)) settings[spec.field] = spec.parse(spec.default);
  return settings as GithubMockSettings;
}

export interface OptionProblem {
  /** The option as the user named it (`window`, or the unknown name). */
  name: string;
  message: string;
}

/**
 * Settings from given values, keyed by option name (`options:` of the service) — or by flag name when
 * `keys` is 'flag'. Every problem is collected; `problems` is empty when the settings are usable.
 */
export function parseGithubMockOptions(
  given: Record<string, unknown>,
  keys: 'option' | 'flag' = 'option',
): { settings: GithubMockSettings; problems: OptionProblem[] } {
  const settings = defaultGithubMockSettings() as unknown as Record<string, unknown>;
  const problems: OptionProblem[] = [];
  const byKey = new Map(
    Object.entries(GITHUB_MOCK_OPTIONS).map(([name, spec]) => [keys === 'flag' ? spec.flag : name, spec] as const),
  );
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const spec = byKey.get(key);
    const shown = keys === 'flag' ? `--${key}` : `options.${key}`;
    if (spec === undefined) {
      const near = closest(key, byKey.keys());
      problems.push({
        name: key,
        message: `${shown} is not an option of the GitHub ` +
          `mock${near === undefined ? '' : `; did you mean "${keys === 'flag' ? `--${near}` : near}"?`}`,
      });
      continue;
    }
    try {
      settings[spec.field] = spec.parse(value);
    } catch (error) {
      problems.push({ name: key, message: `${shown} ${JSON.stringify(value)} ${(error as Error).message}` });
    }
  }
  return { settings: settings as unknown as GithubMockSettings, problems };
}

/** Flags for main.ts that give these option values (only the options given, in canonical form). */
export function githubMockFlags(given: Record<string, unknown>): string[] {
  const { settings, problems } = parseGithubMockOptions(given);
  if (problems.length > 0) throw new RangeError(problems.map((p) => p.message).join('; '));
  const flags: string[] = [];
  for (const [name, spec] of Object.entries(GITHUB_MOCK_OPTIONS)) {
    if (given[name] === undefined) continue;
    flags.push(`--${spec.flag}`, (spec.format as (v: unknown) => string)(settings[spec.field]));
  }
  return flags;
}
