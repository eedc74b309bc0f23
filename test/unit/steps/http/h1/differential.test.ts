// Differential fuzzing of perfy's response parser against llhttp, Node's own HTTP parser: generated and damaged
// response streams, fed to perfy in random reads and to llhttp byte by byte, must be framed alike but for the
// intended divergences of divergences.ts (docs/http-parser.md). PERFY_FUZZ_RUNS=20000 runs longer.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PACKAGE_ROOT } from '../../../../../engine/paths.js';
import { DIVERGENCES, type Context } from './divergences.js';
import {
  differences, llhttpFraming, LLHTTP_VERSION, perfyFraming, type Difference, type Framing, type Stream,
} from './framing.js';

/** Fixed, so a run is repeatable; PERFY_FUZZ_SEED explores others. */
const SEED = Number(process.env['PERFY_FUZZ_SEED'] ?? 20_261_127);
const RUNS = Number(process.env['PERFY_FUZZ_RUNS'] ?? 3000);

// ---------------------------------------------------------------- generating responses

const crlf = '\r\n';
/** Weighted choice among constants: [weight, value]. */
const weighted = <T>(...choices: [number, T][]): fc.Arbitrary<T> =>
  fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));

const ows = weighted([6, ''], [6, ' '], [1, '  '], [1, '\t'], [1, ' \t']);
/** Mostly plain text; sometimes HTAB, obs-text, a quote, a comma, or a control character llhttp refuses. */
const oddChars = fc.constantFrom('a', 'b', ' ', '\t', ',', '"', '\\', '\x80', '\xe9', '\xff');
const control = fc.constantFrom('\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f');
const fieldText = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[!-~]([ -~]{0,14}[!-~])?$/) },
  { weight: 2, arbitrary: fc.array(oddChars, { minLength: 1, maxLength: 6 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.tuple(control, fc.boolean()).map(([c, first]) => (first ? `${c}v` : `v${c}`)) },
);
const fieldName = weighted<string>(
  [6, 'Content-Type'], [3, 'X-Request-Id'], [3, 'set-cookie'], [2, 'Vary'], [2, 'VARY'], [1, 'Keep-Alive'],
  [1, 'constructor'], [1, '__proto__'], [1, "x!#$%&'*+-.^_`|~9"], [1, 'toString'],
);
const field = fc.tuple(fieldName, ows, fieldText, ows)
  .map(([name, before, value, after]) => `${name}:${before}${value}${after}`);
/** Now and then a value longer than perfy's small-read path (1 KiB), so the head is parsed from a Buffer. */
const longField = fc.oneof(
  { weight: 8, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((n) => [`X-Long: ${'l'.repeat(n)}`]) },
);

const lines = (fields: string[]): string => fields.map((f) => f + crlf).join('');

const version = weighted(
  [30, 'HTTP/1.1'], [4, 'HTTP/1.0'], [1, 'HTTP/1.2'], [1, 'HTTP/2.0'], [1, 'HTTP/0.9'], [1, 'RTSP/1.0'],
  [1, 'HTTP/1.x'],
);
const status = weighted(
  [10, '200'], [3, '201'], [3, '204'], [3, '304'], [3, '404'], [2, '500'], [1, '101'], [1, '199'], [1, '099'],
  [1, '999'],
);
const reason = weighted(
  [10, ' OK'], [2, ''], [2, ' '], [2, ' Some Reason'], [1, ' O\x01K'], [1, '  OK'], [1, ' \xe9t\xe9'],
);
const emptyLines = weighted([12, ''], [2, crlf], [1, '\n'], [1, '\r'], [1, crlf + crlf]);
const informational = fc.tuple(
  weighted([3, '100 Continue'], [2, '103 Early Hints']),
  fc.array(field, { maxLength: 2 }),
  weighted<string[]>([6, []], [1, ['Connection: close']], [1, ['Content-Length: 5']]),
).map(([line, fields, framing]) => `HTTP/1.1 ${line}${crlf}${lines([...fields, ...framing])}${crlf}`);

const connection = weighted<string | undefined>(
  [10, undefined], [3, 'keep-alive'], [3, 'close'], [1, 'Close'], [1, 'keep-alive, close'], [1, 'x,close'],
  [1, 'closed'], [1, 'upgrade'],
);
/** How a content-length header is written for a body of n bytes. */
const lengthHeader = weighted<(n: number) => string[]>(
  [12, (n) => [`Content-Length: ${n}`]], [2, (n) => [`content-length:${n}`]], [1, (n) => [`Content-Length: 000${n}`]],
  [1, (n) => [`Content-Length: ${n}\t`]], [1, (n) => [`Content-Length: ${n}`, `Content-Length: ${n}`]],
  [1, (n) => [`Content-Length: ${n}`, `Content-Length: ${n + 1}`]], [1, (n) => [`Content-Length: ${n + 1}`]],
  [1, (n) => [`Content-Length: ${Math.max(0, n - 1)}`]], [1, (n) => [`Content-Length: ${n}, ${n}`]],
  [1, () => ['Content-Length: -1']], [1, () => ['Content-Length:']], [1, () => [`Content-Length: ${2 ** 52}`]],
  [1, (n) => [`Content-Length: ${n}`, 'Transfer-Encoding: chunked']],
);
const transferEncoding = weighted(
  [12, 'chunked'], [2, 'Chunked'], [2, 'gzip, chunked'], [1, 'chunked, gzip'], [1, 'chunked '], [1, 'identity'],
  [1, ',chunked'],
);
const chunkExtension = weighted(
  [12, ''], [2, ';a'], [2, ';a=b'], [2, ';name="q v"'], [1, ';a="\\""'], [1, ';=x'], [1, ';;a'], [1, ';a=b"c"'],
  [1, ' ;a'], [1, ';a '], [1, ';'], [1, ';a="\x01"'], [1, ';a=b;'], [1, ' '], [1, '\t'],
);
const chunkSize = weighted<(n: number) => string>(
  [12, (n) => n.toString(16)], [2, (n) => n.toString(16).toUpperCase()],
  [1, (n) => `0000000000000000${n.toString(16)}`], [1, (n) => `${n.toString(16)} `], [1, (n) => (n + 1).toString(16)],
  [1, (n) => `0x${n.toString(16)}`],
);
type Chunk = [size: number, write: (n: number) => string, extension: string];
const trailer = weighted(
  [4, 'X-T: 1'], [2, 'Expires: never'], [2, 'x:'], [1, 'X-T: a\tb\xff'], [1, 'X 1'], [1, ' X: 1'], [1, 'X: \x00'],
  [1, 'Content-Length: 5'], [1, 'Transfer-Encoding: gzip'], [1, 'Connection: close'], [1, 'X'],
);
const body = fc.oneof(
  { weight: 10, arbitrary: fc.uint8Array({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n) => Buffer.alloc(n, 'body ')) },
).map((bytes) => Buffer.from(bytes));

interface Generated {
  wire: Buffer;
  head: boolean;
}

/** One response (with what may come before it: empty lines, 1xx), whose headers mostly tell its body right. */
const response = (last: boolean): fc.Arbitrary<Generated> =>
  fc.record({
    before: emptyLines,
    informational: fc.array(informational, { maxLength: 2 }),
    statusLine: fc.tuple(version, status, reason).map(([v, s, r]) => `${v} ${s}${r}`),
    fields: fc.array(field, { maxLength: 5 }),
    long: longField,
    connection,
    /** whitespace after the framing fields' values, a tab too */
    after: ows,
    framing: last ? weighted([6, 'length'], [5, 'chunked'], [2, 'close']) : weighted([6, 'length'], [5, 'chunked']),
    lengthHeader,
    transferEncoding,
    body,
    chunks: fc.array(
      fc.tuple(fc.integer({ min: 1, max: 40 }), chunkSize, chunkExtension),
      { minLength: 1, maxLength: 4 },
    ),
    lastChunk: fc.tuple(weighted([8, '0'], [1, '000'], [1, '0'.repeat(20)]), chunkExtension),
    trailers: fc.array(trailer, { maxLength: 2 }),
    head: fc.boolean(),
  }).map((r): Generated => {
    const fields = [...r.fields, ...r.long];
    if (r.connection !== undefined) fields.push(`Connection: ${r.connection}${r.after}`);
    let payload: Buffer;
    if (r.framing === 'length') {
      fields.push(...r.lengthHeader(r.body.length));
      payload = r.body;
    } else if (r.framing === 'chunked') {
      fields.push(`Transfer-Encoding: ${r.transferEncoding}${r.after}`);
      payload = chunked(r.body, r.chunks, r.lastChunk, r.trailers);
    } else {
      payload = r.body;
    }
    const head = `${r.before}${r.informational.join('')}${r.statusLine}${crlf}${lines(fields)}${crlf}`;
    return { wire: Buffer.concat([Buffer.from(head, 'latin1'), r.head ? Buffer.alloc(0) : payload]), head: r.head };
  });

function chunked(data: Buffer, chunks: Chunk[], [zeros, extension]: [string, string], trailers: string[]): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const [size, write, chunkExtension] = chunks[i % chunks.length]!;
    const n = Math.min(size, data.length - at);
    const sizeLine = Buffer.from(`${write(n)}${chunkExtension}${crlf}`, 'latin1');
    parts.push(sizeLine, data.subarray(at, at + n), Buffer.from(crlf));
    at += n;
  }
  parts.push(Buffer.from(`${zeros}${extension}${crlf}${lines(trailers)}${crlf}`, 'latin1'));
  return Buffer.concat(parts);
}

