// The server the comparison benchmark loads: keep-alive HTTP on 127.0.0.1 answering a small JSON body at once,
// so the generator, not the server, is what is measured. Prints {"url": …} when listening.
import { createServer } from 'node:http';

const body = JSON.stringify({
  items: [
    { id: 'd-1', title: 'Is this fast?' },
    { id: 'd-2', title: 'Yes.' },
  ],
  next: null,
});
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
