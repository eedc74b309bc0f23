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
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(REDACTED);
  return out;
}

/** `scheme://user:password@` anywhere in a text: the password part. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/"'`]*:)([^\s@/"'`]+)@/gi;

/** Passwords written into URLs (`postgres://app:s3cret@db/app`) replaced, wherever they stand in a text. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`);
}
