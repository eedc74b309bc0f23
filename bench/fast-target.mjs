// A target for the worker-scaling benchmark that costs next to nothing per request, so that on a small machine
// the generator's threads, not the server, are what runs out of CPU: a raw TCP server that answers every
// request head (a GET without a body ends at the first blank line) with the same pre-built keep-alive response,
// the one target-server.mjs sends, or with BENCH_BODY_ITEMS items in its list (a larger body costs this server
// nothing but bytes, while the generator parses it for the capture). Prints {"url": …} when listening.
import { createServer } from 'node:net';

const count = Number(process.env.BENCH_BODY_ITEMS ?? 2);
const body = JSON.stringify({
  items: Array.from({ length: count }, (_, i) => ({ id: `d-${i + 1}`, title: i % 2 ? 'Yes.' : 'Is this fast?' })),
  next: null,
});
const response = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nkeep-alive: ` +
    `timeout=120\r\n\r\n${body}`,
  'latin1',
);
const END = Buffer.from('\r\n\r\n', 'latin1');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  // The unanswered tail of the stream: a request head may arrive split over several reads.
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    let data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let answers = 0;
    let at;
    while ((at = data.indexOf(END)) !== -1) {
      answers++;
      data = data.subarray(at + END.length);
    }
    pending = Buffer.from(data);
    if (answers === 1) socket.write(response);
    else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => response)));
  });
  socket.on('error', () => socket.destroy());
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
