import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { UpstreamHandle } from '../sticky/user-pods.js';
import type { H2Sessions } from './h2-sessions.js';

const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'host',
  'http2-settings',
]);

/**
 * Sends one HTTP/1.1 request to an h2c upstream over its shared session. Resolves false when the
 * session could not be opened (nothing was sent: the caller may retry elsewhere), true once the
 * request went out (the outcome is reported on `handle`).
 */
export async function forwardToH2(
  sessions: H2Sessions,
  req: IncomingMessage,
  res: ServerResponse,
  handle: UpstreamHandle,
  path: string,
  clientIp: string | undefined,
  setCookie: string | undefined,
): Promise<boolean> {
  const t0 = performance.now();
  let session: Awaited<ReturnType<H2Sessions['get']>>;
  try {
    session = await sessions.get(handle.instance);
  } catch {
    handle.report(false, performance.now() - t0);
    return false;
  }
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!DROP.has(k) && v !== undefined) out[k] = v;
  out[':method'] = req.method ?? 'GET';
  out[':path'] = path;
  out[':scheme'] = 'http';
  if (req.headers.host) out[':authority'] = req.headers.host;
  if (clientIp)
    out['x-forwarded-for'] = req.headers['x-forwarded-for']
      ? `${req.headers['x-forwarded-for']}, ${clientIp}`
      : clientIp;
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  const up = session.request(out, { endStream: !hasBody });
  if (hasBody) req.pipe(up);
  let status = 0;
  up.on('response', (h) => {
    status = Number(h[':status'] ?? 502);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(h))
      if (!k.startsWith(':') && !DROP.has(k) && v !== undefined) headers[k] = v as string | string[];
    if (setCookie) headers['set-cookie'] = [...[headers['set-cookie'] ?? []].flat(), setCookie];
    res.writeHead(status, headers);
    up.pipe(res, { end: false });
  });
  up.on('trailers', (t) => {
    // HTTP/1.1 can carry trailers only on a chunked response.
    if (!res.hasHeader('content-length')) {
      const trailers: Record<string, string> = {};
      for (const [k, v] of Object.entries(t))
        if (!k.startsWith(':') && v !== undefined) trailers[k] = String(v);
      res.addTrailers(trailers);
    }
  });
  up.on('error', () => {});
  up.once('close', () => {
    const ok = status > 0 && status < 500;
    handle.report(ok, performance.now() - t0);
    if (status === 0) {
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream stream reset\n');
      else res.destroy();
    } else res.end();
  });
  res.once('close', () => {
    if (!up.closed) up.close();
  });
  return true;
}
