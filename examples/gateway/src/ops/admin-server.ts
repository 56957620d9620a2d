import { createServer, type Server } from 'node:http';

export interface AdminHandlers {
  live(): boolean;
  ready(): { ready: boolean; detail: Record<string, unknown> };
  metrics(): string;
}

/** `/healthz` (process alive), `/readyz` (routes loaded, services resolved, not draining), `/metrics`. */
export function createAdminServer(h: AdminHandlers): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz') {
      const ok = h.live();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'down\n');
    } else if (path === '/readyz') {
      const r = h.ready();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify({ ready: r.ready, ...r.detail })}\n`);
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(h.metrics());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
}