/** Byte-level damage, at a position taken modulo the stream's length. */
type ByteMutation = 'insert' | 'replace';
type LineMutation = 'delete' | 'duplicate line' | 'CRLF to LF' | 'CRLF to CR';
type Mutation = [ByteMutation, number, number] | [LineMutation, number];
const interestingByte = fc.constantFrom(13, 10, 0, 9, 32, 58, 59, 61, 34, 92, 44, 48, 49, 97, 65, 127, 128, 255);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom<ByteMutation>('insert', 'replace'), fc.nat(), interestingByte),
  fc.tuple(fc.constantFrom<LineMutation>('delete', 'duplicate line', 'CRLF to LF', 'CRLF to CR'), fc.nat()),
);

function mutate(wire: Buffer, [op, position, byte]: Mutation): Buffer {
  if (wire.length === 0) return wire;
  const at = position % wire.length;
  const before = wire.subarray(0, at);
  const after = wire.subarray(at);
  switch (op) {
    case 'insert':
      return Buffer.concat([before, Buffer.of(byte!), after]);
    case 'replace':
      return Buffer.concat([before, Buffer.of(byte!), wire.subarray(at + 1)]);
    case 'delete':
      return Buffer.concat([before, wire.subarray(at + 1)]);
    case 'duplicate line': {
      const start = wire.lastIndexOf(10, at - 1) + 1;
      const end = wire.indexOf(10, at);
      const line = wire.subarray(start, end === -1 ? wire.length : end + 1);
      return Buffer.concat([wire.subarray(0, start), line, wire.subarray(start)]);
    }
    case 'CRLF to LF':
    case 'CRLF to CR': {
      const crlfAt = wire.indexOf('\r\n', at);
      if (crlfAt === -1) return wire;
      const keep = op === 'CRLF to LF' ? '\n' : '\r';
      return Buffer.concat([wire.subarray(0, crlfAt), Buffer.from(keep), wire.subarray(crlfAt + 2)]);
    }
  }
}

