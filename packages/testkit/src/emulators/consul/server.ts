import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent } from './agent.js';
import { AgentListener } from './agent-listener.js';
import { handle, type RouterContext } from './router.js';
import { Sessions } from './sessions.js';
import { ConsulState } from './state.js';

export interface ConsulEmulatorOptions {
  /** Port of the first agent (default 0: a free port). */
  port?: number;
  /** Loopback address (default 127.0.0.1). */
  host?: string;
  datacenter?: string;
  /** Name of the first node (default `switchyard-emulator`; the others get `-2`, `-3`…). */
  nodeName?: string;
  /**
   * Agents in the datacenter (default 1), each with its own node and its own port. Services are
   * unique per node: the same service ID registered on two agents is two instances.
   */
  nodes?: number;
  /**
   * The Consul version the agents behave as (default `1.20.0`). Before 1.11 a heartbeat for a check
   * the agent does not know is answered `500 Unknown check "…"`; from 1.11 on, `404 Unknown check ID`.
   */
  version?: string;
  /**
   * A non-dev agent with a data dir (default false: a dev agent). `restart()` then keeps the index,
   * KV, sessions and every API registration; restored checks start critical except TTL checks whose
   * persisted state has not expired (Consul's loadChecks / loadCheckState).
   */
  persistent?: boolean;
  /** `http_max_conns_per_client`: concurrent connections one client IP may hold to one agent (default 200; 0: no limit). */
  maxConnsPerClient?: number;
  /** Require this ACL token on every request (default: ACLs disabled). */
  aclToken?: string;
  /** Smallest DeregisterCriticalServiceAfter honoured, ms (Consul: 60 000). Lower it for fast tests. */
  minDeregisterCriticalServiceAfter?: number;
  /** Tests: reap a service whose check has a DeregisterCriticalServiceAfter once it is critical this long, ms. */
  reapCriticalAfter?: number;
  /** How often the agent reaps critical services, ms (default 30 000). */
  reapInterval?: number;
  /** Smallest session TTL accepted, ms (Consul: 10 000). */
  minSessionTtl?: number;
  /** Sessions expire after TTL × this (Consul: 2). */
  sessionTtlMultiplier?: number;
  /** Random source in [0, 1) for the stagger before a check's first probe (default `Math.random`). */
  random?: () => number;
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
  /** The node of the agent that received it. */
  node: string;
  /** Resolves when the response has been sent or the connection closed (for in-flight counts). */
  finished: Promise<void>;
}

/** One agent of the emulated datacenter. */
export interface EmulatedAgent {
  readonly node: string;
  /** `http://host:port` (`https://` with `tls`; no `/v1`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** TCP connections open to this agent now. */
  readonly openConnections: number;
}

