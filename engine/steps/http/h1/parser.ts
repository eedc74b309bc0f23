// The HTTP/1.1 response parser of perfy's HTTP client (pool.ts): status line, headers and body framing, in plain
// JS over Buffers. It resumes at any byte boundary and keeps no reference to a buffer it is given between calls.

/**
 * What it accepts, in the words of RFC 9112:
 *
 *   response     = *( CR / LF ) status-line *( field-line CRLF ) CRLF [ body ]
 *   status-line  = "HTTP/1." DIGIT SP 3DIGIT [ SP reason-phrase ] CRLF
 *   field-line   = token ":" OWS value OWS                 (no obs-fold; names are returned in lower case)
 *   value        = *( HTAB / SP / VCHAR / obs-text )        (no control character: NUL, DEL, …)
 *   body         = no body   for HEAD, 1xx (skipped, the real response follows), 204 and 304
 *                | chunked   when the last transfer coding is `chunked`:
 *                              *( 1*HEXDIG *( ";" extension ) CRLF data CRLF ) 1*"0" … CRLF *( field-line CRLF ) CRLF
 *                | length    from `content-length`
 *                | until the connection closes, when neither says
 *   extension    = [ token ] [ "=" ( token / quoted-string ) ]    (as llhttp's strict mode: no whitespace; the
 *                                                                 name may be empty unless the line ends)
 *
 * Every error is an HttpParseError whose code starts with `HPE_` (llhttp's names where llhttp has one), which
 * the executor classifies as `protocol`.
 */

/** Status line and headers together may not be longer; llhttp's and undici's limit is 16 KiB. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line (extensions included) and the trailers have limits of their own, as in Node. */
const MAX_CHUNK_LINE_BYTES = 16 * 1024;
const MAX_TRAILER_BYTES = 64 * 1024;
/** Reads up to this many bytes are turned into one string to find the end of the head in. */
const SMALL_READ = 1024;
/** Header positions whose names are remembered from one response to the next. */
const MAX_KNOWN_NAMES = 32;
/**
 * A content-length or chunk size of 2^52 (4 PiB) or more is an attack or garbage, not a response. Lengths are
 * read by value, so leading zeros are fine as for llhttp, and checked after every digit: a number read so far
 * stays below 2^56, where rounding may lose its last digits but cannot bring it back under the limit.
 */
const MAX_LENGTH = 2 ** 52 - 1;

export class HttpParseError extends Error {
  override readonly name = 'HttpParseError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface ResponseHead {
  status: number;
  statusText: string;
  /** x in HTTP/1.x */
  minorVersion: number;
  /**
   * Lower-case name → value. A name that occurs more than once (several `set-cookie`) has its values in an
   * array, in order. The receiver owns the object and may change it.
   */
  headers: Record<string, string | string[]>;
  /** [name, value, name, value, …] as received, names in their original case */
  rawHeaders: string[];
  /** Whether some value of `headers` is an array. */
  repeated: boolean;
}

export interface ResponseHandler {
  /** The final (non-1xx) status line and headers. */
  onHead(head: ResponseHead): void;
  /**
   * Body bytes data[start, end), transfer coding removed. `data` may be reused once the call that passed
   * it returns; `last` says these bytes end the body (known for content-length framing only).
   */
  onBody(data: Buffer, start: number, end: number, last: boolean): void;
}

const enum State {
  Head,
  BodyLength,
  BodyUntilClose,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Done,
}

/** Sub-states of State.ChunkSize. */
const enum SizeLine {
  First,
  Digits,
  /** after a `;` */
  ExtensionStart,
  ExtensionName,
  /** after the `=` */
  ExtensionValue,
  Quoted,
  /** after a backslash in a quoted string */
  QuotedPair,
  QuotedEnd,
  Cr,
}

/** Sub-states of State.Trailers: field lines, read and checked as a head's, not kept. */
const enum Trailer {
  LineStart,
  Name,
  Value,
  /** the CR that ends a field line */
  ValueCr,
  /** the CR of the empty line that ends the trailers */
  EndCr,
}

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const SEMICOLON = 59;
const COLON = 58;
const EQUALS = 61;
const DQUOTE = 34;
const BACKSLASH = 92;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const HTTP_PREFIX = 'HTTP/1.';

