import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Agent, healthEntries } from './agent.js';
import { blockingQuery } from './blocking.js';
import { HttpError } from './http-error.js';
import { kvDelete, kvRead, kvWrite } from './kv.js';
import type { Sessions } from './sessions.js';
import type { ConsulState } from './state.js';

export interface RouterContext {
  state: ConsulState;
  agent: Agent;
  sessions: Sessions;
  /** When set, requests must present this token (X-Consul-Token, Authorization: Bearer, or ?token=). */
  aclToken: string | undefined;
  /** The agent version `/v1/agent/self` reports. */
  version: string;
}

interface Answer {
  status?: number;
  index?: number;
  body?: unknown;
  raw?: Buffer;
}

/** Dispatches one request to the matching Consul endpoint and writes Consul's response shape. */
export async function handle(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://consul');
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  try {
    checkAcl(ctx, req, q);
    const dc = q.get('dc');
    if (dc && dc !== ctx.state.datacenter) throw new HttpError(500, 'No path to datacenter');
    const body = method === 'PUT' || method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    const answer = await route(ctx, method, url.pathname, q, body, res);
    if (answer === undefined || res.destroyed) return;
    send(ctx, res, q, answer);
  } catch (error) {
    if (res.headersSent || res.destroyed) return;
    const status = error instanceof HttpError ? error.status : 500;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end((error as Error).message);
  }
}

type Handler = (
  ctx: RouterContext,
  param: string,
  q: URLSearchParams,
  body: Buffer,
  res: ServerResponse,
) => Answer | Promise<Answer | undefined>;

interface Route {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Exact path, or a prefix whose remainder is the route parameter when it ends with "/". */
  path: string;
  handler: Handler;
}

const ok = (): Answer => ({});

const ttlUpdate =
  (status: string): Handler =>
  ({ agent }, id, q) => {
    agent.updateTtl(id, status, q.get('note') ?? '');
    return ok();
  };

const ROUTES: Route[] = [
  {
    method: 'PUT',
    path: '/v1/agent/service/register',
    handler: ({ agent }, _p, q, body) => {
      agent.registerService(json(body), q.has('replace-existing-checks'));
      return ok();
    },
  },
  {
    method: 'PUT',
    path: '/v1/agent/service/deregister/',
    handler: ({ agent }, id) => {
      agent.deregisterService(id);
      return ok();
    },
  },
  {
    method: 'PUT',
    path: '/v1/agent/service/maintenance/',
    handler: ({ agent }, id, q) => {
      const enable = q.get('enable');
      if (enable !== 'true' && enable !== 'false') throw new HttpError(400, 'Missing value for enable');
      agent.maintenance(id, enable === 'true', q.get('reason') ?? undefined);
      return ok();
    },
  },
  { method: 'PUT', path: '/v1/agent/check/pass/', handler: ttlUpdate('passing') },
  { method: 'PUT', path: '/v1/agent/check/warn/', handler: ttlUpdate('warning') },
  { method: 'PUT', path: '/v1/agent/check/fail/', handler: ttlUpdate('critical') },
  {
    method: 'PUT',
    path: '/v1/agent/check/update/',
    handler: ({ agent }, id, _q, body) => {
      const b = json(body);
      agent.updateTtl(id, String(b.Status ?? ''), String(b.Output ?? ''));
      return ok();
    },
  },
  { method: 'GET', path: '/v1/agent/services', handler: ({ agent }) => ({ body: agent.listServices() }) },
  { method: 'GET', path: '/v1/agent/checks', handler: ({ agent }) => ({ body: agent.listChecks() }) },
  { method: 'GET', path: '/v1/agent/service/', handler: ({ agent }, id) => ({ body: agent.getService(id) }) },
  {
    method: 'GET',
    path: '/v1/agent/self',
    handler: ({ state, agent, version }) => {
      const node = state.nodes.find((n) => n.node.Node === agent.node)?.node ?? state.node;
      return {
        body: {
          Config: { Datacenter: state.datacenter, NodeName: node.Node, NodeID: node.ID, Version: version },
          Member: { Name: node.Node, Addr: '127.0.0.1', Status: 1 },
        },
      };
    },
  },
  { method: 'GET', path: '/v1/status/leader', handler: () => ({ body: '127.0.0.1:8300' }) },
  {
    method: 'GET',
    path: '/v1/health/service/',
    handler: ({ state }, name, q, _b, res) => {
      const tags = q.getAll('tag');
      const passing = q.has('passing') && q.get('passing') !== 'false' && q.get('passing') !== '0';
      return blockingQuery(state, q, res, () => ({
        index: state.indexOfService(name, true),
        body: healthEntries(state, name)
          .filter((e) => tags.every((t) => e.tags.includes(t)))
          .filter((e) => !passing || e.statuses.every((s) => s === 'passing'))
          .map((e) => e.entry),
      }));
    },
  },
  {
    method: 'GET',
    path: '/v1/catalog/services',
    handler: ({ state }, _p, q, _b, res) =>
      blockingQuery(state, q, res, () => {
        const out: Record<string, string[]> = {};
        for (const n of state.nodes) {
          for (const s of n.services.values()) {
            out[s.Service] ??= [];
            const tags = out[s.Service] as string[];
            for (const t of s.Tags) if (!tags.includes(t)) tags.push(t);
          }
        }
        return { index: state.catalogIndex, body: out };
      }),
  },
  {
    method: 'GET',
    path: '/v1/catalog/service/',
    handler: ({ state }, name, q, _b, res) =>
      blockingQuery(state, q, res, () => ({
        index: state.indexOfService(name, false),
        body: healthEntries(state, name).map((e) => catalogEntry(e.entry)),
      })),
  },
  {
    method: 'GET',
    path: '/v1/kv/',
    handler: ({ state }, key, q, _b, res) => blockingQuery(state, q, res, () => kvRead(state, key, q)),
  },
  {
    method: 'PUT',
    path: '/v1/kv/',
    handler: ({ state }, key, q, body) => ({ body: kvWrite(state, key, q, body) }),
  },
  { method: 'DELETE', path: '/v1/kv/', handler: ({ state }, key, q) => ({ body: kvDelete(state, key, q) }) },
  {
    method: 'PUT',
    path: '/v1/session/create',
    handler: ({ sessions }, _p, _q, body) => ({ body: sessions.create(body.length ? json(body) : {}) }),
  },
  {
    method: 'PUT',
    path: '/v1/session/renew/',
    handler: ({ sessions }, id) => ({ body: sessions.renew(id) }),
  },
  {
    method: 'PUT',
    path: '/v1/session/destroy/',
    handler: ({ sessions }, id) => ({ body: sessions.destroy(id) }),
  },
  {
    method: 'GET',
    path: '/v1/session/info/',
    handler: ({ state, sessions }, id, q, _b, res) =>
      blockingQuery(state, q, res, () => ({ index: state.sessionIndex, body: sessions.info(id) })),
  },
  {
    method: 'GET',
    path: '/v1/session/list',
    handler: ({ state, sessions }, _p, q, _b, res) =>
      blockingQuery(state, q, res, () => ({ index: state.sessionIndex, body: sessions.list() })),
  },
];

