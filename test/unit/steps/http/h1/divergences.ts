// Where perfy's response parser frames bytes differently from llhttp on purpose: each divergence with why, an
// example, and how the differential test recognises it. docs/http-parser.md lists them (a test checks it).

import type { Difference, Framed, Framing, Stream } from './framing.js';

export interface Context {
  stream: Stream;
  perfy: Framing;
  /** llhttp's framing as normalized */
  llhttp: Framing;
  /** llhttp's framing as it came */
  raw: Framing;
}

export interface Divergence {
  /** Named in docs/http-parser.md. */
  id: string;
  perfy: string;
  llhttp: string;
  why: string;
  /** Bytes on which the two differ this way; a test checks that they still do. */
  example: Stream;
  /** The llhttp version (major.minor) that no longer differs, when one does not: its example then frames alike. */
  fixedIn?: string;
  /**
   * For a difference that is systematic: llhttp's framing rewritten into what perfy does instead, before the
   * comparison, so that the rest of the stream is still compared.
   */
  normalize?: (llhttp: Framing) => Framing;
  /** For a refusal on one side: whether this divergence explains difference `d`. */
  excuses?: (d: Difference, context: Context) => boolean;
}

/** The end of a head that frames no body. */
const EMPTY = 'Content-Length: 0\r\n\r\n';