/** tchar of RFC 9110: the characters a header name is made of. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/**
 * Field lines as RFC 9110 §5.5 and llhttp allow them, names aside: no control character but HTAB, and every
 * line ends with CRLF (and is not empty: an empty line ends the head). One search over the whole section costs
 * less than one per value or a comparison per line (measured in bench/h1-parser); what it refuses is looked at
 * again to name the fault (fieldLinesFault).
 */
const FIELD_LINES = /^(?:[\t\x20-\x7e\x80-\xff]+\r\n)*$/;

const HEX = new Int8Array(256).fill(-1);
for (let c = 48; c <= 57; c++) HEX[c] = c - 48;
for (let c = 65; c <= 70; c++) HEX[c] = c - 55;
for (let c = 97; c <= 102; c++) HEX[c] = c - 87;

function fail(code: string, message: string): never {
  throw new HttpParseError(code, message);
}

/**
 * Parses the responses of one connection, one at a time: start() before each request's response, then
 * execute() on every chunk read until `done`; finish() when the connection closes.
 */
export class ResponseParser {
  /** After a complete response: whether the connection may carry another request. */
  keepAlive = true;
  /** The server's `Keep-Alive: timeout=N` hint in ms, or -1 when its last response gave none. */
  keepAliveTimeoutMs = -1;
  private state = State.Done;
  private handler: ResponseHandler | undefined;
  private bodyExpected = true;
  /** Body bytes (or chunk bytes) still to come. */
  private remaining = 0;
  private sub = 0;
  private lineBytes = 0;
  /** The start of a head that did not fit in one read, copied. */
  private partialHead: Buffer | undefined;
  /** CR and LF bytes skipped before the status line: they count towards the head's limit. */
  private emptyLineBytes = 0;
  /** The last Keep-Alive header value and its timeout: servers send the same one every time. */
  private lastKeepAlive = '';
  private lastKeepAliveMs = -1;
  /**
   * The header names of the last response by position, as received and in lower case. A server sends the same
   * names in the same order every time: a name that matches is taken from here, which spares slicing, lower-casing
   * and, above all, V8 interning a new string to use it as a property key (the largest cost of a head).
   */
  private readonly knownNames: string[] = [];
  private readonly knownLowerNames: string[] = [];
  /**
   * Whether knownLowerNames[i] also occurs before i. While a head's names match the known ones from its first
   * line on, a name that does not is new to the head: it is set without first looking for an earlier value,
   * a lookup that misses all the way up the prototype chain (the costliest line of a head after the names).
   */
  private readonly knownRepeats: boolean[] = [];

  /** Expects a new response. `headRequest`: the request was HEAD, so no body follows whatever the headers say. */
  start(handler: ResponseHandler, headRequest: boolean): void {
    this.handler = handler;
    this.bodyExpected = !headRequest;
    this.state = State.Head;
    this.partialHead = undefined;
    this.emptyLineBytes = 0;
    this.keepAlive = true;
  }

