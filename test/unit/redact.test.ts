import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSecret, redact, REDACTED } from '../../engine/redact.js';

describe('redact', () => {
  it('treats text values of 4 characters or more as secrets, not numbers, booleans or short values', () => {
    assert.deepEqual(['s3cr3t', 'db.internal', 'abcd', '1000', '12.5', 'true', 'abc', ''].map(isSecret), [true, true, true, false, false, false, false, false]);
  });

  it('replaces every occurrence, longest secret first', () => {
    assert.equal(redact('Bearer tok-123 and tok-123-long', ['tok-123', 'tok-123-long']), `Bearer ${REDACTED} and ${REDACTED}`);
    assert.equal(redact('nothing here', []), 'nothing here');
  });
});
