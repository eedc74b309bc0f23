// `postgres: { url }` on a server perfy did not start (in CI, Debian's PostgreSQL, an older major version than
// the embedded one): the database scenario runs there as on the embedded server, and what perfy counts is what
// the database holds afterwards.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { perfyAsync, readResultDir, tempDir, total } from '../helpers.js';
import { externalTestDatabase, notesWritten } from '../postgres.js';

describe('an existing PostgreSQL server (postgres: { url })', () => {
  let db: Awaited<ReturnType<typeof externalTestDatabase>>;
  before(async () => {
    db = await externalTestDatabase();
  });
  after(async () => {
    await db?.stop();
  });

  it('db_load: init runs there, rows written equal the successful write steps, the plans are taken', async (t) => {
    if (db === undefined) return t.skip('no PERFY_TEST_DATABASE_URL');
    const out = tempDir();
    after(out.cleanup);
    const run = await perfyAsync(['run', 'scenarios/db_load.yaml', '--time-scale', '10', '--out', out.dir,
      '--set', `services.db={ postgres: { url: "${db.url}" }, init: ../fixtures/sql/notes.sql }`]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    // The password never reaches the summary.
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(decodeURIComponent(new URL(db.url).password)));
    const result = readResultDir(out.dir);
    const written = await notesWritten(db.url);
    assert.ok(written > 0, `server ${db.version}: nothing written`);
    assert.equal(total(result, 'sql.queries', { step: 'write note', status: 'ok' }), written);
    assert.equal(total(result, 'sql.queries', { step: 'read back', status: 'ok' }), written);
    const plans = (result.metrics.samples ?? []).filter((x) => x.kind === 'plan');
    assert.deepEqual(plans.map((p) => p.detail?.['indexes']).sort(), [['notes_author'], ['notes_pkey']]);
  });
});
