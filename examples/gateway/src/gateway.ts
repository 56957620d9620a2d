import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createH2Server, type Http2Server, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type Clock,
  createDiscoveryClient,
  createMemoryDiscovery,
  type DiscoveryBackend,
  type DiscoveryClient,
  invalidArgument,
  systemClock,
} from '@switchyard/core';
import type { Balancer } from '@switchyard/loadbalancer';
import type { RouteClient } from '@switchyard/stateful-route';
import type { GeoLocator } from './geo/geo-locator.js';
import { createAdminServer } from './ops/admin-server.js';
import { GatewayMetrics } from './ops/metrics.js';
import { createH2StreamHandler } from './proxy/h2-proxy.js';
import { H2Sessions } from './proxy/h2-sessions.js';
import { createHttpHandler, type ProxyContext } from './proxy/http-proxy.js';
import { type BalancerTuning, ServiceBalancers } from './proxy/service-balancers.js';
import { originOf, type UpstreamPoolOptions, UpstreamPools } from './proxy/upstream-pools.js';
import { createUpgradeHandler } from './proxy/websocket-proxy.js';
import { PKG } from './routes/route-config.js';
import type { RouteSource } from './routes/route-source.js';
import { Router } from './routes/router.js';
import { StickySessions } from './sticky/sticky-sessions.js';
import { type UserPodStats, UserPods } from './sticky/user-pods.js';
import { createGatewayTrafficRules, type GatewayTrafficRules } from './traffic-rules.js';

export interface GatewayOptions {
  /** Where routes come from (memory, JSON file, config center). */
  routes: RouteSource;
  /** Any discovery backend (default: in-memory). The gateway reads it through a discovery client. */
  discovery?: DiscoveryBackend;
  /** Proxy listener. Default 127.0.0.1:8080 (0 = any free port). */
  host?: string;
  port?: number;
  /** Also listen for HTTP/2 (h2c, prior knowledge: gRPC clients, h2 proxies) on this port (0 = any free port). Default off. */
  http2Port?: number;
  /** Admin listener for /healthz, /readyz, /metrics. Default port 9901 on `host` (0 = any free port). */
  adminPort?: number;
  /** Breakers, ejection, retry budget, locality for every service balancer. */
  balancer?: BalancerTuning;
  pools?: UpstreamPoolOptions;
  /** How long `close()` waits for in-flight requests before cutting connections, ms. Default 10 000. */
  drainTimeout?: number;
  /** GeoIP: client IP → zone/region, so the balancer prefers the nearest zone and fails over region by region. */
  geo?: GeoLocator;
  /** Take the client IP from the first X-Forwarded-For entry (behind a trusted L4/L7 balancer). Default false. */
  trustProxy?: boolean;
  /**
   * A `@switchyard/stateful-route` client (`createRouteClient`): routes with `sticky: { by: 'user' }`
   * send each user to its linked pod. The caller owns it (not closed by the gateway). Without it
   * those routes are balanced, sticky by the user header.
   */
  statefulRoute?: RouteClient;
  clock?: Clock;
}

export interface Gateway extends AsyncDisposable {
  readonly url: string;
  readonly adminUrl: string;
  /** The HTTP/2 (h2c) listener's URL, when `http2Port` was given. */
  readonly http2Url: string | undefined;
  readonly discovery: DiscoveryClient;
  readonly rules: GatewayTrafficRules;
  readonly metrics: GatewayMetrics;
  /** Sticky-by-user counters: linked, fallback, failed. */
  readonly userPods: UserPodStats;
  readonly server: Server;
  balancers(): Balancer[];
  /** Resolves when every routed service has a first snapshot. */
  ready(options?: { signal?: AbortSignal }): Promise<void>;
  /** Stops accepting, fails /readyz, drains in-flight requests (up to drainTimeout), then closes everything. */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function checkPort(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)
    throw invalidArgument(PKG, field, `must be an integer port in 0..65535, got ${String(v)}`);
  return v;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  if (typeof options?.routes?.current !== 'function')
    throw invalidArgument(
      PKG,
      'routes',
      'must be a RouteSource (createMemoryRouteSource, createJsonFileRouteSource)',
    );
  const host = options.host ?? '127.0.0.1';
  const port = checkPort('port', options.port ?? 8080);
  const adminPort = checkPort('adminPort', options.adminPort ?? 9901);
  const drainTimeout = options.drainTimeout ?? 10_000;
  if (!(drainTimeout >= 0))
    throw invalidArgument(PKG, 'drainTimeout', `must be >= 0, got ${String(drainTimeout)}`);
  const clock = options.clock ?? systemClock;
  const ownsBackend = options.discovery === undefined;
  const backend = options.discovery ?? createMemoryDiscovery();
  const rules = createGatewayTrafficRules();
  const discovery = createDiscoveryClient({ backend, rules: rules.source });
  const metrics = new GatewayMetrics();
  const pools = new UpstreamPools(options.pools);
  const h2sessions = new H2Sessions();
  const sticky = new StickySessions(clock);
  if (options.statefulRoute !== undefined && typeof options.statefulRoute.computeLinkedPod !== 'function')
    throw invalidArgument(PKG, 'statefulRoute', 'must be a stateful-route client (createRouteClient)');
  const userPods = new UserPods(options.statefulRoute);
  const readySet = new WeakSet<Balancer>();
  const balancers: ServiceBalancers = new ServiceBalancers(
    discovery,
    rules.source,
    { clock, ...options.balancer },
    (b) => {
      b.ready().then(
        () => readySet.add(b),
        () => {},
      );
      b.on('balancer:instances-changed', () => {
        const live = new Set<string>();
        for (const x of balancers.all()) for (const i of x.instances()) live.add(originOf(i));
        pools.retain(live);
        h2sessions.retain(live);
      });
    },
  );
  let router = new Router(options.routes.current());
  for (const r of router.routes) balancers.for(r);
  const offRoutes = options.routes.subscribe((table) => {
    router = new Router(table);
    for (const r of router.routes) balancers.for(r);
    void balancers.retain(router.routes);
  });

