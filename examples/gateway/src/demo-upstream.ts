import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DiscoveryBackend, Registration } from '@switchyard/core';

export interface DemoUpstream {
  readonly id: string;
  readonly port: number;
  readonly server: Server;
  /** Requests served. */
  readonly served: () => number;
  /** Crash: drop every connection and stop listening, without deregistering. */
  kill(): Promise<void>;
  /** Deregister, then stop. */
  close(): Promise<void>;
}

export interface DemoUpstreamOptions {
  id: string;
  service: string;
  discovery?: DiscoveryBackend;
  zone?: string;
  /** Respond after this many ms (default 0). */
  delay?: number;
  port?: number;
  /** Answer every GET with this status (default 200), e.g. 503 for a failing instance. */
  status?: number;
}

/**
 * A small upstream service for the demo, tests and benchmarks: answers `<id> <method> <path>` (and
 * echoes request bodies), registered in discovery under `service`.
 */
export async function startDemoUpstream(options: DemoUpstreamOptions): Promise<DemoUpstream> {
  let served = 0;
  const body = Buffer.from(`${options.id}\n`);
  const server = createServer((req, res) => {
    served++;
    const reply = () => {
      if (req.method === 'POST' || req.method === 'PUT') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': options.id });
          res.end(Buffer.concat([body, ...chunks]));
        });
        return;
      }
      res.writeHead(options.status ?? 200, {
        'content-type': 'text/plain',
        'content-length': body.length,
        'x-upstream': options.id,
        'x-seen-path': req.url ?? '',
        'x-seen-forwarded-for': String(req.headers['x-forwarded-for'] ?? ''),
      });
      res.end(body);
    };
    if (options.delay) setTimeout(reply, options.delay);
    else reply();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let registration: Registration | undefined;
  if (options.discovery) {
    registration = await options.discovery.register({
      id: options.id,
      service: options.service,
      address: '127.0.0.1',
      port,
      ...(options.zone ? { zone: options.zone } : {}),
    });
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    id: options.id,
    port,
    server,
    served: () => served,
    async kill() {
      await stop();
    },
    async close() {
      await registration?.close();
      if (server.listening) await stop();
    },
  };
}
