import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecret, redact, REDACTED, redactText, redactUrlPasswords, redactValues } from '../../engine/redact.js';

describe('redact', () => {
  it('treats text values of 4 characters or more as secrets, not numbers, booleans or short values', () => {
    assert.deepEqual(['s3cr3t', 'db.internal', 'abcd', '1000', '12.5', 'true', 'abc', ''].map(isSecret), [
      true, true, true, false, false, false, false, false,
    ]);
  });

  it('replaces every occurrence, longest secret first', () => {
    assert.equal(
      redact('Bearer tok-123 and tok-123-long', ['tok-123', 'tok-123-long']),
      `Bearer ${REDACTED} and ${REDACTED}`,
    );
    assert.equal(redact('nothing here', []), 'nothing here');
  });

  it('hides the passwords written into URLs anywhere in a text, and only them', () => {
    assert.equal(
      redactUrlPasswords('--set services.db={ postgres: { url: "postgres://app:s3:cr@127.0.0.1:5432/app" } }'),
      `--set services.db={ postgres: { url: "postgres://app:${REDACTED}@127.0.0.1:5432/app" } }`,
    );
    assert.equal(
      redactUrlPasswords('a http://u:p@h/x and redis://:pw@h'),
      `a http://u:${REDACTED}@h/x and redis://:${REDACTED}@h`,
    );
    for (const plain of ['http://127.0.0.1:8080/health', 'postgres://app@db/app', 'ratio 3:2 @ noon'])
      assert.equal(redactUrlPasswords(plain), plain);
  });

  it('redactText hides a whole URL taken from the environment, and a password written into any other URL', () => {
    const text = 'db postgres://u:pw@db/app, api http://a:b@h/x';
    assert.equal(redactText(text, ['postgres://u:pw@db/app']), `db ${REDACTED}, api http://a:${REDACTED}@h/x`);
  });

  it('redactValues redacts every string and key of plain data, values not JSON text, and keeps encoded ones', () => {
    const quoted = 'q"u\\ote';
    const data = { a: `x ${quoted} y`, [`k-${quoted}`]: [1, true, null, 'http://u:p4ss@h'], histogram: `H${quoted}`, n: 3 };
    const out = redactValues(data, [quoted], new Set(['histogram']));
    const expected = { a: `x ${REDACTED} y`, [`k-${REDACTED}`]: [1, true, null, `http://u:${REDACTED}@h`], histogram: `H${quoted}`, n: 3 };
    assert.deepEqual(out, expected);
    assert.equal(data.a, `x ${quoted} y`, 'the input is not changed');
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(out)));
  });
});