/** A stream: 1 to 4 responses (only the last may run until close), damaged or not, and where its reads end. */
const streamCase = fc.record({
  responses: fc.tuple(fc.array(response(false), { maxLength: 3 }), response(true))
    .map(([rest, last]) => [...rest, last]),
  mutations: fc.oneof(fc.constant<Mutation[]>([]), fc.array(mutation, { minLength: 1, maxLength: 3 })),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
}).map(({ responses, mutations, cuts }) => {
  const wire = mutations.reduce(mutate, Buffer.concat(responses.map((r) => r.wire)));
  const stream: Stream = { wire, heads: responses.map((r) => r.head) };
  return { stream, cuts: [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b) };
});

// ---------------------------------------------------------------- comparing

interface Compared {
  context: Context;
  /** differences no divergence excuses */
  unexcused: Difference[];
  /** the ids of the divergences that normalized or excused something */
  used: string[];
}

/** Frames `stream` both ways and compares, with every divergence but the one named `without`. */
function compare(stream: Stream, cuts: number[], without?: string): Compared {
  const divergences = DIVERGENCES.filter((d) => d.id !== without);
  const perfy = perfyFraming(stream, cuts);
  const raw = llhttpFraming(stream);
  let llhttp = raw;
  const used: string[] = [];
  for (const d of divergences) {
    if (d.normalize === undefined) continue;
    const normalized = d.normalize(llhttp);
    if (normalized !== llhttp) used.push(d.id);
    llhttp = normalized;
  }
  const context: Context = { stream, perfy, llhttp, raw };
  const unexcused: Difference[] = [];
  for (const difference of differences(perfy, llhttp)) {
    const excuse = divergences.find((d) => d.excuses?.(difference, context) === true);
    if (excuse === undefined) unexcused.push(difference);
    else used.push(excuse.id);
  }
  return { context, unexcused, used };
}

