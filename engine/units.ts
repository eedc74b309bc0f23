// Typed values of the scenario format: durations, rates, sizes, percentages and think-time ranges.
// The same patterns are in schema/scenario.schema.json ($defs); a unit test keeps the two identical.

/** Base units: durations in milliseconds, rates per second, sizes in bytes, percentages as fractions. */
export const DURATION_UNITS_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 } as const;
export const RATE_UNITS_PER_S = { s: 1, sec: 1, m: 1 / 60, min: 1 / 60, h: 1 / 3600 } as const;
export const SIZE_UNITS_BYTES = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
} as const;

const NUM = '\\d+(?:\\.\\d+)?';
const DURATION_PART = `${NUM}(?:us|ms|s|min|m|h)`;
export const PATTERNS = {
  duration: `^(?:${DURATION_PART})+$`,
  rate: `^${NUM}/(?:s|sec|min|m|h)$`,
  size: `^${NUM}(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`,
  percent: `^${NUM}%$`,
  sizeRate: `^${NUM}(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)/(?:s|sec|min|m|h)$`,
  think: `^(?:${DURATION_PART})+(?:\\.\\.(?:${DURATION_PART})+)?$`,
  name: '^[A-Za-z_][A-Za-z0-9_-]*$',
} as const;

const DURATION_RE = new RegExp(PATTERNS.duration);
const DURATION_PART_RE = new RegExp(`(${NUM})(us|ms|s|min|m|h)`, 'g');
const RATE_RE = new RegExp(`^(${NUM})/(s|sec|min|m|h)$`);
const SIZE_RE = new RegExp(`^(${NUM})(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`);
const PERCENT_RE = new RegExp(`^(${NUM})%$`);
const SIZE_RATE_RE = new RegExp(`^(${NUM}(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB))/(s|sec|min|m|h)$`);

/** `250ms`, `1.5s`, `1m30s` → milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(DURATION_PART_RE)) {
    total += Number(m[1]) * DURATION_UNITS_MS[m[2] as keyof typeof DURATION_UNITS_MS];
  }
  return total;
}

/** `200/s`, `3000/m` → per second. */
export function parseRate(text: string): number | undefined {
  const m = RATE_RE.exec(text);
  return m ? Number(m[1]) * RATE_UNITS_PER_S[m[2] as keyof typeof RATE_UNITS_PER_S] : undefined;
}

/** `512MB`, `1GiB` → bytes. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text);
  return m ? Number(m[1]) * SIZE_UNITS_BYTES[m[2] as keyof typeof SIZE_UNITS_BYTES] : undefined;
}

/** `1%` → 0.01. */
export function parsePercent(text: string): number | undefined {
  const m = PERCENT_RE.exec(text);
  return m ? Number(m[1]) / 100 : undefined;
}

/** `10MB/min` → bytes per second. */
export function parseSizeRate(text: string): number | undefined {
  const m = SIZE_RATE_RE.exec(text);
  if (!m) return undefined;
  const size = parseSize(m[1]!);
  return size === undefined ? undefined : size * RATE_UNITS_PER_S[m[2] as keyof typeof RATE_UNITS_PER_S];
}

export interface ThinkRange {
  minMs: number;
  maxMs: number;
}

/** `200ms` → {200, 200}; `200ms..1s` → {200, 1000}. */
export function parseThink(text: string): ThinkRange | undefined {
  const [low, high, ...rest] = text.split('..');
  if (low === undefined || rest.length > 0) return undefined;
  const minMs = parseDuration(low);
  const maxMs = high === undefined ? minMs : parseDuration(high);
  return minMs === undefined || maxMs === undefined ? undefined : { minMs, maxMs };
}

/** Milliseconds → the shortest readable duration (`1m30s`, `250ms`, `1.5s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1) return `${round(ms * 1000)}us`;
  if (ms < 1000) return `${round(ms)}ms`;
  if (ms < 60_000) return `${round(ms / 1000)}s`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = round((ms % 60_000) / 1000);
  return `${hours ? `${hours}h` : ''}${minutes ? `${minutes}m` : ''}${seconds ? `${seconds}s` : ''}`;
}

/** Per second → `12.5/s`. */
export function formatRate(perSecond: number): string {
  return `${round(perSecond)}/s`;
}

/** Bytes in decimal units: `512B`, `1.2MB` (how every report and message writes a size). */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)}${units[unit]}`;
}

/** A growth in bytes per minute: `12MB/min`, `-3.1MB/min`. */
export function formatGrowth(bytesPerMin: number): string {
  return `${bytesPerMin < 0 ? '-' : ''}${formatSize(Math.abs(bytesPerMin))}/min`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
