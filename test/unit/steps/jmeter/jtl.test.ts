// The JTL reader on results files JMeter 2.13 wrote (fixtures/jmeter/jtl/): header and headerless columns,
// quoted fields, non-HTTP codes, appended files, truncation, chunking at every byte, CRLF, and following a growing
// file.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { PACKAGE_ROOT } from '../../../../engine/paths.js';
import { classifyResponseCode, followJtl, JtlReader, type JtlSample } from '../../../../engine/steps/jmeter/jtl.js';

const FIXTURES = join(PACKAGE_ROOT, 'fixtures', 'jmeter', 'jtl');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

interface Read {
  samples: JtlSample[];
  truncated: string | undefined;
  skipped: { line: number; reason: string }[];
  counted: number;
}

/** Reads bytes given as consecutive pieces, as a follower would. */
function readPieces(pieces: Uint8Array[]): Read {
  const samples: JtlSample[] = [];
  const reader = new JtlReader((sample) => samples.push(sample));
  for (const piece of pieces) reader.pushBytes(piece);
  const { truncated } = reader.end();
  return { samples, truncated, skipped: reader.skipped, counted: reader.samples };
}

const readFixture = (name: string): Read => readPieces([fixture(name)]);

/** The 11 samples RecordJtl.java records, as a file with perfy's columns holds them, starting at t0. */
function recordedRun(t0: number): JtlSample[] {
  const base = { sentBytes: undefined, allThreads: 2, failureMessage: '', connect: 1 };
  const nonHttp = (offset: number, elapsed: number, path: string, exception: string, message: string): JtlSample => ({
    ...base, timeStamp: t0 + offset, elapsed, label: `GET ${path}`, threadName: 'Thread Group 1-2', success: false,
    responseCode: `Non HTTP response code: ${exception}`, responseMessage: `Non HTTP response message: ${message}`,
    bytes: 0, url: `http://127.0.0.1:8080${path}`, latency: 0,
  });
  return [
    { ...base, timeStamp: t0, elapsed: 12, label: 'GET /health', responseCode: '200', responseMessage: 'OK', threadName: 'Thread Group 1-1', success: true, bytes: 517, url: 'http://127.0.0.1:8080/health', latency: 10 },
    { ...base, timeStamp: t0 + 3, elapsed: 48, label: 'POST /orders, "bulk"', responseCode: '201', responseMessage: 'Created', threadName: 'Thread Group 1-2', success: true, bytes: 518, url: 'http://127.0.0.1:8080/orders%2C%20%22bulk%22', latency: 46 },
    {
      ...base, timeStamp: t0 + 9, elapsed: 31, label: 'GET /items', responseCode: '200',
      responseMessage: 'OK, "sort of"\nsecond line ü', threadName: 'Thread Group 1-1', success: false, bytes: 515,
      url: 'http://127.0.0.1:8080/items', latency: 29,
      failureMessage: 'Test failed: text expected to contain /"status": "ok"/,\r\nbut got: {"status": "degraded"}',
    },
    { ...base, timeStamp: t0 + 15, elapsed: 404, label: 'GET /missing', responseCode: '404', responseMessage: 'Not Found', threadName: 'Thread Group 1-2', success: false, bytes: 517, url: 'http://127.0.0.1:8080/missing', latency: 402 },
    nonHttp(20, 1, '/down', 'java.net.ConnectException', 'Connection refused'),
    nonHttp(22, 10003, '/slow', 'java.net.SocketTimeoutException', 'Read timed out'),
    nonHttp(25, 2, '/nohost', 'java.net.UnknownHostException', 'nohost.invalid: Name or service not known'),
    nonHttp(31, 7, '/flaky', 'java.net.SocketException', 'Connection reset'),
    nonHttp(
      40,
      3,
      '/tls',
      'javax.net.ssl.SSLHandshakeException',
      'PKIX path building failed: unable to find valid certification path to requested target',
    ),
    nonHttp(44, 5, '/closed', 'org.apache.http.NoHttpResponseException', 'localhost:8080 failed to respond'),
    { ...base, timeStamp: t0 + 50, elapsed: 9, label: 'GET /health', responseCode: '200', responseMessage: 'OK', threadName: 'Thread Group 1-1', success: true, bytes: 514, url: 'http://127.0.0.1:8080/health', latency: 7 },
  ];
}