/** The failure message: the stream as an escaped string, what differs, and both framings. */
function report(stream: Stream, cuts: number[], { unexcused, context }: Compared): string {
  const summary = (f: Framing): string =>
    JSON.stringify({ ...f, responses: f.responses.map((r) => ({ ...r, body: r.body.toString('latin1') })) });
  const json = JSON.stringify;
  return [
    `perfy and llhttp ${LLHTTP_VERSION} (Node ${process.version}) frame these bytes differently (seed ${SEED}):`,
    `  wire:  ${json(stream.wire.toString('latin1'))}`,
    `  HEAD:  ${json(stream.heads)}   reads cut at: ${json(cuts)}`,
    ...unexcused.map((d) => `  ${d.kind} of response ${d.response}: perfy ${json(d.perfy)}, llhttp ${json(d.llhttp)}`),
    `  perfy:  ${summary(context.perfy)}`,
    `  llhttp: ${summary(context.llhttp)}`,
  ].join('\n');
}

describe(`h1 parser against llhttp ${LLHTTP_VERSION}: differential fuzzing`, () => {
  it(`${RUNS} generated and damaged response streams are framed alike, but for the intended divergences`, (t) => {
    const used = new Map<string, number>();
    const started = performance.now();
    fc.assert(
      fc.property(streamCase, ({ stream, cuts }) => {
        const compared = compare(stream, cuts);
        for (const id of compared.used) used.set(id, (used.get(id) ?? 0) + 1);
        if (compared.unexcused.length > 0) assert.fail(report(stream, cuts, compared));
      }),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
    const tally = [...used].map(([id, n]) => `${id} ${n}`).join(', ');
    t.diagnostic(`${RUNS} cases in ${Math.round(performance.now() - started)} ms; divergences met: ${tally || 'none'}`);
  });
});

describe(`h1 parser against llhttp ${LLHTTP_VERSION}: the intended divergences (divergences.ts)`, () => {
  const [major, minor] = LLHTTP_VERSION.split('.').map(Number) as [number, number];
  const fixed = (version: string | undefined): boolean => {
    if (version === undefined) return false;
    const [fixedMajor, fixedMinor] = version.split('.').map(Number) as [number, number];
    return major > fixedMajor || (major === fixedMajor && minor >= fixedMinor);
  };
  for (const d of DIVERGENCES) {
    const title = fixed(d.fixedIn)
      ? `${d.id}: fixed in llhttp ${d.fixedIn ?? ''}, its example is framed alike`
      : `${d.id}: its example differs without the entry, and is excused with it`;
    it(title, () => {
      const show = JSON.stringify(d.example.wire.toString('latin1'));
      const without = compare(d.example, [], d.id);
      if (fixed(d.fixedIn)) {
        assert.deepEqual(without.unexcused, [], `llhttp ${LLHTTP_VERSION} frames ${show} as perfy does`);
        return;
      }
      const alike = `without ${d.id}, llhttp ${LLHTTP_VERSION} frames ${show} as perfy does`;
      assert.notDeepEqual(without.unexcused, [], alike);
      const compared = compare(d.example, []);
      assert.deepEqual(compared.unexcused, [], show);
      assert.ok(compared.used.includes(d.id));
    });
  }

  it('docs/http-parser.md lists every one of them as it is here, and no other', () => {
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'http-parser.md'), 'utf8');
    // (the rows of the table of divergences: lower-case ids, where error codes are upper-case)
    const listed = [...doc.matchAll(/^\| `([a-z0-9^-]+)` \|/gm)].map((m) => m[1]!);
    assert.deepEqual(listed.sort(), DIVERGENCES.map((d) => d.id).sort());
    const cell = (text: string): string => text.replace(/\b(HPE_[A-Z_]+)\b/g, '`$1`');
    for (const d of DIVERGENCES) {
      const row = `| \`${d.id}\` | ${cell(d.perfy)} | ${cell(d.llhttp)} | ${cell(d.why)} |`;
      assert.ok(doc.includes(row), `docs/http-parser.md should have the row ${row}`);
    }
  });
});