export const DIVERGENCES: Divergence[] = [
  // ---------------------------------------------------------------- status lines
  {
    id: 'http-versions',
    perfy: 'reads HTTP/1.0 to HTTP/1.9 (1.2 and up as 1.1); refuses any other protocol or version',
    llhttp: 'refuses HTTP/1.2 to 1.9 (HPE_INVALID_VERSION); takes HTTP/0.9, HTTP/2.0, RTSP/1.x and ICE/1.x status '
      + 'lines',
    why: 'perfy speaks HTTP/1.x, and RFC 9112 §2.3 has a higher minor version read as the highest one known',
    example: { wire: latin1(`HTTP/2.0 200 OK\r\n${EMPTY}HTTP/1.2 200 OK\r\n${EMPTY}`), heads: [false, false] },
    excuses: (d, context) => {
      const { stream, perfy, llhttp, raw } = context;
      if (llhttpRefused(d, context, 'HPE_INVALID_VERSION')) {
        const start = completedBefore(raw, llhttp.errorAt!)?.end ?? 0;
        return /^[\r\n]*HTTP\/1\.[2-9] /.test(stream.wire.toString('latin1', start, llhttp.errorAt! + 2));
      }
      const from = perfy.responses[d.response - 1]?.end ?? 0;
      const to = llhttp.responses[d.response]?.end ?? stream.wire.length;
      return perfyRefused(d, context, 'HPE_INVALID_CONSTANT', 'HPE_INVALID_VERSION')
        && /(?:^|[\r\n])(?!HTTP\/1\.[01] )(?:HTTP|RTSP|ICE)\/\d\.\d /.test(stream.wire.toString('latin1', from, to));
    },
  },
  {
    id: 'status-line-cr-cr',
    perfy: 'refuses a status line that ends in CR CR (HPE_LF_EXPECTED)',
    llhttp: 'before 9.4 (Node 20) takes CR CR as the end of a status line; 9.4 (Node 24) refuses it (HPE_STRICT)',
    why: 'a bare CR does not end a line (RFC 9112 §2.2)',
    example: { wire: latin1(`HTTP/1.1 200 OK\r\r${EMPTY}`), heads: [false] },
    fixedIn: '9.4',
    excuses: (d, context) => {
      const from = context.perfy.responses[d.response - 1]?.end ?? 0;
      const to = context.llhttp.responses[d.response]?.end ?? context.stream.wire.length;
      return perfyRefused(d, context, 'HPE_LF_EXPECTED')
        && /(?:^|[\r\n])[A-Z]+\/\d\.\d \d{3}[^\r\n]*\r\r/.test(context.stream.wire.toString('latin1', from, to));
    },
  },
  {
    id: 'status-below-100',
    perfy: 'refuses a status below 100 (HPE_INVALID_STATUS)',
    llhttp: 'takes any three digits, 000 to 099 too',
    why: 'status codes are 100 to 599 (RFC 9110 §15)',
    example: { wire: latin1(`HTTP/1.1 099 Low\r\n${EMPTY}`), heads: [false] },
    excuses: (d, context) =>
      perfyRefused(d, context, 'HPE_INVALID_STATUS') && (context.llhttp.responses[d.response]?.status ?? 100) < 100,
  },
  {
    id: 'switching-protocols',
    perfy: 'refuses a 101 (HPE_UNEXPECTED_UPGRADE)',
    llhttp: 'completes the 101 and stops: the connection is handed over (Node\'s http client destroys it unless an '
      + '`upgrade` listener takes it)',
    why: 'perfy never asks for an upgrade',
    example: {
      wire: latin1('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n'),
      heads: [false],
    },
    excuses: (d, context) =>
      perfyRefused(d, context, 'HPE_UNEXPECTED_UPGRADE') && context.llhttp.responses[d.response]?.status === 101,
  },
  // ---------------------------------------------------------------- 1xx
  {
    id: 'informational-responses',
    perfy: 'skips a 1xx: it is part of the head of the response that follows',
    llhttp: 'reports a 1xx as a message of its own; Node\'s http client skips it (an `information` event)',
    why: 'a 1xx does not answer the request (RFC 9110 §15.2)',
    example: { wire: latin1(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n${EMPTY}`), heads: [false] },
    normalize: (llhttp) => {
      const responses = llhttp.responses.filter((r) => !isInformational(r.status));
      if (responses.length === llhttp.responses.length) return llhttp;
      // A stream that ends after a 1xx has not answered the request.
      if (llhttp.outcome === 'clean' && isInformational(llhttp.responses.at(-1)!.status)) {
        return { ...llhttp, responses, outcome: 'failed', code: 'HPE_INVALID_EOF_STATE' };
      }
      return { ...llhttp, responses };
    },
  },
  {
    id: 'informational-fields',
    perfy: 'reads no meaning into a 1xx\'s fields, and a 1xx has no body',
    llhttp: 'acts on `connection: close` in a 1xx (the final response is then HPE_CLOSED_CONNECTION), reads a body '
      + 'framed by content-length or transfer-encoding after a 1xx other than 100, 102 and 103, and refuses a 1xx\'s '
      + 'framing fields as a final response\'s',
    why: 'a 1xx ends with its head and cannot end the exchange (RFC 9110 §15.2)',
    example: {
      wire: latin1(`HTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\nHTTP/1.1 199 Odd\r\nContent-Length: 2\r\n\r\n`
        + `HTTP/1.1 200 OK\r\n${EMPTY}`),
      heads: [false],
    },
    excuses: (d, context) => {
      const { stream, perfy, llhttp, raw } = context;
      if (llhttpRefused(d, context, 'HPE_CLOSED_CONNECTION')) {
        return isInformational(completedBefore(raw, llhttp.errorAt!)?.status ?? 0);
      }
      const framing = ['HPE_INVALID_TRANSFER_ENCODING', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CONTENT_LENGTH'];
      if (llhttpRefused(d, context, ...framing)) {
        return isInformational(statusAt(stream.wire, completedBefore(raw, llhttp.errorAt!)?.end ?? 0));
      }
      // A 1xx that llhttp gave a body, after the last response both framed.
      const after = perfy.responses[d.response - 1]?.end ?? 0;
      return [...raw.responses, raw.partial].some((r) => r !== undefined && isInformational(r.status)
        && (r.end > after || r.end === -1) && hasFraming(r.headers));
    },
  },
  // ---------------------------------------------------------------- lengths
  {
    id: 'repeated-content-length',
    perfy: 'takes a content-length repeated with the same value (`2` and `02` too) as that value',
    llhttp: 'refuses any repeated content-length (HPE_UNEXPECTED_CONTENT_LENGTH)',
    why: 'RFC 9110 §8.6 allows it; different values are refused by both',
    example: { wire: latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'), heads: [false] },
    excuses: (d, context) => {
      const lengths = context.perfy.responses[d.response]?.headers['content-length'];
      return llhttpRefused(d, context, 'HPE_UNEXPECTED_CONTENT_LENGTH') && Array.isArray(lengths)
        && lengths.every((n) => /^\d+$/.test(n) && BigInt(n) === BigInt(lengths[0]!));
    },
  },
  {
    id: 'trailing-tab',
    perfy: 'takes a tab after a value as the optional whitespace it is, as a space',
    llhttp: 'before 9.4 (Node 20) refuses a tab after a content-length (HPE_INVALID_CONTENT_LENGTH) and does not see '
      + '`close` followed by a tab in `connection`; 9.4 (Node 24) takes both as perfy does',
    why: 'OWS is spaces and tabs alike (RFC 9110 §5.6.3)',
    example: { wire: latin1('HTTP/1.1 200 OK\r\nContent-Length: 2\t\r\n\r\nok'), heads: [false] },
    fixedIn: '9.4',
    excuses: (d, context) => {
      if (d.kind === 'keep-alive') {
        return d.perfy === false && /^connection:.*close[ \t]*\t[ \t]*$/im.test(headBefore(context, d.response));
      }
      const line = lineAt(context.stream.wire, context.llhttp.errorAt ?? 0);
      return llhttpRefused(d, context, 'HPE_INVALID_CONTENT_LENGTH')
        && /^content-length:[ \t]*\d+[ \t]*$/i.test(line) && /\d[ \t]*\t/.test(line);
    },
  },
  {
    id: 'transfer-encoding-trailing-tab',
    perfy: 'takes `chunked` followed by a tab as chunked',
    llhttp: 'takes `chunked` followed by a tab as another coding, so the body runs until close',
    why: 'OWS is spaces and tabs alike (RFC 9110 §5.6.3), and llhttp takes `chunked` followed by a space as chunked',
    example: {
      wire: latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
      heads: [false],
    },
    excuses: (d, context) => /^transfer-encoding:.*chunked[ \t]*\t[ \t]*$/im.test(headBefore(context, d.response)),
  },
  {
    id: 'lengths-from-2^52',
    perfy: 'refuses a content-length or chunk size of 2^52 or more, at once',
    llhttp: 'takes lengths up to 2^64 − 1: it reads a 204, 304 or HEAD response with such a content-length, and '
      + 'waits for such a chunk\'s data',
    why: 'lengths stay exact in a JS number, and no load test receives 4 PiB in one response',
    example: { wire: latin1('HTTP/1.1 204 No Content\r\nContent-Length: 4503599627370496\r\n\r\n'), heads: [false] },
    excuses: (d, context) => {
      const lengths = [context.llhttp.responses[d.response]?.headers['content-length'] ?? []].flat();
      return perfyRefused(d, context, 'HPE_INVALID_CONTENT_LENGTH', 'HPE_INVALID_CHUNK_SIZE')
        && lengths.some((n) => /^\d+$/.test(n) && BigInt(n) >= 2n ** 52n);
    },
  },
  {
    id: 'size-limits',
    perfy: '64 KiB of head, 64 KiB of trailers, 16 KiB per chunk-size line, counting every byte (CRLFs, colons, '
      + 'whitespace, empty lines before the status line)',
    llhttp: 'with the same limits as Node counts them (64 KiB given in the test; Node\'s default is 16 KiB): the bytes '
      + 'of names, values and the reason only, trailers added to the head\'s, and the bytes of chunk extensions',
    why: 'a limit on what is received is simplest when it counts what is received',
    example: { wire: latin1(`HTTP/1.1 200 OK\r\n${'X: 1234567890123456\r\n'.repeat(3200)}${EMPTY}`), heads: [false] },
    excuses: (d, context) => perfyRefused(d, context, 'HPE_HEADER_OVERFLOW', 'HPE_CHUNK_EXTENSIONS_OVERFLOW')
      || llhttpRefused(d, context, 'HPE_HEADER_OVERFLOW', 'HPE_CHUNK_EXTENSIONS_OVERFLOW'),
  },
  // ---------------------------------------------------------------- keep-alive
  {
    id: 'http10-keep-alive',
    perfy: 'never keeps an HTTP/1.0 connection alive',
    llhttp: 'keeps it alive when the response says `connection: keep-alive`, even beside `close`',
    why: 'the HTTP/1.0 mechanism is optional (RFC 9112 §9.3); such a server is safer closed',
    example: { wire: latin1(`HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n${EMPTY}`), heads: [false] },
    normalize: (llhttp) => {
      if (!llhttp.responses.some((r) => r.minorVersion === 0 && r.keepAlive)) return llhttp;
      const responses = llhttp.responses.map((r) => (r.minorVersion === 0 ? { ...r, keepAlive: false } : r));
      return { ...llhttp, responses };
    },
  },
  {
    id: 'head-response-keep-alive',
    perfy: 'keeps a response to HEAD without content-length or chunked alive (unless it says close)',
    llhttp: 'reports that it ends keep-alive, deciding before it learns that no body follows',
    why: 'no body follows HEAD (RFC 9110 §9.3.2); perfy\'s pool does not reuse a connection after HEAD anyway',
    example: { wire: latin1('HTTP/1.1 200 OK\r\n\r\n'), heads: [true] },
    excuses: (d, { stream, perfy }) => {
      const headers = perfy.responses[d.response]?.headers ?? {};
      const codings = [headers['transfer-encoding'] ?? []].flat();
      const chunked = /(?:^|,)[ \t]*chunked[ \t]*$/i.test(codings.at(-1) ?? '');
      return d.kind === 'keep-alive' && stream.heads[d.response] === true && d.perfy === true
        && headers['content-length'] === undefined && !chunked;
    },
  },
  // ---------------------------------------------------------------- trailers
  {
    id: 'trailer-fields',
    perfy: 'reads no meaning into trailer fields',
    llhttp: 'acts on a `connection: close` trailer, or a `transfer-encoding` one not ending in chunked (the bytes '
      + 'after the response are then HPE_CLOSED_CONNECTION), and refuses a `content-length` trailer',
    why: 'fields that frame a message cannot act after its content (RFC 9110 §6.5.1); Node\'s client takes keep-alive '
      + 'from the head',
    example: {
      wire: latin1(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nConnection: close\r\n\r\n`
        + `HTTP/1.1 200 OK\r\n${EMPTY}`),
      heads: [false, false],
    },
    excuses: (d, context) => {
      const { stream, perfy, llhttp, raw } = context;
      if (llhttpRefused(d, context, 'HPE_CLOSED_CONNECTION')) {
        const names = fieldNames(completedBefore(raw, llhttp.errorAt!)?.trailers);
        return names.includes('connection') || names.includes('transfer-encoding');
      }
      // A content-length line inside a chunked response perfy read without one in its head is a trailer.
      const framed = perfy.responses[d.response];
      return llhttpRefused(d, context, 'HPE_INVALID_CONTENT_LENGTH', 'HPE_UNEXPECTED_CONTENT_LENGTH')
        && framed !== undefined && framed.headers['content-length'] === undefined && hasFraming(framed.headers)
        && framed.end > llhttp.errorAt! && /^content-length:/i.test(lineAt(stream.wire, llhttp.errorAt!));
    },
  },
];

