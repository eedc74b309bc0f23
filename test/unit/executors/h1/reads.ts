// Feeds a byte stream to perfy's response parser the way a connection does (one reused read buffer, a request
// per response), recording what it gives; shared by the parser's tests.

import assert from 'node:assert/strict';
import { HttpParseError, ResponseParser, type ResponseHead } from '../../../../engine/executors/h1/parser.js';

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
}

/**
 * Feeds `pieces` (one read each) to one parser: each piece is copied into one reused read buffer whose bytes
 * after the piece are garbage that looks like HTTP, so a parser that reads past `end` or keeps a reference to
 * the buffer fails. After a response completes the next one starts (a request per response, `headRequests[i]`
 * for HEAD) with the rest of the piece. A parse error ends the transcript. `close`: finish() after the last
 * piece, as when the server closes the connection.
 */
export function readResponses(pieces: Buffer[], headRequests: boolean[] = [], options: { close?: boolean } = {}): Transcript {
  const parser = new ResponseParser();
  const readBuffer = Buffer.alloc(128 * 1024, '\r\n\r\nHTTP/1.1 200 OK\r\n0\r\n\r\n');
  const responses: Parsed[] = [];
  let current: Parsed | undefined;
  let offset = 0;
  const begin = (): void => {
    current = { head: undefined, body: Buffer.alloc(0), lasts: [], done: false, keepAlive: true, keepAliveTimeoutMs: -1, end: -1 };
    responses.push(current);
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
  try {
    begin();
    for (const piece of pieces) {
      piece.copy(readBuffer, 0);
      let at = 0;
      while (at < piece.length) {
        if (current === undefined) begin();
        at = parser.execute(readBuffer, at, piece.length);
        if (parser.done) complete(offset + at);
      }
      offset += piece.length;
      // What the parser does not copy is gone after the read.
      readBuffer.fill(0x41, 0, piece.length);
    }
    if (options.close && current !== undefined && parser.finish()) complete(offset);
  } catch (error) {
    if (!(error instanceof HttpParseError)) throw error;
    return { responses, error };
  }
  return { responses, error: undefined };
}
