// Data sources: parseCsv on the shapes real CSV files take (quotes, escaped quotes, delimiters, CRLF, BOM, empty
// lines) and the row orders of createFeeder (sequential, random, unique with stop or recycle), CSV and JSON.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { PlannedData } from '../../../engine/compile/plan.js';
import { createFeeder, parseCsv } from '../../../engine/run/data.js';
import { createRandom } from '../../../engine/random.js';
import { tempDir } from '../../helpers.js';

describe('parseCsv', () => {
  it('reads a header and rows into objects keyed by column', () => {
    assert.deepEqual(parseCsv('id,name\n1,ada\n2,bob\n'), [{ id: '1', name: 'ada' }, { id: '2', name: 'bob' }]);
  });

  it('reads a last row without a newline', () => {
    assert.deepEqual(parseCsv('id,name\n1,ada'), [{ id: '1', name: 'ada' }]);
  });

  it('keeps delimiters and newlines inside quoted fields', () => {
    assert.deepEqual(parseCsv('a,b\n"x, y","line 1\nline 2"\n'), [{ a: 'x, y', b: 'line 1\nline 2' }]);
  });

  it('turns a doubled quote inside a quoted field into one quote', () => {
    assert.deepEqual(parseCsv('a,b\n"say ""hi""","""quoted"""\n'), [{ a: 'say "hi"', b: '"quoted"' }]);
  });

  it('keeps a quote in the middle of an unquoted field as it is', () => {
    assert.deepEqual(parseCsv('a,b\n5" screen,x\n'), [{ a: '5" screen', b: 'x' }]);
  });

  it('splits on another delimiter when asked, and not on commas then', () => {
    assert.deepEqual(parseCsv('a;b\n1,5;"2;3"\n', ';'), [{ a: '1,5', b: '2;3' }]);
    assert.deepEqual(parseCsv('a\tb\n1\t2\n', '\t'), [{ a: '1', b: '2' }]);
  });

  it('reads CRLF line endings (and lone CRs) like LF, keeping CRLF inside quotes', () => {
    assert.deepEqual(parseCsv('a,b\r\n1,2\r\n3,4\r\n'), [{ a: '1', b: '2' }, { a: '3', b: '4' }]);
    assert.deepEqual(parseCsv('a,b\r1,2\r'), [{ a: '1', b: '2' }]);
    assert.deepEqual(parseCsv('a,b\r\n"x\r\ny",2\r\n'), [{ a: 'x\r\ny', b: '2' }]);
  });

  it('drops a byte-order mark at the start of the file', () => {
    const rows = parseCsv('\uFEFFid,name\n1,ada\n');
    assert.deepEqual(rows, [{ id: '1', name: 'ada' }]);
    assert.deepEqual(Object.keys(rows[0]!), ['id', 'name']);
  });

  it('skips empty lines, wherever they are', () => {
    assert.deepEqual(parseCsv('\na,b\n\n1,2\n\n\n3,4\n\n'), [{ a: '1', b: '2' }, { a: '3', b: '4' }]);
    assert.deepEqual(parseCsv('a,b\r\n\r\n1,2\r\n'), [{ a: '1', b: '2' }]);
  });

  it('keeps a row of explicitly quoted empty fields', () => {
    assert.deepEqual(parseCsv('note\n""\nhello\n'), [{ note: '' }, { note: 'hello' }]);
    assert.deepEqual(parseCsv('a,b\n"",""\nq,w\n'), [{ a: '', b: '' }, { a: 'q', b: 'w' }]);
  });

  it('trims column names but not values', () => {
    assert.deepEqual(parseCsv(' id , name \n 1 , ada \n'), [{ id: ' 1 ', name: ' ada ' }]);
  });

  it('gives a short row empty strings for its missing columns and ignores extra fields', () => {
    assert.deepEqual(parseCsv('a,b,c\n1\n1,2,3,4\n'), [{ a: '1', b: '', c: '' }, { a: '1', b: '2', c: '3' }]);
  });

  it('reads a quoted header', () => {
    assert.deepEqual(parseCsv('"id","full name"\n1,Ada Lovelace\n'), [{ id: '1', 'full name': 'Ada Lovelace' }]);
  });

  it('gives no rows for an empty file or a header alone', () => {
    assert.deepEqual(parseCsv(''), []);
    assert.deepEqual(parseCsv('\uFEFF'), []);
    assert.deepEqual(parseCsv('id,name\n'), []);
  });
});