describe('JtlReader', () => {
  it('maps the columns of a file with a header by their names', () => {
    const read = readFixture('header-2.13.jtl');
    assert.deepEqual(read.samples, recordedRun(1718000000000));
    assert.equal(read.counted, 11);
    assert.deepEqual(read.skipped, []);
    assert.equal(read.truncated, undefined);
  });

  it('reads a file without a header with JMeter 2.13\'s 12 default columns', () => {
    const read = readFixture('no-header-2.13.jtl');
    assert.equal(read.samples.length, 11);
    assert.deepEqual(read.skipped, []);
    // The same samples as recorded with perfy's columns, less what the defaults do not save.
    const expected = recordedRun(1718000100000).map((sample) => ({
      ...sample,
      failureMessage: '',
      url: undefined,
      connect: undefined,
    }));
    assert.deepEqual(read.samples, expected);
  });

  it('unquotes fields with commas, newlines and doubled quotes as JMeter writes them', () => {
    const [, orders, items] = readFixture('header-2.13.jtl').samples;
    assert.equal(orders?.label, 'POST /orders, "bulk"');
    assert.equal(items?.responseMessage, 'OK, "sort of"\nsecond line ü');
    assert.equal(
      items?.failureMessage,
      'Test failed: text expected to contain /"status": "ok"/,\r\nbut got: {"status": "degraded"}',
    );
    assert.equal(items?.bytes, 515);
  });

  it('counts lines inside quoted fields when it reports a malformed line', () => {
    const header = 'timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,bytes,' +
      'grpThreads,allThreads,Latency\n';
    const samples: JtlSample[] = [];
    const reader = new JtlReader((sample) => samples.push(sample));
    reader.push(`${header}1,2,"a\nb\nc",200,OK,T,text,true,5,1,1,1\n1,2,x,200,OK,T,text,true,5,1,1\n`);
    assert.equal(samples[0]?.label, 'a\nb\nc');
    assert.deepEqual(reader.skipped.map((skip) => skip.line), [5]);
  });

  it('skips malformed lines without stopping, and reads success case-insensitively', () => {
    const read = readFixture('malformed.jtl');
    assert.deepEqual(
      read.samples.map((sample) => [sample.timeStamp, sample.success]),
      [[1718000600000, true], [1718000600001, false], [1718000600006, true]],
    );
    // field count, elapsed "12x", success "yes", a formatted timestamp
    assert.deepEqual(read.skipped.map((skip) => skip.line), [4, 5, 6, 7]);
    assert.match(read.skipped[1]?.reason ?? '', /^elapsed/);
    assert.match(read.skipped[3]?.reason ?? '', /^timeStamp/);
    const last = read.samples[2];
    assert.deepEqual([last?.url, last?.latency, last?.connect], [undefined, undefined, undefined]);
  });

  it('skips every line under a header without timeStamp', () => {
    const reader = new JtlReader(() => assert.fail('no sample expected'));
    reader.push('label,elapsed,success\nGET /,5,true\nGET /,6,true\n');
    assert.equal(reader.samples, 0);
    assert.deepEqual(reader.skipped.map((skip) => skip.line), [2, 3]);
  });

  it('reads a file JMeter 2.13 appended to: one header, both runs', () => {
    const read = readFixture('appended-2.13.jtl');
    assert.deepEqual(read.samples, [...recordedRun(1718000200000), ...recordedRun(1718000260000)]);
    assert.deepEqual(read.skipped, []);
  });

  it('skips a header repeated in the middle and takes the columns from it', () => {
    const read = readFixture('repeated-header.jtl');
    assert.deepEqual(read.skipped, []);
    assert.equal(read.samples.length, 25);
    assert.deepEqual(read.samples.slice(0, 22), [...recordedRun(1718000000000), ...recordedRun(1718000400000)]);
    // The third header (JMeter 5.x) adds sentBytes and IdleTime: Connect moves one column to the right.
    const tail = read.samples.slice(22);
    assert.deepEqual(
      tail.map((s) => [s.sentBytes, s.latency, s.connect, s.allThreads, s.bytes]),
      [[118, 20, 4, 3, 517], [402, 33, 3, 3, 518], [0, 0, 2, 3, 2156]],
    );
    assert.equal(
      tail[2]?.responseMessage,
      'Non HTTP response message: Connect to 127.0.0.1:8080 [/127.0.0.1] failed: Connection refused ' +
        '(Connection refused)',
    );
  });

  it('reports a last line JMeter did not finish instead of delivering it', () => {
    const read = readFixture('truncated.jtl');
    assert.deepEqual(read.samples, recordedRun(1718000000000).slice(0, 10));
    assert.deepEqual(read.skipped, []);
    assert.equal(read.truncated, '1718000000050,9,GET /health,200,OK,Thread Group 1-1,text,true,,5');
  });

  it('reports a record cut inside a quoted field, from its first line', () => {
    const read = readFixture('truncated-in-quotes.jtl');
    assert.equal(read.samples.length, 2);
    assert.ok(
      read.truncated?.startsWith('1718000000009,31,GET /items,200,"OK, ""sort of""\nsecond line ü",'),
      read.truncated,
    );
    assert.ok(read.truncated?.endsWith('but got: {'), read.truncated);
  });

  it('reads CRLF line endings, keeping a CRLF inside a quoted field', () => {
    const read = readFixture('crlf-2.13.jtl');
    assert.deepEqual(read.skipped, []);
    assert.deepEqual(read.samples, recordedRun(1718000300000));
    assert.ok(fixture('crlf-2.13.jtl').includes('Connect\r\n'), 'the fixture has CRLF line endings');
  });

  for (const name of ['header-2.13.jtl', 'crlf-2.13.jtl', 'repeated-header.jtl', 'truncated-in-quotes.jtl']) {
    it(`gives the same samples for ${name} split at every byte position`, () => {
      const bytes = fixture(name);
      const whole = readPieces([bytes]);
      assert.ok(whole.samples.length >= 2);
      for (let at = 0; at <= bytes.length; at++) {
        const split = readPieces([bytes.subarray(0, at), bytes.subarray(at)]);
        assert.deepEqual(split, whole, `split at byte ${at}`);
      }
    });
  }

  it('gives the same samples for text split at every character position', () => {
    const text = fixture('repeated-header.jtl').toString('utf8');
    const read = (pieces: string[]): JtlSample[] => {
      const samples: JtlSample[] = [];
      const reader = new JtlReader((sample) => samples.push(sample));
      for (const piece of pieces) reader.push(piece);
      assert.equal(reader.end().truncated, undefined);
      return samples;
    };
    const whole = read([text]);
    assert.equal(whole.length, 25);
    for (let at = 0; at <= text.length; at++) {
      assert.deepEqual(read([text.slice(0, at), text.slice(at)]), whole, `split at ${at}`);
    }
  });

  it('gives the same samples for any number of pieces', () => {
    const bytes = fixture('header-2.13.jtl');
    const whole = readPieces([bytes]);
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const pieces = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
      assert.deepEqual(readPieces(pieces), whole);
    }), { numRuns: 300 });
  });
});