  /** The response is complete. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Parses data[start, end). Returns the index after the last byte it consumed: `end`, or less when the
   * response completed before `end` (the bytes after it are not part of it; with one request at a time on a
   * connection they are not part of anything).
   */
  execute(data: Buffer, start: number, end: number): number {
    let pos = start;
    while (pos < end) {
      switch (this.state) {
        case State.Head:
          if (this.partialHead === undefined && (data[pos] === CR || data[pos] === LF)) {
            pos = this.skipEmptyLines(data, pos, end);
            break;
          }
          pos = this.readHead(data, pos, end);
          // (a method call may have changed the state: TypeScript's narrowing does not know)
          if ((this.state as State) === State.Done) return pos;
          break;
        case State.BodyLength: {
          const n = Math.min(this.remaining, end - pos);
          this.remaining -= n;
          const last = this.remaining === 0;
          this.handler!.onBody(data, pos, pos + n, last);
          pos += n;
          if (last) {
            this.state = State.Done;
            return pos;
          }
          break;
        }
        case State.BodyUntilClose:
          this.handler!.onBody(data, pos, end, false);
          return end;
        case State.ChunkSize:
          pos = this.readChunkSize(data, pos, end);
          break;
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - pos);
          this.remaining -= n;
          this.handler!.onBody(data, pos, pos + n, false);
          pos += n;
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.sub = 0;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const c = data[pos++]!;
          if (this.sub === 0) {
            if (c === LF) fail('HPE_CR_EXPECTED', 'a chunk ends with LF without CR');
            if (c !== CR) fail('HPE_STRICT', 'a chunk is longer than its size says (no CRLF after its data)');
            this.sub = 1;
          } else {
            if (c !== LF) fail('HPE_STRICT', 'expected LF after the CR that ends a chunk');
            this.state = State.ChunkSize;
            this.sub = SizeLine.First;
            this.lineBytes = 0;
          }
          break;
        }
        case State.Trailers:
          pos = this.readTrailers(data, pos, end);
          if ((this.state as State) === State.Done) return pos;
          break;
        case State.Done:
          return pos;
      }
    }
    return pos;
  }

  /**
   * The connection closed. Returns true when that completes the response (a body read until the close);
   * false when the response was not complete, which the caller reports.
   */
  finish(): boolean {
    this.keepAlive = false;
    if (this.state === State.BodyUntilClose) {
      this.state = State.Done;
      return true;
    }
    return this.state === State.Done;
  }

  /**
   * Empty lines before a status line, bare CR and LF included: llhttp skips them (a server may end a body with
   * one CRLF too many), and so does perfy, within the head's limit.
   */
  private skipEmptyLines(data: Buffer, start: number, end: number): number {
    let pos = start;
    while (pos < end && (data[pos] === CR || data[pos] === LF)) pos++;
    this.emptyLineBytes += pos - start;
    if (this.emptyLineBytes >= MAX_HEAD_BYTES) {
      fail('HPE_HEADER_OVERFLOW', `more than ${MAX_HEAD_BYTES} bytes of empty lines before a status line`);
    }
    return pos;
  }

  private readHead(data: Buffer, start: number, end: number): number {
    let buf = data;
    let from = start;
    let to = end;
    const carried = this.partialHead?.length ?? 0;
    if (this.partialHead !== undefined) {
      // Rare: the head spans reads. Join what was kept with the new bytes and search the whole again.
      buf = Buffer.concat([this.partialHead, data.subarray(start, end)]);
      from = 0;
      to = buf.length;
    }
    let text: string | undefined;
    let headEnd: number;
    if (to - from <= SMALL_READ) {
      // A small read (a whole small response, usually) is one latin1 string at once: searching a string is
      // cheaper than a call into Buffer.indexOf, and the head is parsed from the same string.
      text = buf.toString('latin1', from, to);
      headEnd = text.indexOf('\r\n\r\n');
      if (headEnd !== -1) headEnd += from;
    } else {
      // indexOf looks past `to` (a reused read buffer holds older bytes there): a match beyond it is no match.
      headEnd = buf.indexOf(HEAD_END, from);
      if (headEnd + 4 > to) headEnd = -1;
    }
    const limit = MAX_HEAD_BYTES - this.emptyLineBytes;
    if (headEnd === -1) {
      if (to - from >= limit) fail('HPE_HEADER_OVERFLOW', `the response head is larger than ${MAX_HEAD_BYTES} bytes`);
      checkStart(buf, from, to);
      // A copy: `data` is the connection's read buffer and is overwritten by the next read.
      this.partialHead = carried > 0 ? buf : Buffer.from(buf.subarray(from, to));
      return end;
    }
    if (headEnd + 4 - from > limit) {
      fail('HPE_HEADER_OVERFLOW', `the response head is larger than ${MAX_HEAD_BYTES} bytes`);
    }
    this.partialHead = undefined;
    this.emptyLineBytes = 0;
    // The text keeps the CRLF of the last field line, so every line ends the same way.
    this.parseHead(text ?? buf.toString('latin1', from, headEnd + 2), headEnd + 2 - from);
    return start + (headEnd + 4 - from - carried);
  }

  /** Parses text[0, length): the status line and the field lines, each with its CRLF. */
  private parseHead(text: string, length: number): void {
    if (!text.startsWith(HTTP_PREFIX)) fail('HPE_INVALID_CONSTANT', 'the response does not start with HTTP/1.');
    const minorVersion = text.charCodeAt(7) - 48;
    if (minorVersion < 0 || minorVersion > 9 || text.charCodeAt(8) !== SP) {
      fail('HPE_INVALID_VERSION', 'invalid HTTP version in the status line');
    }
    const d1 = text.charCodeAt(9) - 48;
    const d2 = text.charCodeAt(10) - 48;
    const d3 = text.charCodeAt(11) - 48;
    if (d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) {
      fail('HPE_INVALID_STATUS', 'invalid status code in the status line');
    }
    const status = d1 * 100 + d2 * 10 + d3;
    const afterStatus = text.charCodeAt(12);
    let lineEnd: number;
    let statusText = '';
    if (afterStatus === CR) {
      lineEnd = 12;
    } else if (afterStatus === SP) {
      lineEnd = text.indexOf('\r', 13);
      statusText = text.slice(13, lineEnd);
    } else {
      fail('HPE_INVALID_STATUS', 'invalid status code in the status line');
    }
    if (lineEnd >= length || text.charCodeAt(lineEnd + 1) !== LF || text.indexOf('\n', 9) !== lineEnd + 1) {
      fail('HPE_LF_EXPECTED', 'the status line does not end with CRLF');
    }

    if (!FIELD_LINES.test(text.slice(lineEnd + 2, length))) fieldLinesFault(text, lineEnd + 2, length);

    if (status < 200) {
      if (status === 101) {
        fail('HPE_UNEXPECTED_UPGRADE', 'the server switched protocols (101) although no upgrade was asked for');
      }
      // 1xx (100 Continue, 103 Early Hints): informational, the real response follows. Its fields are not read.
      this.checkFields(text, lineEnd + 2, length);
      return;
    }

    const headers: Record<string, string | string[]> = {};
    let repeated = false;
    let allKnown = true;
    let contentLength = -1;
    let transferEncoding = false;
    let chunked = false;
    let close = minorVersion === 0;
    let keepAliveMs = -1;
    const knownNames = this.knownNames;
    const knownLowerNames = this.knownLowerNames;
    let pos = lineEnd + 2;
    for (let index = 0; pos < length; index++) {
      const cr = text.indexOf('\r', pos);
      let colon: number;
      let rawName: string;
      let name: string;
      const known = knownNames[index];
      // Slicing and comparing: startsWith at a position was a quarter of a whole parse on Node 20.
      if (
        known !== undefined &&
        text.charCodeAt(pos + known.length) === COLON &&
        text.slice(pos, pos + known.length) === known
      ) {
        colon = pos + known.length;
        rawName = known;
        name = knownLowerNames[index]!;
      } else {
        allKnown = false;
        colon = pos;
        while (TOKEN[text.charCodeAt(colon)] === 1) colon++;
        if (colon === pos || colon > cr || text.charCodeAt(colon) !== COLON) {
          fail(
            'HPE_INVALID_HEADER_TOKEN',
            `invalid header line: ${JSON.stringify(text.slice(pos, Math.min(cr, pos + 40)))}`,
          );
        }
        rawName = text.slice(pos, colon);
        name = rawName.toLowerCase();
        if (index < MAX_KNOWN_NAMES) {
          knownNames[index] = rawName;
          knownLowerNames[index] = name;
          this.knownRepeats[index] = knownLowerNames.indexOf(name) < index;
          // Later positions were judged against the name this one replaces.
          for (let later = index + 1; later < knownLowerNames.length; later++) {
            this.knownRepeats[later] = knownLowerNames.indexOf(knownLowerNames[later]!) < later;
          }
        }
      }
      const value = fieldValue(text, colon + 1, cr);
      pos = cr + 2;

      switch (name) {
        case 'content-length': {
          const n = parseLength(value);
          if (contentLength !== -1 && contentLength !== n) {
            fail('HPE_UNEXPECTED_CONTENT_LENGTH', 'two different content-length headers');
          }
          contentLength = n;
          break;
        }
        case 'transfer-encoding':
          transferEncoding = true;
          chunked = lastToken(value) === 'chunked';
          break;
        case 'connection':
          if (value.length !== 10 || value.toLowerCase() !== 'keep-alive') close ||= hasToken(value, 'close');
          break;
        case 'keep-alive':
          if (value !== this.lastKeepAlive) {
            this.lastKeepAlive = value;
            const timeout = /(?:^|[\s,;])timeout\s*=\s*(\d{1,9})/i.exec(value);
            this.lastKeepAliveMs = timeout === null ? -1 : Number(timeout[1]) * 1000;
          }
          keepAliveMs = this.lastKeepAliveMs;
          break;
        case '__proto__':
          // Only in rawHeaders: as a property it would set the object's prototype.
          continue;
      }
      if (allKnown && this.knownRepeats[index] === false) {
        headers[name] = value;
        continue;
      }
      // A name Object.prototype also has (`constructor`) reads as a function here: it is not a header yet.
      const existing = headers[name];
      if (typeof existing === 'string') {
        headers[name] = [existing, value];
        repeated = true;
      } else if (typeof existing === 'object') {
        existing.push(value);
      } else {
        headers[name] = value;
      }
    }
    if (transferEncoding && contentLength !== -1) {
      fail('HPE_UNEXPECTED_CONTENT_LENGTH', 'a response with both transfer-encoding and content-length');
    }

    this.keepAliveTimeoutMs = keepAliveMs;
    this.handler!.onHead(new Head(status, statusText, minorVersion, headers, repeated, text, lineEnd + 2, length));

    if (!this.bodyExpected || status === 204 || status === 304) {
      this.keepAlive = !close;
      this.state = State.Done;
    } else if (chunked) {
      this.keepAlive = !close;
      this.state = State.ChunkSize;
      this.sub = SizeLine.First;
      this.lineBytes = 0;
    } else if (contentLength >= 0 && !transferEncoding) {
      this.keepAlive = !close;
      if (contentLength === 0) {
        this.state = State.Done;
      } else {
        this.state = State.BodyLength;
        this.remaining = contentLength;
      }
    } else {
      // Neither framing: the body is what comes until the server closes the connection.
      this.keepAlive = false;
      this.state = State.BodyUntilClose;
    }
  }

  /** The names of the field lines of a 1xx response (FIELD_LINES checked the rest): checked, not kept. */
  private checkFields(text: string, from: number, length: number): void {
    for (let pos = from; pos < length;) {
      const cr = text.indexOf('\r', pos);
      let colon = pos;
      while (TOKEN[text.charCodeAt(colon)] === 1) colon++;
      if (colon === pos || colon > cr || text.charCodeAt(colon) !== COLON) {
        fail('HPE_INVALID_HEADER_TOKEN', 'invalid header line in an informational response');
      }
      pos = cr + 2;
    }
  }

  private readChunkSize(data: Buffer, start: number, end: number): number {
    let pos = start;
    while (pos < end) {
      const c = data[pos++]!;
      if (++this.lineBytes > MAX_CHUNK_LINE_BYTES) {
        fail('HPE_CHUNK_EXTENSIONS_OVERFLOW', `a chunk-size line is longer than ${MAX_CHUNK_LINE_BYTES} bytes`);
      }
      switch (this.sub) {
        case SizeLine.First: {
          const h = HEX[c]!;
          if (h < 0) fail('HPE_INVALID_CHUNK_SIZE', 'a chunk does not start with its size in hex');
          this.remaining = h;
          this.sub = SizeLine.Digits;
          break;
        }
        case SizeLine.Digits: {
          const h = HEX[c]!;
          if (h >= 0) {
            this.remaining = this.remaining * 16 + h;
            if (this.remaining > MAX_LENGTH) fail('HPE_INVALID_CHUNK_SIZE', 'a chunk size is too large');
          } else if (c === CR) {
            this.sub = SizeLine.Cr;
          } else if (c === SEMICOLON) {
            this.sub = SizeLine.ExtensionStart;
          } else if (c === LF) {
            fail('HPE_CR_EXPECTED', 'a chunk-size line ends with LF without CR');
          } else {
            // Whitespace too: llhttp's strict mode refuses it after a size.
            fail('HPE_INVALID_CHUNK_SIZE', 'invalid character in a chunk size');
          }
          break;
        }
        // Chunk extensions mean nothing to perfy, but a line llhttp refuses is refused: the same server bug
        // fails with Node's client.
        case SizeLine.ExtensionStart:
          if (c === SP || c === CR) fail('HPE_STRICT', 'a chunk extension is empty or starts with a space');
          this.sub = afterNameByte(c);
          break;
        case SizeLine.ExtensionName:
          this.sub = afterNameByte(c);
          break;
        case SizeLine.ExtensionValue:
          if (c === DQUOTE) this.sub = SizeLine.Quoted;
          else if (TOKEN[c] !== 1) this.sub = afterExtension(c, 'value');
          break;
        case SizeLine.Quoted:
          if (c === DQUOTE) this.sub = SizeLine.QuotedEnd;
          else if (c === BACKSLASH) this.sub = SizeLine.QuotedPair;
          else if (isControl(c)) fail('HPE_STRICT', 'a control character in a quoted chunk extension');
          break;
        case SizeLine.QuotedPair:
          if (isControl(c)) fail('HPE_STRICT', 'a quoted-pair of a control character in a chunk extension');
          this.sub = SizeLine.Quoted;
          break;
        case SizeLine.QuotedEnd:
          this.sub = afterExtension(c, 'value');
          break;
        case SizeLine.Cr:
          if (c !== LF) fail('HPE_STRICT', 'expected LF after the CR of a chunk-size line');
          this.lineBytes = 0;
          if (this.remaining === 0) {
            this.state = State.Trailers;
            this.sub = Trailer.LineStart;
          } else {
            this.state = State.ChunkData;
          }
          return pos;
      }
    }
    return pos;
  }

  private readTrailers(data: Buffer, start: number, end: number): number {
    let pos = start;
    while (pos < end) {
      const c = data[pos++]!;
      if (++this.lineBytes > MAX_TRAILER_BYTES) {
        fail('HPE_HEADER_OVERFLOW', `the trailers are larger than ${MAX_TRAILER_BYTES} bytes`);
      }
      switch (this.sub) {
        case Trailer.LineStart:
          if (c === CR) this.sub = Trailer.EndCr;
          else if (TOKEN[c] === 1) this.sub = Trailer.Name;
          else fail('HPE_INVALID_HEADER_TOKEN', 'a trailer line does not start with a field name');
          break;
        case Trailer.Name:
          if (c === COLON) this.sub = Trailer.Value;
          else if (TOKEN[c] !== 1) fail('HPE_INVALID_HEADER_TOKEN', 'invalid character in a trailer name');
          break;
        case Trailer.Value:
          if (c === CR) this.sub = Trailer.ValueCr;
          else if (c === LF) fail('HPE_CR_EXPECTED', 'a trailer line ends with LF without CR');
          else if (isControl(c)) fail('HPE_INVALID_HEADER_TOKEN', 'a control character in a trailer value');
          break;
        case Trailer.ValueCr:
          if (c !== LF) fail('HPE_LF_EXPECTED', 'expected LF at the end of a trailer line');
          this.sub = Trailer.LineStart;
          break;
        case Trailer.EndCr:
          if (c !== LF) fail('HPE_STRICT', 'expected LF at the end of the trailers');
          this.state = State.Done;
          return pos;
      }
    }
    return pos;
  }
}