describe('createFeeder', () => {
  const files = tempDir({
    'users.csv': 'id,name\n1,ada\n2,bob\n3,cy\n',
    'users-semi.csv': 'id;name\n1;ada\n2;bob\n',
    'debates.json': JSON.stringify([{ id: 10, open: true }, { id: 20, open: false }]),
  });
  after(files.cleanup);

  function source(
    file: string,
    order: PlannedData['order'],
    onExhausted: PlannedData['onExhausted'] = 'stop',
    delimiter = ',',
  ): PlannedData {
    return {
      format: file.endsWith('.json') ? 'json' : 'csv',
      path: files.path(file),
      order,
      onExhausted,
      delimiter,
      columns: [],
    };
  }

  /** `count` successive rows' `id`s (undefined where the feeder gave no row). */
  function ids(feeder: ReturnType<typeof createFeeder>, count: number, seed = 1): unknown[] {
    const random = createRandom(seed);
    return Array.from({ length: count }, () => feeder.next(random)?.['id']);
  }

  it('sequential: rows in file order, wrapping around (never exhausted)', () => {
    const feeder = createFeeder(source('users.csv', 'sequential'));
    assert.equal(feeder.size, 3);
    assert.deepEqual(ids(feeder, 7), ['1', '2', '3', '1', '2', '3', '1']);
  });

  it('random: rows picked with replacement from the random it is given, so a seed repeats them', () => {
    const rowIds = ['1', '2', '3'];
    const picked = ids(createFeeder(source('users.csv', 'random')), 20, 42);
    const reference = createRandom(42);
    assert.deepEqual(picked, Array.from({ length: 20 }, () => reference.pick(rowIds)));
    assert.deepEqual(ids(createFeeder(source('users.csv', 'random')), 20, 42), picked);
    assert.deepEqual(new Set(picked), new Set(rowIds), 'twenty picks of three rows reach all three');
  });

  it('unique with on_exhausted stop: each row once, then no row', () => {
    const feeder = createFeeder(source('users.csv', 'unique', 'stop'));
    assert.deepEqual(ids(feeder, 5), ['1', '2', '3', undefined, undefined]);
  });

  it('unique with on_exhausted recycle: each row once, then over again', () => {
    const feeder = createFeeder(source('users.csv', 'unique', 'recycle'));
    assert.deepEqual(ids(feeder, 5), ['1', '2', '3', '1', '2']);
  });

  it('reads CSV with the source\'s delimiter', () => {
    const feeder = createFeeder(source('users-semi.csv', 'sequential', 'stop', ';'));
    const random = createRandom(1);
    assert.deepEqual([feeder.next(random), feeder.next(random)], [{ id: '1', name: 'ada' }, { id: '2', name: 'bob' }]);
  });

  it('reads JSON rows with their types', () => {
    const feeder = createFeeder(source('debates.json', 'unique'));
    const random = createRandom(1);
    assert.equal(feeder.size, 2);
    assert.deepEqual(
      [feeder.next(random), feeder.next(random), feeder.next(random)],
      [{ id: 10, open: true }, { id: 20, open: false }, undefined],
    );
  });

  it('keeps one cursor for everyone who reads it', () => {
    const feeder = createFeeder(source('users.csv', 'sequential'));
    const a = createRandom(1);
    const b = createRandom(2);
    assert.deepEqual([feeder.next(a)?.['id'], feeder.next(b)?.['id'], feeder.next(a)?.['id']], ['1', '2', '3']);
  });
});

describe('CSV errors', () => {
  it('refuses a quote that is never closed, naming its line, instead of swallowing the rest of the file', async () => {
    const { parseCsvTable, CsvError } = await import('../../../engine/load/csv.js');
    assert.throws(
      () => parseCsvTable('id,note\n1,ok\n2,"open\n3,x\n'),
      (e: unknown) => e instanceof CsvError && e.line === 3,
    );
  });
});
