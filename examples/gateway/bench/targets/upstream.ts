import { createServer } from 'node:http';
import { serveTarget } from './child.js';

// The upstream every target proxies to: a fixed 13-byte answer, keep-alive.
const body = Buffer.from('hello world\n');
serveTarget(async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
});