/** A parsed head; its raw header list, which perfy itself does not read, is made from the head's text if asked for. */
class Head implements ResponseHead {
  private raw: string[] | undefined;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly minorVersion: number,
    readonly headers: Record<string, string | string[]>,
    readonly repeated: boolean,
    private readonly text: string,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get rawHeaders(): string[] {
    if (this.raw !== undefined) return this.raw;
    // The lines were checked when the head was parsed: each is `name:value` with CRLF.
    const raw: string[] = [];
    const text = this.text;
    for (let pos = this.from; pos < this.to;) {
      const cr = text.indexOf('\r', pos);
      const colon = text.indexOf(':', pos);
      raw.push(text.slice(pos, colon), fieldValue(text, colon + 1, cr));
      pos = cr + 2;
    }
    this.raw = raw;
    return raw;
  }
}

/**
 * The bytes of a head so far, before its end has arrived: garbage is reported now rather than after 64 KiB or
 * a timeout. They must start with "HTTP/1." and may not end a line with a bare LF.
 */
function checkStart(buf: Buffer, from: number, to: number): void {
  const n = Math.min(to - from, HTTP_PREFIX.length);
  for (let i = 0; i < n; i++) {
    if (buf[from + i] !== HTTP_PREFIX.charCodeAt(i)) {
      fail('HPE_INVALID_CONSTANT', 'the response does not start with HTTP/1.');
    }
  }
  for (let lf = buf.indexOf(LF, from); lf !== -1 && lf < to; lf = buf.indexOf(LF, lf + 1)) {
    if (lf === from || buf[lf - 1] !== CR) {
      fail('HPE_CR_EXPECTED', 'a line of the response head ends with LF without CR');
    }
  }
}

