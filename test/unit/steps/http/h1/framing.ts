// What perfy's response parser and llhttp (Node's own HTTP parser) make of the same bytes, in one shape, and the
// first difference between the two: the differential test's machinery. docs/http-parser.md says how it works.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { MAX_HEAD_BYTES } from '../../../../../engine/steps/http/h1/parser.js';
import { readResponses } from './reads.js';

/** One response as framed: perfy's view of it (the header map as perfy exposes it). */
export interface Framed {
  status: number;
  minorVersion: number;
  /** Lower-case names, a repeated name's values in an array, `__proto__` left out. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The offset in the stream just after the response. */
  end: number;
  keepAlive: boolean;
  /** llhttp's only: the trailer fields, raw [name, value, …] */
  trailers?: string[];
}

export interface Framing {
  responses: Framed[];
  /**
   * `clean`: the stream ended between responses, or after one that ends keep-alive (the client closes then);
   * `failed`: a parse error, or the connection closed inside a response; `upgraded`: llhttp stopped at a 101.
   */
  outcome: 'clean' | 'failed' | 'upgraded';
  /** The error code of a failure (HPE_…, or HPE_INVALID_EOF_STATE for a close inside a response). */
  code: string | undefined;
  /** The offset of the byte llhttp failed at (perfy reports no offset). */
  errorAt: number | undefined;
  /** llhttp's only: the response whose head it had read when it failed. */
  partial?: Framed;
}

/** A stream of responses to frame: the bytes, and for each response whether its request was HEAD. */
export interface Stream {
  wire: Buffer;
  heads: boolean[];
}

/**
 * perfy's framing of `stream` read in pieces cut at `cuts`, as a connection reads it: it stops at a response
 * that ends keep-alive, and the server closes the connection after the last byte.
 */
export function perfyFraming(stream: Stream, cuts: number[]): Framing {
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.wire.length]) {
    if (cut > from) pieces.push(stream.wire.subarray(from, cut));
    from = Math.max(from, cut);
  }
  const { responses, error, endedClean } = readResponses(pieces, stream.heads, { close: true, stopAtClose: true });
  const framed = responses.filter((r) => r.done).map((r): Framed => {
    const { status, minorVersion, headers } = r.head!;
    return { status, minorVersion, headers, body: r.body, end: r.end, keepAlive: r.keepAlive };
  });
  if (error !== undefined) return { responses: framed, outcome: 'failed', code: error.code, errorAt: undefined };
  if (!endedClean) return { responses: framed, outcome: 'failed', code: 'HPE_INVALID_EOF_STATE', errorAt: undefined };
  return { responses: framed, outcome: 'clean', code: undefined, errorAt: undefined };
}

// ---------------------------------------------------------------- llhttp

/** The parts of Node's HTTPParser (node:_http_common) the test uses. */
interface HttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code: string });
  finish(): undefined | (Error & { code: string });
  [callback: number]: unknown;
}
interface HttpParserClass {
  new (): HttpParser;
  RESPONSE: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
}

/**
 * Node's llhttp binding. It is internal to Node, though public in practice (undici and Node's http client use
 * it): when a Node release drops it, this fails loudly rather than the differential test passing on nothing.
 */