describe('classifyResponseCode', () => {
  it('classifies the codes of the recorded non-HTTP samples', () => {
    const classes = readFixture('header-2.13.jtl').samples
      .map((s) => [s.label, classifyResponseCode(s.responseCode, s.responseMessage)]);
    assert.deepEqual(classes, [
      ['GET /health', undefined], ['POST /orders, "bulk"', undefined], ['GET /items', undefined],
      ['GET /missing', undefined], ['GET /down', 'refused'], ['GET /slow', 'timeout'], ['GET /nohost', 'dns'],
      ['GET /flaky', 'reset'], ['GET /tls', 'tls'], ['GET /closed', 'reset'], ['GET /health', undefined],
    ]);
  });

  it('tells apart exceptions under one class by their message', () => {
    const code = (exception: string): string => `Non HTTP response code: ${exception}`;
    assert.equal(
      classifyResponseCode(code('java.net.ConnectException'), 'Non HTTP response message: Connection timed out'),
      'timeout',
    );
    assert.equal(
      classifyResponseCode(
        code('org.apache.http.conn.HttpHostConnectException'),
        'Connect to x:1 failed: Connection refused',
      ),
      'refused',
    );
    assert.equal(classifyResponseCode(code('org.apache.http.conn.ConnectTimeoutException')), 'timeout');
    assert.equal(
      classifyResponseCode(code('java.net.SocketException'), 'Non HTTP response message: Broken pipe (Write failed)'),
      'reset',
    );
    assert.equal(
      classifyResponseCode(code('java.net.SocketException'), 'Non HTTP response message: Socket closed'),
      'other',
    );
    assert.equal(classifyResponseCode(code('javax.net.ssl.SSLException'), 'Unrecognized SSL message'), 'tls');
    assert.equal(classifyResponseCode(code('java.lang.IllegalArgumentException')), 'other');
    assert.equal(classifyResponseCode('500'), undefined);
    assert.equal(classifyResponseCode(''), 'other');
  });
});

