import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DiscoveryBackend, type InstanceHealth, invalidArgument } from '@switchyard/core';
import { AuditLog } from './audit-log.js';

const PKG = 'console';
const ALL_HEALTH: readonly InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];
const KNOWN = new Set(['discovery', 'port', 'host', 'readOnly', 'token']);

export interface ConsoleServerOptions {
  /** Discovery backend whose services the console shows. */
  discovery?: DiscoveryBackend;
  /** TCP port (0 picks a free one). */
  port: number;
  /** Interface to bind (default `127.0.0.1`). */
  host?: string;
  /** Refuse every mutation with 403 (default true). */
  readOnly?: boolean;
  /** Optional bearer token every request must carry. */
  token?: string;
}

export interface ConsoleServer extends AsyncDisposable {
  /** `http://host:port` once listening. */
  readonly url: string;
  readonly audit: AuditLog;
  close(): Promise<void>;
}

function parse(
  options: ConsoleServerOptions,
): Required<Omit<ConsoleServerOptions, 'discovery' | 'token'>> &
  Pick<ConsoleServerOptions, 'discovery' | 'token'> {
  if (options === null || typeof options !== 'object')
    throw invalidArgument(PKG, 'options', 'must be an object');
  for (const k of Object.keys(options))
    if (!KNOWN.has(k)) throw invalidArgument(PKG, k, 'is not a known option');
  const { port, host = '127.0.0.1', readOnly = true, token, discovery } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw invalidArgument(PKG, 'port', 'must be an integer 0..65535');
  if (typeof host !== 'string' || host === '')
    throw invalidArgument(PKG, 'host', 'must be a non-empty string');
  if (typeof readOnly !== 'boolean') throw invalidArgument(PKG, 'readOnly', 'must be a boolean');
  if (token !== undefined && (typeof token !== 'string' || token.length < 8))
    throw invalidArgument(PKG, 'token', 'must be a string of at least 8 characters');
  if (
    discovery !== undefined &&
    (typeof discovery?.resolve !== 'function' || typeof discovery.watch !== 'function')
  )
    throw invalidArgument(PKG, 'discovery', 'must be a DiscoveryBackend');
  return { port, host, readOnly, token, discovery };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Starts the operator console: a static page at `/` and a JSON + SSE API under `/api`. */
export async function createConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const o = parse(options);
  const audit = new AuditLog();
  const streams = new Set<AbortController>();
  const publicDir = new URL('../public/', import.meta.url);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    if (path === '/' || path === '/app.js') {
      const file = path === '/' ? 'index.html' : 'app.js';
      const body = await readFile(new URL(file, publicDir));
      res.writeHead(200, {
        'content-type': file.endsWith('.html')
          ? 'text/html; charset=utf-8'
          : 'text/javascript; charset=utf-8',
        'content-security-policy': "default-src 'self'",
      });
      res.end(body);
      return;
    }
    if (!path.startsWith('/api/')) return json(res, 404, { error: 'NOT_FOUND' });
    if (o.token !== undefined && req.headers.authorization !== `Bearer ${o.token}`)
      return json(res, 401, { error: 'UNAUTHENTICATED' });
    if (req.method !== 'GET') {
      if (o.readOnly) {
        audit.record({ action: `${req.method} ${path}`, target: path, outcome: 'refused' });
        return json(res, 403, { error: 'READ_ONLY' });
      }
      return json(res, 404, { error: 'NOT_FOUND' });
    }
    if (path === '/api/audit') return json(res, 200, { entries: audit.entries() });
    const d = o.discovery;
    if (!d) return json(res, 404, { error: 'NO_DISCOVERY' });
    if (path === '/api/services') {
      const names = await d.services();
      const services = await Promise.all(
        names.map(async (name) => {
          const snap = await d.resolve(name, { filter: { health: ALL_HEALTH } });
          const healthy = snap.instances.filter((i) => i.health === 'passing').length;
          return { name, instances: snap.instances.length, healthy };
        }),
      );
      return json(res, 200, { services });
    }
    const m = /^\/api\/services\/([^/]+)(\/events)?$/.exec(path);
    if (!m) return json(res, 404, { error: 'NOT_FOUND' });
    const service = decodeURIComponent(m[1] as string);
    if (!m[2]) {
      const snap = await d.resolve(service, { filter: { health: ALL_HEALTH } });
      return json(res, 200, snap);
    }
    const ac = new AbortController();
    streams.add(ac);
    req.on('close', () => ac.abort());
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    try {
      for await (const ev of d.watch(service, { filter: { health: ALL_HEALTH }, signal: ac.signal })) {
        res.write(`data: ${JSON.stringify(ev.snapshot)}\n\n`);
      }
    } catch {
      // aborted by client disconnect or close()
    } finally {
      streams.delete(ac);
      res.end();
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: (err as { code?: string }).code ?? 'INTERNAL' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      for (const ac of streams) ac.abort();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };
  return { url: `http://${o.host}:${addr.port}`, audit, close, [Symbol.asyncDispose]: close };
}