function route(
  ctx: RouterContext,
  method: string,
  path: string,
  q: URLSearchParams,
  body: Buffer,
  res: ServerResponse,
): Answer | Promise<Answer | undefined> {
  // Consul accepts POST wherever it documents PUT.
  const verb = method === 'POST' ? 'PUT' : method;
  for (const r of ROUTES) {
    if (r.method !== verb) continue;
    if (r.path.endsWith('/') ? path.startsWith(r.path) : path === r.path) {
      const param = r.path.endsWith('/') ? decodeURIComponent(path.slice(r.path.length)) : '';
      return r.handler(ctx, param, q, body, res);
    }
  }
  throw new HttpError(404, `Unsupported: ${method} ${path}`);
}

function catalogEntry(entry: Record<string, unknown>): Record<string, unknown> {
  const node = entry.Node as Record<string, unknown>;
  const svc = entry.Service as Record<string, unknown>;
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceID: svc.ID,
    ServiceName: svc.Service,
    ServiceTags: svc.Tags,
    ServiceAddress: svc.Address,
    ServiceMeta: svc.Meta,
    ServicePort: svc.Port,
    ServiceWeights: svc.Weights,
    ServiceEnableTagOverride: svc.EnableTagOverride,
    CreateIndex: svc.CreateIndex,
    ModifyIndex: svc.ModifyIndex,
  };
}

function send(ctx: RouterContext, res: ServerResponse, q: URLSearchParams, a: Answer): void {
  const headers: Record<string, string> = {};
  if (a.index !== undefined) {
    // Consul never returns index 0 (clients would busy-loop); it reports at least 1.
    headers['x-consul-index'] = String(Math.max(1, a.index));
    headers['x-consul-knownleader'] = 'true';
    headers['x-consul-lastcontact'] = '0';
    headers['x-consul-effective-consistency'] = q.has('stale')
      ? 'stale'
      : q.has('consistent')
        ? 'consistent'
        : 'leader';
  }
  headers['x-consul-default-acl-policy'] = ctx.aclToken ? 'deny' : 'allow';
  if (a.raw) {
    res.writeHead(a.status ?? 200, { ...headers, 'content-type': 'application/octet-stream' });
    res.end(a.raw);
    return;
  }
  if (a.body === undefined) {
    res.writeHead(a.status ?? 200, headers);
    res.end();
    return;
  }
  res.writeHead(a.status ?? 200, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(a.body));
}

function checkAcl(ctx: RouterContext, req: IncomingMessage, q: URLSearchParams): void {
  if (!ctx.aclToken) return;
  const auth = req.headers.authorization;
  const token =
    (req.headers['x-consul-token'] as string | undefined) ??
    (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined) ??
    q.get('token') ??
    '';
  if (token === '') throw new HttpError(403, 'Permission denied: anonymous token lacks permission');
  if (token !== ctx.aclToken) throw new HttpError(403, 'ACL not found');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (error) {
    throw new HttpError(400, `Request decode failed: ${(error as Error).message}`);
  }
}