/** Fails with the first fault of the field lines text[from, to), which FIELD_LINES refused; llhttp's codes. */
function fieldLinesFault(text: string, from: number, to: number): never {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF) fail('HPE_CR_EXPECTED', 'a header line ends with LF without CR');
    if (c === CR) {
      if (text.charCodeAt(++i) !== LF) fail('HPE_LF_EXPECTED', 'a CR in a header line is not followed by LF');
    } else if (isControl(c)) {
      fail('HPE_INVALID_HEADER_TOKEN', `a control character (code ${c}) in a header line`);
    }
  }
  return fail('HPE_INVALID_HEADER_TOKEN', 'an invalid header line');
}

/** A control character (RFC 5234 CTL) other than HTAB, which no field value or quoted string may hold. */
function isControl(c: number): boolean {
  return c < SP ? c !== HTAB : c === 127;
}

/** The sub-state after byte c of a chunk extension's name: more name, its `=`, or what may follow an extension. */
function afterNameByte(c: number): SizeLine {
  if (TOKEN[c] === 1) return SizeLine.ExtensionName;
  if (c === EQUALS) return SizeLine.ExtensionValue;
  return afterExtension(c, 'name');
}

/** After a chunk extension (its name, token value or quoted value) comes another, or the end of the line. */
function afterExtension(c: number, part: string): SizeLine {
  if (c === SEMICOLON) return SizeLine.ExtensionStart;
  if (c === CR) return SizeLine.Cr;
  if (c === LF) fail('HPE_CR_EXPECTED', `a chunk extension ${part} ends with LF without CR`);
  return fail('HPE_STRICT', `invalid character in a chunk extension ${part}`);
}