  let draining = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const trustProxy = options.trustProxy === true;
  const ctx: ProxyContext = {
    geo: options.geo,
    router: () => router,
    balancerFor: (route) => balancers.for(route),
    pools,
    h2: h2sessions,
    sticky,
    userPods,
    metrics,
    clientIp(req: IncomingMessage) {
      if (trustProxy) {
        const xff = req.headers['x-forwarded-for'];
        const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',', 1)[0]?.trim();
        if (first) return first;
      }
      return req.socket.remoteAddress;
    },
    get draining() {
      return draining;
    },
    begin() {
      inFlight++;
    },
    end() {
      if (--inFlight === 0) drained?.();
    },
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, createHttpHandler(ctx));
  const upgraded = new Set<Duplex>();
  const onUpgrade = createUpgradeHandler(ctx, upgraded);
  server.on('upgrade', (req, socket, head) => void onUpgrade(req, socket, head));
  let h2server: Http2Server | undefined;
  const h2front = new Set<Http2Session>();
  if (options.http2Port !== undefined) {
    checkPort('http2Port', options.http2Port);
    const onStream = createH2StreamHandler(ctx, h2sessions);
    h2server = createH2Server();
    h2server.on('session', (s) => {
      h2front.add(s);
      s.once('close', () => h2front.delete(s));
    });
    h2server.on('stream', (stream, headers) => void onStream(stream, headers));
  }
  const admin = createAdminServer({
    live: () => true,
    ready() {
      const services: Record<string, number> = {};
      let ready = !draining;
      for (const r of router.routes) {
        const b = balancers.for(r);
        const n = readySet.has(b) ? b.instances().length : 0;
        services[r.service] = n;
        if (n === 0) ready = false;
      }
      return { ready, detail: { draining, services } };
    },
    metrics: () =>
      metrics.render(balancers.all(), {
        stickySessions: sticky.size,
        stickyExpired: sticky.expired,
        userPods: userPods.stats,
      }),
  });
  let proxyAddr: AddressInfo;
  let adminAddr: AddressInfo;
  let h2Addr: AddressInfo | undefined;
  try {
    proxyAddr = await listen(server, port, host);
    if (h2server) h2Addr = await listen(h2server as unknown as Server, options.http2Port!, host);
    adminAddr = await listen(admin, adminPort, host);
  } catch (error) {
    server.close();
    h2server?.close();
    offRoutes();
    await balancers.close();
    await discovery.close();
    throw error;
  }
  const fmt = (a: AddressInfo) => `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= shutdown();
    return closing;
  };

  async function shutdown(): Promise<void> {
    draining = true;
    offRoutes();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const h2stopped = h2server ? new Promise<void>((resolve) => h2server.close(() => resolve())) : undefined;
    // GOAWAY: HTTP/2 clients open no new streams; streams in flight finish (counted in inFlight).
    for (const s of h2front) s.close();
    server.closeIdleConnections();
    let cut = false;
    if (inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          cut = true;
          resolve();
        }, drainTimeout);
        drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    server.closeAllConnections();
    // Upgraded (WebSocket) connections are not HTTP requests: they end with the drain.
    for (const s of upgraded) s.destroy();
    for (const s of h2front) s.destroy();
    await stopped;
    await h2stopped;
    await new Promise<void>((resolve) => {
      admin.close(() => resolve());
      admin.closeAllConnections();
    });
    sticky.clear();
    await balancers.close();
    // After a cut, requests still waiting on upstreams are abandoned rather than awaited.
    if (cut) {
      pools.destroy();
      h2sessions.destroy();
    } else {
      await pools.close();
      await h2sessions.close();
    }
    await discovery.close();
    if (ownsBackend) await backend.close();
  }

  return {
    url: fmt(proxyAddr),
    adminUrl: fmt(adminAddr),
    http2Url: h2Addr ? fmt(h2Addr) : undefined,
    discovery,
    rules,
    metrics,
    userPods: userPods.stats,
    server,
    balancers: () => [...balancers.all()],
    async ready({ signal } = {}) {
      await Promise.all(router.routes.map((r) => balancers.for(r).ready(signal ? { signal } : {})));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
