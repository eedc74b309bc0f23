// Cost of parsing one response with perfy's HTTP/1.1 parser (engine/steps/http/h1/parser.ts), the hot path of
// every request: a typical 200 with 9 headers in one read, framed by content-length and by chunks. As from a
// real server, the responses differ in one header (a request id) and are otherwise the same.

import { ResponseParser, type ResponseHandler } from '../engine/steps/http/h1/parser.js';
import { measure, type BenchResult } from './run.js';

export const name = 'h1 response parser (engine/steps/http/h1/parser.ts)';

const BODY = JSON.stringify({ items: [{ id: 'a1', title: 'first' }, { id: 'b2', title: 'second' }] });
/** Responses cycled through, each with its own request id. */
const VARIANTS = 64;
const headers = (i: number): string => [
  'Content-Type: application/json; charset=utf-8',
  'Date: Tue, 26 Nov 2024 10:00:00 GMT',
  'Connection: keep-alive',
  'Keep-Alive: timeout=5',
  'Cache-Control: no-store',
  `X-Request-Id: 7f3c2a9e-1b4d-4c8e-9f0a-${(0x2d6e8b1c5a00 + i).toString(16)}`,
  'Vary: Accept-Encoding',
  'Server: bench',
].join('\r\n');
const half = BODY.length >> 1;
const CHUNKS =
  `${half.toString(16)}\r\n${BODY.slice(0, half)}\r\n` +
  `${(BODY.length - half).toString(16)}\r\n${BODY.slice(half)}\r\n0\r\n\r\n`;
const wires = (framing: (i: number) => string): Buffer[] =>
  Array.from({ length: VARIANTS }, (_, i) =>
    Buffer.from(`HTTP/1.1 200 OK\r\n${headers(i)}\r\n${framing(i)}`, 'latin1'),
  );
const LENGTH = wires(() => `Content-Length: ${BODY.length}\r\n\r\n${BODY}`);
const CHUNKED = wires(() => `Transfer-Encoding: chunked\r\n\r\n${CHUNKS}`);

/** What the executor does at least: keeps the status and counts the body. */
class Counting implements ResponseHandler {
  status = 0;
  bytes = 0;
  onHead(head: { status: number }): void {
    this.status = head.status;
  }
  onBody(_data: Buffer, start: number, end: number): void {
    this.bytes += end - start;
  }
}

function parseEach(wires: Buffer[]): () => boolean {
  const parser = new ResponseParser();
  const handler = new Counting();
  let i = 0;
  return () => {
    const wire = wires[i++ % VARIANTS]!;
    parser.start(handler, false);
    parser.execute(wire, 0, wire.length);
    return parser.done && handler.status === 200;
  };
}

export function run(): BenchResult[] {
  return [
    measure(`200, 9 headers, content-length body (${LENGTH[0]!.length} bytes, one read)`, parseEach(LENGTH)),
    measure(`200, 9 headers, 2 chunks (${CHUNKED[0]!.length} bytes, one read)`, parseEach(CHUNKED)),
  ];
}