describe('followJtl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perfy-jtl-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const until = async (condition: () => boolean, what: string): Promise<void> => {
    for (const start = Date.now(); !condition(); await new Promise((resolve) => setTimeout(resolve, 5))) {
      if (Date.now() - start > 5000) assert.fail(`timed out waiting for ${what}`);
    }
  };

  it('delivers every sample of a file written in pieces after it started, exactly once', async () => {
    const path = join(dir, 'pieces.jtl');
    const bytes = fixture('repeated-header.jtl');
    const samples: JtlSample[] = [];
    const follower = followJtl(path, (sample) => samples.push(sample), { intervalMs: 5 });
    // 97-byte pieces land inside UTF-8 characters, quoted fields and CRLFs alike.
    let written = 0;
    const writer = setInterval(() => {
      appendFileSync(path, bytes.subarray(written, written + 97));
      written += 97;
      if (written >= bytes.length) clearInterval(writer);
    }, 3);
    await until(() => written >= bytes.length, 'the writer');
    await until(() => samples.length > 0, 'samples before stop()');
    const outcome = await follower.stop();
    assert.deepEqual(outcome, { samples: 25, truncated: undefined, skipped: [] });
    assert.deepEqual(samples, readFixture('repeated-header.jtl').samples);
  });

  it('delivers samples while the file grows, before stop()', async () => {
    const path = join(dir, 'growing.jtl');
    const bytes = fixture('header-2.13.jtl');
    const samples: JtlSample[] = [];
    const follower = followJtl(path, (sample) => samples.push(sample), { intervalMs: 5 });
    const half = bytes.indexOf('1718000000015');
    appendFileSync(path, bytes.subarray(0, half));
    await until(() => samples.length === 3, 'the first three samples');
    appendFileSync(path, bytes.subarray(half));
    await until(() => samples.length === 11, 'the rest');
    assert.deepEqual(await follower.stop(), { samples: 11, truncated: undefined, skipped: [] });
    assert.equal(samples.length, 11);
  });

  it('reports the unfinished last line of a file JMeter was killed writing', async () => {
    const path = join(dir, 'killed.jtl');
    appendFileSync(path, fixture('truncated.jtl'));
    const outcome = await followJtl(path, () => {}, { intervalMs: 5 }).stop();
    assert.equal(outcome.samples, 10);
    assert.equal(outcome.truncated, '1718000000050,9,GET /health,200,OK,Thread Group 1-1,text,true,,5');
  });

  it('ends with no samples when the file never appears', async () => {
    const outcome = await followJtl(join(dir, 'never.jtl'), () => {}, { intervalMs: 5 }).stop();
    assert.deepEqual(outcome, { samples: 0, truncated: undefined, skipped: [] });
  });

  it('rejects stop() with what onSample threw', async () => {
    const path = join(dir, 'throws.jtl');
    appendFileSync(path, fixture('header-2.13.jtl'));
    const follower = followJtl(path, () => {
      throw new RangeError('consumer failed');
    }, { intervalMs: 5 });
    await assert.rejects(follower.stop(), RangeError);
  });
});