// ---------------------------------------------------------------- helpers of the predicates

function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function isInformational(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}

/** Whether perfy failed with one of `codes` where llhttp framed a response, or ended clean. */
function perfyRefused(d: Difference, { perfy, llhttp }: Context, ...codes: string[]): boolean {
  return (d.kind === 'responses' || d.kind === 'outcome') && perfy.outcome === 'failed'
    && codes.includes(perfy.code ?? '') && (llhttp.responses.length > d.response || llhttp.outcome !== 'failed');
}

/** Whether llhttp failed with one of `codes` where perfy framed a response, or ended clean. */
function llhttpRefused(d: Difference, { perfy, llhttp }: Context, ...codes: string[]): boolean {
  return (d.kind === 'responses' || d.kind === 'outcome') && llhttp.outcome === 'failed'
    && codes.includes(llhttp.code ?? '') && (perfy.responses.length > d.response || perfy.outcome === 'clean');
}

/** Whether a head has a content-length or a transfer-encoding. */
function hasFraming(headers: Record<string, string | string[]>): boolean {
  return headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
}

/** The last response llhttp completed before byte `at`, a 1xx too. */
function completedBefore(raw: Framing, at: number): Framed | undefined {
  return raw.responses.filter((r) => r.end <= at).at(-1);
}

