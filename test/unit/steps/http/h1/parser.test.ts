// The HTTP/1.1 response parser: every framing (content-length, chunked with extensions and trailers, until close,
// no body), 1xx, keep-alive decisions, header shapes, malformed input, and responses split at any byte.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HttpParseError, MAX_HEAD_BYTES, ResponseParser } from '../../../../../engine/steps/http/h1/parser.js';
import { readResponses, type Parsed } from './reads.js';

const SEED = 20_261_126;

/** The responses in `pieces` (one read each), read as a connection reads them; a parse error is thrown. */
function parseReads(pieces: Buffer[], headRequests: boolean[] = [], options: { close?: boolean } = {}): Parsed[] {
  const { responses, error } = readResponses(pieces, headRequests, options);
  if (error !== undefined) throw error;
  return responses;
}

const parseOne = (text: string | Buffer, headRequest = false, close = false): Parsed => {
  const results = parseReads([Buffer.from(text)], [headRequest], { close });
  assert.equal(results.length, 1);
  return results[0]!;
};

function parseError(text: string | Buffer | Buffer[], headRequest = false): HttpParseError {
  try {
    parseReads(Array.isArray(text) ? text : [Buffer.from(text)], [headRequest]);
  } catch (error) {
    assert.ok(error instanceof HttpParseError, `not an HttpParseError: ${String(error)}`);
    assert.match(error.code, /^HPE_/);
    return error;
  }
  assert.fail('no error');
}

// ---------------------------------------------------------------- framing

