// Hints for typed values written almost right: a bare number where a duration belongs (`10`), a range with a
// dash (`200ms-500ms`), a rate in words (`50rps`, `50 per second`), a space before the unit (`1 min`, `50 /s`).
// A suggestion is made only when it matches the value's own pattern, so a hint never proposes a wrong value.

import { PATTERNS } from '../units.js';

/** The typed strings of the format (their $defs in the schema share the names and patterns of units.ts). */
export type TypedKind = 'duration' | 'rate' | 'size' | 'percent' | 'sizeRate' | 'think';

export const TYPED_KINDS: readonly TypedKind[] = ['duration', 'rate', 'size', 'percent', 'sizeRate', 'think'];

const NUMBER = '\\d+(?:\\.\\d+)?';

/** Unit words people write → the unit of a duration. `min` stays `min` (valid); other minute words become `m`. */
const DURATION_WORDS: Record<string, string> = {
  us: 'us', 'µs': 'us', usec: 'us', usecs: 'us', microsecond: 'us', microseconds: 'us',
  ms: 'ms', msec: 'ms', msecs: 'ms', milli: 'ms', millis: 'ms', millisecond: 'ms', milliseconds: 'ms',
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'min', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
};

/** Per-time words of a rate → its unit after the `/`. */
const RATE_WORDS: Record<string, string> = {
  s: 's', sec: 'sec', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'min', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
};

/** `rps`, `qps`, `rpm` …: a count per second, minute or hour. */
const RATE_SUFFIXES: Record<string, string> = {
  rps: 's', qps: 's', tps: 's', ips: 's', cps: 's', rpm: 'm', qpm: 'm', tpm: 'm', ipm: 'm', rph: 'h', qph: 'h',
};

/** What is counted before the time unit, dropped: `50 req/s`, `50 requests per second`, `50 iterations/m`. */
const COUNTED = '(?:r|req|reqs|request|requests|q|queries|it|iter|iters|iteration|iterations|calls|hits|users|vus)?';

/** Size units in any case → the unit of a size. */
const SIZE_WORDS: Record<string, string> = {
  b: 'B', byte: 'B', bytes: 'B',
  k: 'KB', kb: 'KB', m: 'MB', mb: 'MB', g: 'GB', gb: 'GB', t: 'TB', tb: 'TB',
  ki: 'KiB', kib: 'KiB', mi: 'MiB', mib: 'MiB', gi: 'GiB', gib: 'GiB', ti: 'TiB', tib: 'TiB',
};

/**
 * A hint for a value of `kind` that does not match its pattern, or undefined when nothing close is valid:
 * `add a unit: 10s (or 10ms, 10m)` for a number, `did you mean "200ms..500ms"?` for a near miss.
 */
export function nearMissHint(kind: TypedKind, value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return bareNumberHint(kind, String(value));
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (new RegExp(`^${NUMBER}$`).test(text)) return bareNumberHint(kind, text);
  const suggestion = suggest(kind, text);
  const valid = suggestion !== undefined && suggestion !== value && new RegExp(PATTERNS[kind]).test(suggestion);
  if (!valid) return undefined;
  return `did you mean "${suggestion}"?`;
}

function bareNumberHint(kind: TypedKind, n: string): string {
  switch (kind) {
    case 'duration':
    case 'think':
      return `add a unit: ${n}s (or ${n}ms, ${n}m)`;
    case 'rate':
      return `add a unit: ${n}/s (or ${n}/m, ${n}/h)`;
    case 'size':
      return `add a unit: ${n}MB (or ${n}B, ${n}KB, ${n}GB; ${n}MiB for powers of 1024)`;
    case 'percent':
      return `add a unit: ${n}%`;
    case 'sizeRate':
      return `add units: ${n}MB/min (a size per s, min or h)`;
  }
}

function suggest(kind: TypedKind, text: string): string | undefined {
  switch (kind) {
    case 'duration':
      return duration(text);
    case 'think':
      return think(text);
    case 'rate':
      return rate(text);
    case 'size':
      return size(text);
    case 'percent':
      return new RegExp(`^(${NUMBER})\\s*(?:%|pct|percent)$`, 'i').exec(text)?.[1]?.concat('%');
    case 'sizeRate': {
      const m = /^(.+?)\s*(?:\/|\bper\b)\s*([a-z]+)$/i.exec(text);
      const unit = m ? RATE_WORDS[m[2]!.toLowerCase()] : undefined;
      const amount = m ? size(m[1]!) : undefined;
      return amount === undefined || unit === undefined ? undefined : `${amount}/${unit}`;
    }
  }
}

/** `1 min` → `1min`, `10 seconds` → `10s`, `1m 30s` → `1m30s`, `250MS` → `250ms`. */
function duration(text: string): string | undefined {
  const parts = [...text.matchAll(new RegExp(`(${NUMBER})\\s*([a-zµ]+)[\\s,]*`, 'giy'))];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  let out = '';
  for (const [, amount, word] of parts) {
    const unit = DURATION_WORDS[word!.toLowerCase()];
    if (unit === undefined) return undefined;
    out += `${amount}${unit}`;
  }
  return out;
}

/** `200ms-500ms`, `200ms - 500ms`, `200ms...500ms`, `200ms to 500ms`, `200-500ms` → `200ms..500ms`. */
function think(text: string): string | undefined {
  const range = /^(.+?)\s*(?:\.{2,}|-|–|—|~|\bto\b)\s*(.+)$/i.exec(text);
  if (range === null) return duration(text);
  const high = duration(range[2]!);
  if (high === undefined) return undefined;
  // A unit written once, after the range, applies to both ends.
  const lowText = new RegExp(`^${NUMBER}$`).test(range[1]!) ? `${range[1]}${/[a-z]+$/.exec(high)![0]}` : range[1]!;
  const low = duration(lowText);
  return low === undefined ? undefined : `${low}..${high}`;
}

/** `50 /s`, `50/second`, `50 per second`, `50rps`, `50 req/s`, `3000 rpm` → `50/s` … `3000/m`. */
function rate(text: string): string | undefined {
  const perUnit = new RegExp(`^(${NUMBER})\\s*${COUNTED}\\s*(?:/|\\bper\\b|\\ba\\b)\\s*([a-z]+)$`, 'i').exec(text);
  if (perUnit !== null) {
    const unit = RATE_WORDS[perUnit[2]!.toLowerCase()];
    return unit === undefined ? undefined : `${perUnit[1]}/${unit}`;
  }
  const suffixed = new RegExp(`^(${NUMBER})\\s*([a-z]+)$`, 'i').exec(text);
  const unit = suffixed ? RATE_SUFFIXES[suffixed[2]!.toLowerCase()] : undefined;
  return unit === undefined ? undefined : `${suffixed![1]}/${unit}`;
}

/** `512 MB`, `512mb`, `512M`, `1gib` → `512MB`, `512MB`, `512MB`, `1GiB`. */
function size(text: string): string | undefined {
  const m = new RegExp(`^(${NUMBER})\\s*([a-z]+)$`, 'i').exec(text.trim());
  const unit = m ? SIZE_WORDS[m[2]!.toLowerCase()] : undefined;
  return unit === undefined ? undefined : `${m![1]}${unit}`;
}