function parseLength(value: string): number {
  if (value.length === 0) fail('HPE_INVALID_CONTENT_LENGTH', 'an empty content-length');
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      fail('HPE_INVALID_CONTENT_LENGTH', `invalid content-length: ${JSON.stringify(value.slice(0, 20))}`);
    }
    n = n * 10 + d;
    if (n > MAX_LENGTH) {
      fail('HPE_INVALID_CONTENT_LENGTH', `a content-length of 2^52 or more: ${JSON.stringify(value.slice(0, 20))}`);
    }
  }
  return n;
}

/** The last comma-separated element of a header value, trimmed and in lower case. */
function lastToken(value: string): string {
  return value.slice(value.lastIndexOf(',') + 1).trim().toLowerCase();
}

function hasToken(value: string, token: string): boolean {
  const lower = value.toLowerCase();
  if (lower === token) return true;
  return lower.split(',').some((part) => part.trim() === token);
}

/** A header's value: text[start, end) without the optional whitespace around it. */
function fieldValue(text: string, start: number, end: number): string {
  let c = text.charCodeAt(start);
  while (start < end && (c === SP || c === HTAB)) c = text.charCodeAt(++start);
  c = text.charCodeAt(end - 1);
  while (end > start && (c === SP || c === HTAB)) c = text.charCodeAt(--end - 1);
  return text.slice(start, end);
}
