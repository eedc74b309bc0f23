// Feeds a byte stream to perfy's response parser the way a connection does (one reused read buffer, a request
// per response), recording what it gives; shared by the parser's unit and differential tests.

import assert from 'node:assert/strict';
import { HttpParseError, ResponseParser, type ResponseHead } from '../../../../../engine/steps/http/h1/parser.js';

export interface Parsed {
  head: ResponseHead | undefined;
  body: Buffer;
  /** `last` of every onBody call */
  lasts: boolean[];
  done: boolean;
  keepAlive: boolean;
  keepAliveTimeoutMs: number;
  /** The offset in the stream just after the response, once done. */
  end: number;
}

export interface Transcript {
  responses: Parsed[];
  /** What the parser threw, if it did. */
  error: HttpParseError | undefined;
  /**
   * Whether the stream ended between responses: the last one is done, and what followed it was nothing or
   * empty lines only (which start no response: llhttp skips them too).
   */
  endedClean: boolean;
}

export interface ReadOptions {
  /** Call finish() after the last piece, as when the server closes the connection. */
  close?: boolean;
  /** Stop after a response that ends keep-alive, as a connection does; else the rest is read as more responses. */
  stopAtClose?: boolean;
}

/**
 * Feeds `pieces` (one read each) to one parser: each piece is copied into one reused read buffer whose bytes
 * after the piece are garbage that looks like HTTP, so a parser that reads past `end` or keeps a reference to
 * the buffer fails. After a response completes the next one starts (a request per response, `headRequests[i]`
 * for HEAD) with the rest of the piece. A parse error ends the transcript.
 */
export function readResponses(pieces: Buffer[], headRequests: boolean[] = [], options: ReadOptions = {}): Transcript {
  const parser = new ResponseParser();
  const readBuffer = Buffer.alloc(128 * 1024, '\r\n\r\nHTTP/1.1 200 OK\r\n0\r\n\r\n');
  const responses: Parsed[] = [];
  let current: Parsed | undefined;
  let offset = 0;
  /** Whether every byte since the last complete response was CR or LF. */
  let onlyEmptyLines = true;
  const begin = (): void => {
    current = {
      head: undefined, body: Buffer.alloc(0), lasts: [], done: false, keepAlive: true, keepAliveTimeoutMs: -1, end: -1,
    };
    responses.push(current);
    onlyEmptyLines = true;
    const parsed = current;
    parser.start({
      onHead: (head) => {
        assert.equal(parsed.head, undefined, 'one head per response');
        parsed.head = head;
      },
      onBody: (data, start, end, last) => {
        assert.ok(start <= end && end <= data.length);
        parsed.body = Buffer.concat([parsed.body, data.subarray(start, end)]);
        parsed.lasts.push(last);
      },
    }, headRequests[responses.length - 1] ?? false);
  };
  const complete = (end: number): void => {
    current!.done = true;
    current!.keepAlive = parser.keepAlive;
    current!.keepAliveTimeoutMs = parser.keepAliveTimeoutMs;
    current!.end = end;
    current = undefined;
  };
  const closing = (): boolean =>
    options.stopAtClose === true && current === undefined && responses.at(-1)?.keepAlive === false;
  try {
    begin();
    for (const piece of pieces) {
      if (closing()) break;
      piece.copy(readBuffer, 0);
      let at = 0;
      while (at < piece.length && !closing()) {
        if (current === undefined) begin();
        const from = at;
        at = parser.execute(readBuffer, at, piece.length);
        for (let i = from; i < at && onlyEmptyLines; i++) onlyEmptyLines = piece[i] === 13 || piece[i] === 10;
        if (parser.done) complete(offset + at);
      }
      offset += piece.length;
      // What the parser does not copy is gone after the read.
      readBuffer.fill(0x41, 0, piece.length);
    }
    if (options.close && current !== undefined && parser.finish()) complete(offset);
  } catch (error) {
    if (!(error instanceof HttpParseError)) throw error;
    return { responses, error, endedClean: false };
  }
  return { responses, error: undefined, endedClean: current === undefined || onlyEmptyLines };
}
