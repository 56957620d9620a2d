import { Agent, createServer } from 'node:http';
import { createProxyServer } from 'http-proxy-3';
import { serveTarget } from './child.js';

serveTarget(async (upstream) => {
  const proxy = createProxyServer({
    target: upstream,
    agent: new Agent({ keepAlive: true, maxSockets: 128 }),
  });
  proxy.on('error', (_e, _req, res) => {
    if (res && 'writeHead' in res && !res.headersSent) res.writeHead(502).end();
  });
  const server = createServer((req, res) => proxy.web(req, res));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
});
