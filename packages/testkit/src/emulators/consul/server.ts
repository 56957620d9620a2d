import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Agent } from './agent.js';
import { handle } from './router.js';
import { Sessions } from './sessions.js';
import { ConsulState } from './state.js';

export interface ConsulEmulatorOptions {
  /** Port to listen on (default 0: a free port). */
  port?: number;
  /** Loopback address (default 127.0.0.1). */
  host?: string;
  datacenter?: string;
  nodeName?: string;
  /** Require this ACL token on every request (default: ACLs disabled). */
  aclToken?: string;
  /** Smallest DeregisterCriticalServiceAfter honoured, ms (Consul: 60 000). Lower it for fast tests. */
  minDeregisterCriticalServiceAfter?: number;
  /** How often the agent reaps critical services, ms (default 30 000). */
  reapInterval?: number;
  /** Smallest session TTL accepted, ms (Consul: 10 000). */
  minSessionTtl?: number;
  /** Sessions expire after TTL × this (Consul: 2). */
  sessionTtlMultiplier?: number;
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP (Consul's `https` port). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Observes every request as it arrives (tests use it to check what a client sends). */
  onRequest?: (request: EmulatorRequest) => void;
}

export interface EmulatorRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/health/service/web`. */
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Resolves when the response has been sent or the connection closed (for in-flight counts). */
  finished: Promise<void>;
}

export interface ConsulEmulator extends AsyncDisposable {
  /** `http://host:port` (`https://` with `tls`; no `/v1`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Requests answered so far (failures and black-holed ones included). */
  readonly requestCount: number;
  /**
   * Simulates an agent restart: open connections (blocking queries) are cut, every service, check,
   * key and session is forgotten and the index starts again from 1 (so it goes backwards).
   * With `downtime`, the listener is closed for that long (connections are refused).
   */
  restart(options?: { downtime?: number }): Promise<void>;
  /**
   * The next `n` requests fail with `status` (default 500) and a plain-text body. With `path`, only
   * requests whose path matches count (e.g. `/^\/v1\/agent\/check\//` to stop heartbeats only).
   */
  failNext(n: number, status?: number, match?: { path?: RegExp }): void;
  /** The next `n` requests are accepted but never answered (until the client gives up). */
  blackholeNext(n: number): void;
  close(): Promise<void>;
}

/** Starts an in-process emulator of the Consul agent HTTP API on a loopback port. */
export async function startConsulEmulator(options: ConsulEmulatorOptions = {}): Promise<ConsulEmulator> {
  const host = options.host ?? '127.0.0.1';
  const state = new ConsulState({
    datacenter: options.datacenter ?? 'dc1',
    nodeName: options.nodeName ?? 'switchyard-emulator',
    nodeId: randomUUID(),
  });
  let sessions: Sessions | undefined;
  const agent = new Agent(state, {
    minDeregisterCriticalServiceAfter: options.minDeregisterCriticalServiceAfter ?? 60_000,
    onCritical: (id) => sessions?.onCheckCritical(id),
  });
  sessions = new Sessions(state, {
    minSessionTtl: options.minSessionTtl ?? 10_000,
    ttlMultiplier: options.sessionTtlMultiplier ?? 2,
  });
  const ctx = { state, agent, sessions, aclToken: options.aclToken };
  const reaper = setInterval(() => agent.reap(Date.now()), options.reapInterval ?? 30_000);
  reaper.unref();

  let failures: { n: number; status: number; path?: RegExp | undefined } = { n: 0, status: 500 };
  let blackholes = 0;
  let requestCount = 0;
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    requestCount++;
    if (options.onRequest) {
      const url = new URL(req.url ?? '/', 'http://consul');
      const finished = new Promise<void>((resolve) => res.once('close', () => resolve()));
      options.onRequest({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        finished,
      });
    }
    if (blackholes > 0) {
      blackholes--;
      req.resume();
      return;
    }
    if (
      failures.n > 0 &&
      (!failures.path || failures.path.test(new URL(req.url ?? '/', 'http://consul').pathname))
    ) {
      failures.n--;
      req.resume();
      res.writeHead(failures.status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('emulated failure');
      return;
    }
    void handle(ctx, req, res);
  };
  const server: Server = options.tls
    ? (createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest) as unknown as Server)
    : createServer(onRequest);
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  const port = await listen(options.port ?? 0);
  const cutConnections = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  let closed = false;

  const emulator: ConsulEmulator = {
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    get requestCount() {
      return requestCount;
    },
    async restart(opts = {}) {
      blackholes = 0;
      failures = { n: 0, status: 500 };
      if (opts.downtime && opts.downtime > 0) {
        const closing = new Promise<void>((resolve) => server.close(() => resolve()));
        cutConnections();
        await closing;
        state.reset();
        await new Promise((r) => setTimeout(r, opts.downtime));
        await listen(port);
      } else {
        cutConnections();
        state.reset();
      }
    },
    failNext(n, status = 500, match = {}) {
      failures = { n, status, path: match.path };
    },
    blackholeNext(n) {
      blackholes = n;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(reaper);
      state.dispose();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      cutConnections();
      if (server.listening) await closing;
    },
    async [Symbol.asyncDispose]() {
      await emulator.close();
    },
  };
  return emulator;
}