describe('h1 parser: framing', () => {
  it('reads a content-length body, with the status line and headers', () => {
    const r = parseOne(
      'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Empty:\r\n' +
        'X-Spaced: \t a b \t\r\n\r\nhello',
    );
    assert.equal(r.done, true);
    assert.equal(r.head?.status, 201);
    assert.equal(r.head?.statusText, 'Created');
    assert.equal(r.head?.minorVersion, 1);
    assert.deepEqual(
      r.head?.headers,
      { 'content-type': 'text/plain', 'content-length': '5', 'x-empty': '', 'x-spaced': 'a b' },
    );
    assert.deepEqual(
      r.head?.rawHeaders,
      ['Content-Type', 'text/plain', 'Content-Length', '5', 'X-Empty', '', 'X-Spaced', 'a b'],
    );
    assert.equal(r.head?.repeated, false);
    assert.equal(r.body.toString(), 'hello');
    assert.deepEqual(r.lasts, [true]);
    assert.equal(r.keepAlive, true);
  });

  it('keeps repeated headers as arrays, in order, and their raw pairs', () => {
    const r = parseOne(
      'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\nVary: x\r\nvary: y\r\n' +
        'Content-Length: 0\r\n\r\n',
    );
    assert.deepEqual(r.head?.headers['set-cookie'], ['a=1', 'b=2', 'c=3']);
    assert.deepEqual(r.head?.headers['vary'], ['x', 'y']);
    assert.equal(r.head?.repeated, true);
    assert.deepEqual(
      r.head?.rawHeaders.filter((_, i) => i % 2 === 0),
      ['Set-Cookie', 'set-cookie', 'SET-COOKIE', 'Vary', 'vary', 'Content-Length'],
    );
  });

  it('a header named like an Object.prototype member is a header; __proto__ stays out of the object', () => {
    const r = parseOne(
      'HTTP/1.1 200 OK\r\nconstructor: c\r\n__proto__: p1\r\n__proto__: p2\r\ntoString: t\r\nContent-Length: 0\r\n\r\n',
    );
    const headers = r.head!.headers;
    assert.equal(headers['constructor'], 'c');
    assert.equal(headers['tostring'], 't');
    assert.equal(Object.getPrototypeOf(headers), Object.prototype);
    assert.equal(Object.hasOwn(headers, '__proto__'), false);
    assert.deepEqual(r.head?.rawHeaders.slice(2, 6), ['__proto__', 'p1', '__proto__', 'p2']);
  });

  it('reads a status line without a reason phrase, and HTTP/1.0', () => {
    assert.equal(parseOne('HTTP/1.1 204\r\n\r\n').head?.statusText, '');
    const old = parseOne('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    assert.equal(old.head?.minorVersion, 0);
    assert.equal(old.keepAlive, false, 'an HTTP/1.0 response closes its connection');
  });

  it('reads a chunked body, with chunk extensions and trailers', () => {
    const r = parseOne(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value;q="a b"\r\nhello\r\n1;ext\r\n \r\n' +
        'A\r\n0123456789\r\n0;last\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n',
    );
    assert.equal(r.done, true);
    assert.equal(r.body.toString(), 'hello 0123456789');
    assert.ok(r.lasts.every((last) => !last));
    assert.equal(r.keepAlive, true);
  });

  it('reads a chunked body without trailers, with upper- and lower-case hex sizes', () => {
    const r = parseOne(
      `HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n1a\r\n${'x'.repeat(26)}\r\n` +
        `1A\r\n${'y'.repeat(26)}\r\n0\r\n\r\n`,
    );
    assert.equal(r.body.toString(), 'x'.repeat(26) + 'y'.repeat(26));
  });

  it('reads until the connection closes when neither content-length nor chunked frames the body', () => {
    const parser = new ResponseParser();
    let body = '';
    parser.start({ onHead: () => undefined, onBody: (d, s, e) => (body += d.toString('latin1', s, e)) }, false);
    const data = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome text');
    assert.equal(parser.execute(data, 0, data.length), data.length);
    assert.equal(parser.done, false);
    assert.equal(parser.keepAlive, false);
    const more = Buffer.from(' and more');
    parser.execute(more, 0, more.length);
    assert.equal(parser.finish(), true);
    assert.equal(parser.done, true);
    assert.equal(body, 'some text and more');
  });

  it('a transfer-encoding that does not end in chunked is read until close', () => {
    const r = parseOne('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc', false, true);
    assert.equal(r.done, true);
    assert.equal(r.body.toString(), 'abc');
  });

  it('finish() before the end of a framed body is not a complete response', () => {
    const parser = new ResponseParser();
    parser.start({ onHead: () => undefined, onBody: () => undefined }, false);
    const data = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    parser.execute(data, 0, data.length);
    assert.equal(parser.finish(), false);
    parser.start({ onHead: () => undefined, onBody: () => undefined }, false);
    assert.equal(parser.finish(), false, 'nothing received');
  });

  it('HEAD, 204 and 304 responses have no body whatever their headers say', () => {
    const head = parseReads(
      [Buffer.from(
        'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      )],
      [true, true],
    );
    assert.equal(head.length, 2);
    assert.ok(head.every((r) => r.done && r.body.length === 0));
    for (const status of [204, 304]) {
      const [r, next] = parseReads([
        Buffer.from(`HTTP/1.1 ${status} X\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc`),
      ]);
      assert.equal(r!.body.length, 0);
      assert.equal(next!.body.toString(), 'abc', 'the bytes after it are the next response');
    }
  });

  it('content-length: 0 ends the response at the end of the head', () => {
    const r = parseOne('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    assert.equal(r.done, true);
    assert.deepEqual(r.lasts, []);
  });

  it('skips 1xx responses (100 Continue, 103 Early Hints) and reads the one that follows', () => {
    const r = parseOne(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    );
    assert.equal(r.head?.status, 200);
    assert.deepEqual(r.head?.headers, { 'content-length': '2' });
    assert.equal(r.body.toString(), 'ok');
  });

  it('stops at the end of a response: the bytes after it are returned unconsumed', () => {
    const parser = new ResponseParser();
    parser.start({ onHead: () => undefined, onBody: () => undefined }, false);
    const data = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA');
    assert.equal(parser.execute(data, 0, data.length), data.length - 5);
    assert.equal(parser.done, true);
  });
});

// ---------------------------------------------------------------- keep-alive

describe('h1 parser: keep-alive', () => {
  it('connection: close (any case, in a list) ends keep-alive; keep-alive keeps it', () => {
    assert.equal(parseOne('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
    assert.equal(
      parseOne('HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n').keepAlive,
      false,
    );
    assert.equal(parseOne('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
    assert.equal(parseOne('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
    assert.equal(parseOne('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
  });

  it('reads the Keep-Alive timeout hint', () => {
    assert.equal(
      parseOne('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs,
      5000,
    );
    assert.equal(
      parseOne('HTTP/1.1 200 OK\r\nKeep-Alive: max=100, Timeout = 30\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs,
      30_000,
    );
    assert.equal(
      parseOne('HTTP/1.1 200 OK\r\nKeep-Alive: max=100\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs,
      -1,
    );
    assert.equal(parseOne('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').keepAliveTimeoutMs, -1);
  });

  it('the hint of one response does not stick to the next', () => {
    const [a, b] = parseReads([
      Buffer.from(
        'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
      ),
    ]);
    assert.equal(a!.keepAliveTimeoutMs, 5000);
    assert.equal(b!.keepAliveTimeoutMs, -1);
  });
});

// ---------------------------------------------------------------- malformed

describe('h1 parser: malformed responses fail with HPE_ codes', () => {
  const cases: [string, string | Buffer | Buffer[], string][] = [
    ['not HTTP at all', 'SSH-2.0-OpenSSH_9.6\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['not HTTP, detected before the end of a head', 'SSH-2.0-OpenSSH_9.6\r\n', 'HPE_INVALID_CONSTANT'],
    ['HTTP/2 text', 'HTTP/2 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a version that is not a digit', 'HTTP/1.x 200 OK\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a status followed by a letter', 'HTTP/1.1 200OK\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['status 099', 'HTTP/1.1 099 Low\r\n\r\n', 'HPE_INVALID_STATUS'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['an empty header name', 'HTTP/1.1 200 OK\r\n: x\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a bare LF inside a header value', 'HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\r\n', 'HPE_CR_EXPECTED'],
    ['a bare CR inside a header value', 'HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\n\r\n', 'HPE_LF_EXPECTED'],
    [
      'a bare LF after the status line, before the head is complete',
      'HTTP/1.1 200 OK\nContent-Length: 0\n',
      'HPE_CR_EXPECTED',
    ],
    [
      'a content-length that is not a number',
      'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n',
      'HPE_INVALID_CONTENT_LENGTH',
    ],
    ['a negative content-length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    [
      'a content-length with a space inside',
      'HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n',
      'HPE_INVALID_CONTENT_LENGTH',
    ],
    ['an empty content-length', 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    [
      'two different content-lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'content-length with transfer-encoding',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'a chunk size that is not hex',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HPE_INVALID_CHUNK_SIZE',
    ],
    [
      'a chunk size with a sign',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n',
      'HPE_INVALID_CHUNK_SIZE',
    ],
    [
      'a chunk size too large',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\n',
      'HPE_INVALID_CHUNK_SIZE',
    ],
    [
      'a chunk longer than its size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n',
      'HPE_STRICT',
    ],
    [
      'a chunk-size line ending in a bare LF',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\nab\r\n',
      'HPE_CR_EXPECTED',
    ],
    [
      'a trailer line ending in a bare LF',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\n\r\n',
      'HPE_CR_EXPECTED',
    ],
    [
      'chunk extensions without end',
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;', ';'.repeat(10_000), ';'.repeat(10_000)]
        .map((s) => Buffer.from(s)),
      'HPE_CHUNK_EXTENSIONS_OVERFLOW',
    ],
    [
      'a 101 nobody asked for',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
      'HPE_UNEXPECTED_UPGRADE',
    ],
  ];
  for (const [name, input, code] of cases) {
    it(name, () => assert.equal(parseError(input).code, code));
  }

  it(`a head larger than ${MAX_HEAD_BYTES} bytes, in one read or many`, () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
    assert.equal(parseError(big).code, 'HPE_HEADER_OVERFLOW');
    const pieces: Buffer[] = [];
    for (let at = 0; at < big.length; at += 1000) pieces.push(Buffer.from(big.slice(at, at + 1000)));
    assert.equal(parseError(pieces).code, 'HPE_HEADER_OVERFLOW');
    const endless = [
      Buffer.from('HTTP/1.1 200 OK\r\n'),
      ...Array.from({ length: 70 }, () => Buffer.from(`X-A: ${'b'.repeat(1000)}\r\n`)),
    ];
    assert.equal(parseError(endless).code, 'HPE_HEADER_OVERFLOW');
  });

  it('a head just under the limit is fine', () => {
    const head = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES - 100)}\r\nContent-Length: 0\r\n\r\n`;
    assert.ok(Buffer.byteLength(head) <= MAX_HEAD_BYTES);
    assert.equal(parseOne(head).head?.headers['x-big']?.length, MAX_HEAD_BYTES - 100);
  });
});

// ---------------------------------------------------------------- as llhttp

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
/** A chunked response whose first chunk ("x") has the size line `line`. */
const sizeLine = (line: string): Buffer => latin1(`${CHUNKED}${line}\r\nx\r\n0\r\n\r\n`);

describe('h1 parser: as strict and as lenient as llhttp', () => {
  it('skips empty lines before a status line (CRLF, bare CR or LF), after a 1xx too, and between responses', () => {
    const ok = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    for (const before of ['\r\n', '\r\n\r\n\r\n', '\n', '\r', '\n\r\n\r']) {
      const r = parseOne(before + ok);
      assert.equal(r.body.toString(), 'ok', JSON.stringify(before));
    }
    assert.equal(parseOne(`HTTP/1.1 100 Continue\r\n\r\n\r\n${ok}`).head?.status, 200);
    const [first, second] = parseReads([latin1(`${ok}\r\n${ok}`)]);
    assert.equal(second?.body.toString(), 'ok');
    assert.equal(first?.end, ok.length);
    const wire = latin1(`\r\n\r\n${ok}`);
    for (let cut = 1; cut < wire.length; cut++) {
      assert.equal(parseReads([wire.subarray(0, cut), wire.subarray(cut)])[0]?.body.toString(), 'ok', `cut at ${cut}`);
    }
  });

  it('counts the empty lines before a status line towards the head limit', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    assert.equal(parseOne('\r\n'.repeat((MAX_HEAD_BYTES - head.length) / 2) + head).done, true);
    assert.equal(parseError('\r\n'.repeat(MAX_HEAD_BYTES / 2) + head).code, 'HPE_HEADER_OVERFLOW');
    assert.equal(parseError(Array.from({ length: 40 }, () => latin1('\r\n'.repeat(1000)))).code, 'HPE_HEADER_OVERFLOW');
  });

  it('reads a chunk size by its value: any number of leading zeros', () => {
    for (const size of ['01', '0000000000000001', '0'.repeat(40) + '1']) {
      assert.equal(parseOne(sizeLine(size)).body.toString(), 'x', size);
    }
    const last = parseOne(`${CHUNKED}1\r\nx\r\n${'0'.repeat(30)}\r\n\r\n`);
    assert.equal(last.done, true);
  });

  it('reads a content-length by its value: any number of leading zeros; 2^52 and more are refused', () => {
    assert.equal(parseOne(`HTTP/1.1 200 OK\r\nContent-Length: ${'0'.repeat(20)}2\r\n\r\nok`).body.toString(), 'ok');
    const parser = new ResponseParser();
    parser.start({ onHead: () => undefined, onBody: () => undefined }, false);
    const head = latin1(`HTTP/1.1 200 OK\r\nContent-Length: ${2 ** 52 - 1}\r\n\r\n`);
    parser.execute(head, 0, head.length);
    assert.equal(parser.done, false, '2^52 - 1 bytes are a body to wait for');
    assert.equal(
      parseError(`HTTP/1.1 200 OK\r\nContent-Length: ${2 ** 52}\r\n\r\n`).code,
      'HPE_INVALID_CONTENT_LENGTH',
    );
    assert.equal(
      parseError(`HTTP/1.1 200 OK\r\nContent-Length: ${'9'.repeat(30)}\r\n\r\n`).code,
      'HPE_INVALID_CONTENT_LENGTH',
    );
  });

  it('refuses a chunk size of 2^52 or more by its value, not its number of digits', () => {
    const start = (line: string): ResponseParser => {
      const parser = new ResponseParser();
      parser.start({ onHead: () => undefined, onBody: () => undefined }, false);
      const data = latin1(`${CHUNKED}${line}\r\n`);
      parser.execute(data, 0, data.length);
      return parser;
    };
    assert.equal(start('fffffffffffff').done, false, '2^52 - 1 bytes are a chunk to wait for');
    assert.equal(start('000fffffffffffff').done, false);
    assert.throws(() => start('10000000000000'), { code: 'HPE_INVALID_CHUNK_SIZE' });
    assert.throws(() => start('ffffffffffffffffffff'), { code: 'HPE_INVALID_CHUNK_SIZE' });
  });

  it('refuses a control character in a field value, as RFC 9110 §5.5 and llhttp do; HTAB and obs-text are ' +
      'fine', () => {
    for (const c of ['\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1f', '\x7f']) {
      const name = JSON.stringify(c);
      assert.equal(
        parseError(latin1(`HTTP/1.1 200 OK\r\nX-A: a${c}b\r\nContent-Length: 0\r\n\r\n`)).code,
        'HPE_INVALID_HEADER_TOKEN',
        name,
      );
      assert.equal(
        parseError(latin1(`HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A:${c}\r\n\r\n`)).code,
        'HPE_INVALID_HEADER_TOKEN',
        name,
      );
      const large = `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(2000)}\r\nX-A: ${c}\r\nContent-Length: 0\r\n\r\n`;
      assert.equal(
        parseError(latin1(large)).code,
        'HPE_INVALID_HEADER_TOKEN',
        `${name} in a head of more than one small read`,
      );
      assert.equal(
        parseError(latin1(`HTTP/1.1 103 Early Hints\r\nLink: a${c}\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n`)).code,
        'HPE_INVALID_HEADER_TOKEN',
        name,
      );
    }
    const r = parseOne(latin1('HTTP/1.1 200 O\x01K\r\nX-A: a\tb\xe9\xff\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(r.head?.headers['x-a'], 'a\tb\xe9\xff');
    assert.equal(r.head?.statusText, 'O\x01K', 'a reason phrase is not a field value (llhttp takes it as it is)');
  });

  it('reads trailers as field lines: a value may hold HTAB and obs-text, or be empty', () => {
    assert.equal(parseOne(latin1(`${CHUNKED}0\r\nX-T: a\tb\xff\r\nX-U:\r\nx-v:w\r\n\r\n`)).done, true);
  });

  const refusedTrailers: [string, string, string][] = [
    ['a trailer without a colon', `${CHUNKED}0\r\nX-T 1\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a trailer without a name', `${CHUNKED}0\r\n: 1\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a trailer with a space before its colon', `${CHUNKED}0\r\nX-T : 1\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a trailer that is only a name', `${CHUNKED}0\r\nX-T\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a trailer folded onto a second line', `${CHUNKED}0\r\nX-T: 1\r\n 2\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a trailer line starting with LF', `${CHUNKED}0\r\n\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a trailer value ending in CR without LF', `${CHUNKED}0\r\nX-T: 1\r\r\n\r\n`, 'HPE_LF_EXPECTED'],
    ['a CR without LF at the end of the trailers', `${CHUNKED}0\r\n\rX`, 'HPE_STRICT'],
    ['a NUL in a trailer value', `${CHUNKED}0\r\nX-T: a\x00b\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a DEL in a trailer value', `${CHUNKED}0\r\nX-T: a\x7f\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
    ['a control character in a trailer name', `${CHUNKED}0\r\nX\x01: a\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN'],
  ];
  for (const [name, input, code] of refusedTrailers) {
    it(`refuses ${name} (${code})`, () => assert.equal(parseError(latin1(input)).code, code));
  }

  /** Chunk-size lines: no whitespace, extensions `;name[=token|quoted-string]`, CRLF. */
  const refusedSizeLines: [string, string, string][] = [
    ['a space after a chunk size', `${CHUNKED}1 \r\nx\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
    ['a tab after a chunk size', `${CHUNKED}1\t\r\nx\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
    ['a space before a chunk extension', `${CHUNKED}1 ;a\r\nx\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE'],
    ['an empty chunk extension', `${CHUNKED}1;\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a chunk extension after a space', `${CHUNKED}1; a\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a space after a chunk extension name', `${CHUNKED}1;a \r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a space around the = of a chunk extension', `${CHUNKED}1;a= b\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a chunk extension ending in ;', `${CHUNKED}1;a=b;\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['two = in a chunk extension', `${CHUNKED}1;a=b=c\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a control character in a quoted chunk extension', `${CHUNKED}1;a="b\x01"\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a quoted-pair of a control character', `${CHUNKED}1;a="b\\\x7f"\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['text after a quoted chunk extension', `${CHUNKED}1;a="b"c\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['an unterminated quoted chunk extension', `${CHUNKED}1;a="b\r\nx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['a chunk-size line ending in a bare LF', `${CHUNKED}1\nx\r\n0\r\n\r\n`, 'HPE_CR_EXPECTED'],
    ['a chunk extension ending in a bare LF', `${CHUNKED}1;a="b"\nx\r\n0\r\n\r\n`, 'HPE_CR_EXPECTED'],
    ['a chunk-size CR not followed by LF', `${CHUNKED}1;a\rx\r\n0\r\n\r\n`, 'HPE_STRICT'],
    ['chunk data followed by a bare LF', `${CHUNKED}1\r\nx\n0\r\n\r\n`, 'HPE_CR_EXPECTED'],
    ['chunk data followed by a CR without LF', `${CHUNKED}1\r\nx\r0\r\n\r\n`, 'HPE_STRICT'],
  ];
  for (const [name, input, code] of refusedSizeLines) {
    it(`refuses ${name} (${code})`, () => assert.equal(parseError(latin1(input)).code, code));
  }

  it('accepts the chunk extensions llhttp accepts', () => {
    const lines = [
      '1;a', '1;a=b', '1;a=""', '1;a="b \\"c\\" \t\xff"', '1;a;b=c;d="e"',
      '1;a="b";c', '1;a=', '1;=b', '1;;a', '1;a=b"c"',
    ];
    for (const line of lines) assert.equal(parseOne(sizeLine(line)).body.toString(), 'x', JSON.stringify(line));
  });
});

// ---------------------------------------------------------------- split anywhere

/** A response to generate, and what parsing it must give. */
interface Case {
  wire: Buffer;
  headRequest: boolean;
  status: number;
  headers: [string, string][];
  body: Buffer;
  /** a body read until close: only the last response of a connection */
  untilClose: boolean;
}

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive', '__proto__'].includes(n.toLowerCase()));
const fieldValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const bodyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

const responseCase = (last: boolean): fc.Arbitrary<Case> =>
  fc.record({
    status: fc.constantFrom(200, 201, 204, 304, 404, 500),
    headers: fc.array(fc.tuple(token, fieldValue), { maxLength: 5 }),
    body: bodyBytes,
    framing: last ? fc.constantFrom('length', 'chunked', 'close') : fc.constantFrom('length', 'chunked'),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
    extensions: fc.boolean(),
    trailers: fc.array(fc.tuple(token, fieldValue), { maxLength: 2 }),
    informational: fc.boolean(),
    headRequest: fc.boolean(),
    upperHex: fc.boolean(),
  }).map((r) => {
    const noBody = r.headRequest || r.status === 204 || r.status === 304;
    const body = noBody ? Buffer.alloc(0) : r.body;
    let head = r.informational ? 'HTTP/1.1 100 Continue\r\n\r\n' : '';
    head += `HTTP/1.1 ${r.status} Some Reason\r\n`;
    for (const [name, value] of r.headers) head += `${name}:${value.length % 2 ? ' ' : ''}${value}\r\n`;
    let payload: Buffer;
    if (r.framing === 'length') {
      head += `Content-Length: ${noBody && r.headRequest ? r.body.length : body.length}\r\n`;
      payload = body;
    } else if (r.framing === 'chunked') {
      head += 'Transfer-Encoding: chunked\r\n';
      const parts: Buffer[] = [];
      for (let at = 0, i = 0; at < body.length; i++) {
        const size = Math.min(r.chunkSizes[i % r.chunkSizes.length]!, body.length - at);
        const hex = r.upperHex ? size.toString(16).toUpperCase() : size.toString(16);
        parts.push(
          Buffer.from(`${hex}${r.extensions ? ';ext="x;y"' : ''}\r\n`),
          body.subarray(at, at + size),
          Buffer.from('\r\n'),
        );
        at += size;
      }
      const trailers = r.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
      parts.push(Buffer.from(`0${r.extensions ? ';done' : ''}\r\n${trailers}\r\n`));
      payload = noBody ? Buffer.alloc(0) : Buffer.concat(parts);
    } else {
      payload = body;
    }
    return {
      wire: Buffer.concat([Buffer.from(`${head}\r\n`), payload]),
      headRequest: r.headRequest,
      status: r.status,
      headers: r.headers,
      body,
      untilClose: r.framing === 'close' && !noBody,
    };
  });

describe('h1 parser: responses split at any byte boundary', () => {
  it('parse the same whatever the reads they arrive in', () => {
    const stream = fc.tuple(fc.array(responseCase(false), { maxLength: 4 }), responseCase(true))
      .map(([first, last]) => [...first, last]);
    fc.assert(
      fc.property(stream, fc.array(fc.integer({ min: 0, max: 4000 }), { maxLength: 40 }), (cases, cuts) => {
        const wire = Buffer.concat(cases.map((c) => c.wire));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let from = 0;
        for (const point of [...points, wire.length]) {
          if (point > from) pieces.push(wire.subarray(from, point));
          from = Math.max(from, point);
        }
        const results = parseReads(pieces, cases.map((c) => c.headRequest), { close: true });
        assert.equal(results.length, cases.length);
        cases.forEach((c, i) => {
          const r = results[i]!;
          assert.equal(r.done, true, `response ${i} complete`);
          assert.equal(r.head?.status, c.status);
          assert.deepEqual(r.head?.rawHeaders.slice(0, c.headers.length * 2), c.headers.flat());
          assert.ok(r.body.equals(c.body), `response ${i}: body`);
          assert.equal(r.keepAlive, !c.untilClose);
        });
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('every single split point of one response of each framing', () => {
    const responses = [
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
    ];
    for (const text of responses) {
      const wire = Buffer.from(text);
      for (let cut = 1; cut < wire.length; cut++) {
        const [r] = parseReads([wire.subarray(0, cut), wire.subarray(cut)]);
        assert.equal(r?.body.toString(), 'hello world', `cut at ${cut}`);
        assert.equal(r?.done, true);
      }
    }
  });
});