export interface ConsulEmulator extends AsyncDisposable {
  /** The first agent's `http://host:port` (`https://` with `tls`; no `/v1`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every agent, the first one first. */
  readonly agents: readonly EmulatedAgent[];
  /** Requests answered so far (failures and black-holed ones included), all agents. */
  readonly requestCount: number;
  /** Connections refused (429 and closed) because their client IP was at `maxConnsPerClient`. */
  readonly rejectedConnections: number;
  /**
   * Simulates a restart of the datacenter's agents: open connections (blocking queries) are cut.
   * A dev agent (the default) forgets every service, check, key and session and its index starts
   * again from 1 (so it goes backwards); a `persistent` one restores its registrations.
   * With `downtime`, the listeners are closed for that long (connections are refused).
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

/** Starts an in-process emulator of the Consul agent HTTP API (one or more agents) on loopback ports. */
export async function startConsulEmulator(options: ConsulEmulatorOptions = {}): Promise<ConsulEmulator> {
  const host = options.host ?? '127.0.0.1';
  const count = options.nodes ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new RangeError('nodes must be an integer >= 1');
  const first = options.nodeName ?? 'switchyard-emulator';
  const state = new ConsulState({
    datacenter: options.datacenter ?? 'dc1',
    nodes: Array.from({ length: count }, (_, i) => ({
      name: i === 0 ? first : `${first}-${i + 1}`,
      id: randomUUID(),
    })),
  });
  const version = options.version ?? '1.20.0';
  const sessions = new Sessions(state, {
    minSessionTtl: options.minSessionTtl ?? 10_000,
    ttlMultiplier: options.sessionTtlMultiplier ?? 2,
  });
  const agents = state.nodes.map(
    (n) =>
      new Agent(state, n, {
        minDeregisterCriticalServiceAfter: options.minDeregisterCriticalServiceAfter ?? 60_000,
        reapCriticalAfter: options.reapCriticalAfter,
        unknownCheckStatus: versionBefore(version, [1, 11]) ? 500 : 404,
        random: options.random ?? Math.random,
        onCritical: (node, id) => sessions.onCheckCritical(node, id),
      }),
  );
  const reaper = setInterval(() => {
    for (const a of agents) a.reap(Date.now());
  }, options.reapInterval ?? 30_000);
  reaper.unref();

  let failures: { n: number; status: number; path?: RegExp | undefined } = { n: 0, status: 500 };
  let blackholes = 0;
  let requestCount = 0;
  let rejectedConnections = 0;

  const requestHandler = (agent: Agent) => {
    const ctx: RouterContext = { state, agent, sessions, aclToken: options.aclToken, version };
    return (req: IncomingMessage, res: ServerResponse) => {
      requestCount++;
      const url = new URL(req.url ?? '/', 'http://consul');
      if (options.onRequest) {
        const finished = new Promise<void>((resolve) => res.once('close', () => resolve()));
        options.onRequest({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          node: agent.node,
          finished,
        });
      }
      if (blackholes > 0) {
        blackholes--;
        req.resume();
        return;
      }
      if (failures.n > 0 && (!failures.path || failures.path.test(url.pathname))) {
        failures.n--;
        req.resume();
        res.writeHead(failures.status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('emulated failure');
        return;
      }
      void handle(ctx, req, res);
    };
  };

  const listeners = agents.map(
    (agent) =>
      new AgentListener({
        host,
        tls: options.tls,
        maxConnsPerClient: options.maxConnsPerClient ?? 200,
        onRequest: requestHandler(agent),
        onReject: () => {
          rejectedConnections++;
        },
      }),
  );
  for (const [i, l] of listeners.entries()) await l.listen(i === 0 ? (options.port ?? 0) : 0);
  const urlOf = (port: number) =>
    `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const endpoints: EmulatedAgent[] = listeners.map((l, i) => ({
    node: agents[i]!.node,
    url: urlOf(l.port),
    host,
    port: l.port,
    get openConnections() {
      return l.openConnections;
    },
  }));
  let closed = false;

  const emulator: ConsulEmulator = {
    url: endpoints[0]!.url,
    host,
    port: endpoints[0]!.port,
    agents: endpoints,
    get requestCount() {
      return requestCount;
    },
    get rejectedConnections() {
      return rejectedConnections;
    },
    async restart(opts = {}) {
      blackholes = 0;
      failures = { n: 0, status: 500 };
      for (const a of agents) a.stop();
      if (opts.downtime && opts.downtime > 0) {
        await Promise.all(listeners.map((l) => l.close()));
        if (!options.persistent) state.reset();
        await new Promise((r) => setTimeout(r, opts.downtime));
        for (const l of listeners) await l.listen(l.port);
      } else {
        for (const l of listeners) l.cut();
        if (!options.persistent) state.reset();
      }
      if (options.persistent) for (const a of agents) a.restore(Date.now());
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
      await Promise.all(listeners.map((l) => l.close()));
    },
    async [Symbol.asyncDispose]() {
      await emulator.close();
    },
  };
  return emulator;
}

/** Whether a `major.minor[.patch]` version is older than `[major, minor]`. */
function versionBefore(version: string, [major, minor]: [number, number]): boolean {
  const [a = 0, b = 0] = version.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return a < major || (a === major && b < minor);
}
