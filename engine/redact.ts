// Secrets from the environment never reach the screen or a report: every output passes through redact().

/** Values shorter than this, and numbers or booleans, are settings rather than credentials: not redacted. */
const MIN_SECRET_LENGTH = 4;

export const REDACTED = '***';

/** Whether a value read from the environment is treated as a secret. */
export function isSecret(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH && !/^(-?\d+(\.\d+)?|true|false)$/.test(value);
}

/** Replaces every occurrence of every secret (longest first, so one secret inside another is covered). */
export function redact(text: string, secrets: readonly string[]): string {
  return redactorOf(secrets, false)(text);
}

/** `scheme://user:password@` anywhere in a text: the password part. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/"'`]*:)([^\s@/"'`]+)@/gi;

/** Passwords written into URLs (`postgres://app:s3cret@db/app`) replaced, wherever they stand in a text. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/**
 * What every text perfy prints or writes goes through: the secrets, then the passwords written into URLs.
 * Secrets first, so a whole URL taken from the environment is hidden whole rather than only its password.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  return redactorOf(secrets, true)(text);
}

function redactorOf(secrets: readonly string[], urlPasswords: boolean): (text: string) => string {
  const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of longestFirst) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return urlPasswords ? redactUrlPasswords(out) : out;
  };
}

/**
 * A copy of plain JSON-like data with every string, and every key, passed through redactText; the values of
 * keys in `verbatim` are copied as they are (encoded data such as a histogram, where a secret of four letters
 * could appear by chance and redacting it would corrupt the data). Values, not serialized text, are redacted,
 * so a secret holding `"` or `\` can neither survive JSON escaping nor break the JSON.
 */
export function redactValues<T>(value: T, secrets: readonly string[], verbatim: ReadonlySet<string> = new Set()): T {
  const redactOne = redactorOf(secrets, true);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactOne(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(v)) out[redactOne(key)] = verbatim.has(key) ? inner : walk(inner);
    return out;
  };
  return walk(value) as T;
}