function fieldNames(raw: string[] = []): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
}

/** The status code of the status line at byte `from`, after any empty lines; 0 if there is none. */
function statusAt(wire: Buffer, from: number): number {
  const status = /^[\r\n]*[A-Z]+\/\d\.\d (\d{3})/.exec(wire.toString('latin1', from, from + 200));
  return Number(status?.[1] ?? 0);
}

/** The head of response i as perfy frames the stream: after the response before it, past any 1xx heads. */
function headBefore({ stream, perfy }: Context, i: number): string {
  let from = perfy.responses[i - 1]?.end ?? 0;
  for (;;) {
    while (stream.wire[from] === 13 || stream.wire[from] === 10) from++;
    const end = stream.wire.indexOf('\r\n\r\n', from);
    const head = stream.wire.toString('latin1', from, end === -1 ? stream.wire.length : end + 2);
    if (end === -1 || !isInformational(statusAt(stream.wire, from))) return head;
    from = end + 4;
  }
}

/** The line of `wire` that byte `at` is in, without its line end. */
function lineAt(wire: Buffer, at: number): string {
  const start = wire.lastIndexOf(10, at - 1) + 1;
  const end = wire.indexOf(10, at);
  return wire.toString('latin1', start, end === -1 ? wire.length : end).replace(/\r$/, '');
}