function loadLlhttp(): HttpParserClass {
  const { HTTPParser } = createRequire(import.meta.url)('node:_http_common') as { HTTPParser?: HttpParserClass };
  assert.equal(typeof HTTPParser, 'function', `node:_http_common has no HTTPParser in Node ${process.version}`);
  const keys = ['RESPONSE', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kLenientNone'];
  for (const key of keys as (keyof HttpParserClass)[]) {
    assert.equal(typeof HTTPParser![key], 'number', `HTTPParser.${key} is missing in Node ${process.version}`);
  }
  return HTTPParser!;
}

const HTTPParser = loadLlhttp();
/** The llhttp version of this Node, for messages. */
export const LLHTTP_VERSION = process.versions.llhttp ?? 'unknown';

/** One parser for all: initialize() resets it, as Node's http client does with its pooled parsers. */
const llhttp = new HTTPParser();

interface LlhttpResponse extends Framed {
  trailers: string[];
}

/**
 * llhttp's framing of `stream`, fed one byte at a time so the end of each response is known to the byte.
 * Strict mode (no lenient flags, as Node's http client by default) with perfy's head limit. Informational
 * responses are reported as any: the divergence list says what perfy does with them.
 */
export function llhttpFraming(stream: Stream): Framing {
  const { wire, heads } = stream;
  const responses: LlhttpResponse[] = [];
  let current: LlhttpResponse | undefined;
  let flushed: string[] = [];
  let finals = 0;
  let at = 0;
  llhttp.initialize(HTTPParser.RESPONSE, {}, MAX_HEAD_BYTES, HTTPParser.kLenientNone);
  // With many fields Node hands the headers over in batches before the head completes; trailers come so too.
  llhttp[HTTPParser.kOnHeaders] = (batch: string[]) => {
    if (current === undefined || current.end !== -1) flushed.push(...batch);
    else current.trailers.push(...batch);
  };
  llhttp[HTTPParser.kOnHeadersComplete] = (
    _major: number, minor: number, raw: string[] | undefined, _method: unknown, _url: unknown,
    status: number, _text: string, _upgrade: boolean, keepAlive: boolean,
  ): number => {
    const headers = headerMap(raw ?? flushed);
    current = { status, minorVersion: minor, headers, body: Buffer.alloc(0), end: -1, keepAlive, trailers: [] };
    flushed = [];
    responses.push(current);
    if (status >= 100 && status < 200) return 0;
    // 1: no body follows, as for HEAD.
    return heads[finals++] === true ? 1 : 0;
  };
  llhttp[HTTPParser.kOnBody] = (data: Buffer) => {
    current!.body = Buffer.concat([current!.body, data]);
  };
  llhttp[HTTPParser.kOnMessageComplete] = () => {
    current!.end = at + 1;
  };
  const failed = (error: Error & { code: string }): Framing => ({
    responses: responses.filter((r) => r.end !== -1),
    outcome: 'failed',
    code: error.code,
    errorAt: at,
    ...(current?.end === -1 ? { partial: current } : {}),
  });
  for (; at < wire.length; at++) {
    const result = llhttp.execute(wire.subarray(at, at + 1));
    if (result instanceof Error) return failed(result);
    // After a 101 the connection speaks another protocol: llhttp stops (its upgrade flag is not set yet when the
    // head is reported, so the status tells).
    if (current?.status === 101 && current.end !== -1) {
      return { responses, outcome: 'upgraded', code: undefined, errorAt: undefined };
    }
  }
  at = wire.length - 1;
  const finished = llhttp.finish();
  if (finished instanceof Error) return failed(finished);
  return { responses, outcome: 'clean', code: undefined, errorAt: undefined };
}

/** llhttp's raw [name, value, …] as perfy's header map. */
function headerMap(raw: string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === '__proto__') continue;
    const existing = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (existing === undefined) headers[name] = raw[i + 1]!;
    else if (typeof existing === 'string') headers[name] = [existing, raw[i + 1]!];
    else existing.push(raw[i + 1]!);
  }
  return headers;
}

// ---------------------------------------------------------------- the first difference

export type DifferenceKind = 'status' | 'headers' | 'body' | 'end' | 'keep-alive' | 'responses' | 'outcome';

export interface Difference {
  kind: DifferenceKind;
  /** the index of the response it is in (for `outcome`, the number of responses both framed) */
  response: number;
  perfy: unknown;
  llhttp: unknown;
}

/**
 * The differences between the two framings, response by response; the comparison stops at the first response
 * both frame differently (what follows may differ only because of it), and after a response that ends
 * keep-alive for perfy (its client closes the connection there).
 */
export function differences(perfy: Framing, llhttp: Framing): Difference[] {
  const found: Difference[] = [];
  for (let i = 0; ; i++) {
    const p = perfy.responses[i];
    const l = llhttp.responses[i];
    if (p === undefined || l === undefined) {
      const kind = p !== undefined || l !== undefined ? 'responses' : perfy.outcome !== llhttp.outcome ? 'outcome' : '';
      if (kind !== '') found.push({ kind, response: i, perfy: describe(perfy, i), llhttp: describe(llhttp, i) });
      return found;
    }
    const fields: [DifferenceKind, unknown, unknown, boolean][] = [
      ['status', p.status, l.status, p.status === l.status],
      ['headers', p.headers, l.headers, isDeepStrictEqual(p.headers, l.headers)],
      ['body', latin1(p.body), latin1(l.body), p.body.equals(l.body)],
      ['end', p.end, l.end, p.end === l.end],
      ['keep-alive', p.keepAlive, l.keepAlive, p.keepAlive === l.keepAlive],
    ];
    for (const [kind, perfyValue, llhttpValue, same] of fields) {
      if (!same) found.push({ kind, response: i, perfy: perfyValue, llhttp: llhttpValue });
    }
    if (fields.some(([kind, , , same]) => !same && kind !== 'keep-alive') || !p.keepAlive) return found;
  }
}

function describe(framing: Framing, i: number): string {
  const r = framing.responses[i];
  if (r !== undefined) return `a ${r.status} response ending at ${r.end}`;
  if (framing.outcome !== 'failed') return framing.outcome;
  return `failed (${framing.code ?? '?'}${framing.errorAt === undefined ? '' : ` at byte ${framing.errorAt}`})`;
}

const latin1 = (data: Buffer): string => data.toString('latin1');
