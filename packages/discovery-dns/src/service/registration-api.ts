import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  type Clock,
  type DiscoveryBackend,
  type InstanceHealth,
  isSwitchyardError,
  type Registration,
  SwitchyardError,
  systemClock,
  type TimerHandle,
} from '@switchyard/core';
import { DEFAULT_TTL, opt, parseOptions } from '@switchyard/core/driver';
import { PKG } from '../package-name.js';

export interface RegistrationApiOptions {
  discovery: DiscoveryBackend;
  host?: string;
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** An HTTP registration without a heartbeat for this long is removed, ms (a request's `ttl` overrides). Default 10 000. */
  ttl?: number;
  /** Largest request body, octets. Default 65 536. */
  maxBody?: number;
  clock?: Clock;
}

export interface RegistrationApi extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** HTTP registrations held now. */
  readonly size: number;
  close(): Promise<void>;
}

interface Held {
  registration: Registration;
  ttl: number;
  timer: TimerHandle | undefined;
}

/**
 * Seed 004's registration endpoints over any discovery backend, for processes that cannot link a
 * Switchyard client: register, heartbeat, set health, deregister, list. A registration lives while
 * its HTTP heartbeats arrive (every `ttl` at the latest); the backend registration behind it is kept
 * alive by the kit as usual.
 *
 *   POST   /api/v1/services                        {service, address, port, id?, tags?, metadata?, weight?, zone?, region?, ttl?}
 *   PUT    /api/v1/services/:service/:id/heartbeat
 *   PUT    /api/v1/services/:service/:id/health    {health}
 *   DELETE /api/v1/services/:service/:id
 *   GET    /api/v1/services                        → names
 *   GET    /api/v1/services/:service               → instances (every health)
 */
export async function startRegistrationApi(options: RegistrationApiOptions): Promise<RegistrationApi> {
  const o = parseOptions(PKG, options, {
    discovery: opt
      .instance<DiscoveryBackend>(
        (v) => typeof (v as DiscoveryBackend)?.register === 'function',
        'a discovery backend',
      )
      .required(),
    host: opt.string({ maxLength: 64 }).default('127.0.0.1'),
    port: opt.integer(0, 65_535).default(0),
    ttl: opt.duration({ min: 1_000 }).default(DEFAULT_TTL.registration),
    maxBody: opt.integer(256, 16 * 1024 * 1024).default(65_536),
    clock: opt.clock().default(systemClock),
  });
  const held = new Map<string, Held>();
  const keyOf = (service: string, id: string) => `${service}\u0000${id}`;

  const expire = (key: string) => {
    const h = held.get(key);
    if (!h) return;
    held.delete(key);
    void h.registration.close().catch(() => {});
  };
  const arm = (key: string, h: Held) => {
    o.clock.clearTimeout(h.timer);
    h.timer = o.clock.setTimeout(() => expire(key), h.ttl, { unref: true });
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://api');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'services')
      return send(res, 404, { error: 'not found' });
    const [service, id, action] = parts.slice(3);
    const m = req.method ?? 'GET';
    if (m === 'POST' && service === undefined) {
      const body = (await readJson(req, o.maxBody)) as Record<string, unknown>;
      const { ttl: ttlField, ...input } = body;
      const ttl = ttlField === undefined ? o.ttl : ttlField;
      if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1_000) {
        throw new SwitchyardError('INVALID_ARGUMENT', `[${PKG}] ttl must be a number of ms >= 1000`, {
          field: 'ttl',
        });
      }
      const instance = { id: randomUUID(), ...input } as Parameters<DiscoveryBackend['register']>[0];
      const key = keyOf(String(instance.service), String(instance.id));
      if (held.has(key))
        throw new SwitchyardError(
          'CONFLICT',
          `[${PKG}] ${instance.service}/${instance.id} is already registered`,
        );
      const registration = await o.discovery.register(instance);
      const h: Held = { registration, ttl, timer: undefined };
      held.set(key, h);
      arm(key, h);
      return send(res, 201, { ...registration.instance, ttl });
    }
    if (m === 'GET' && id === undefined) {
      if (service === undefined) return send(res, 200, { services: await o.discovery.services() });
      const all: InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];
      return send(res, 200, await o.discovery.resolve(service, { filter: { health: all } }));
    }
    if (service === undefined || id === undefined) return send(res, 404, { error: 'not found' });
    const key = keyOf(service, id);
    const h = held.get(key);
    if (!h) return send(res, 404, { error: `${service}/${id} is not registered here` });
    if (m === 'PUT' && action === 'heartbeat') {
      arm(key, h);
      return send(res, 200, { ok: true, ttl: h.ttl });
    }
    if (m === 'PUT' && action === 'health') {
      const body = (await readJson(req, o.maxBody)) as { health?: InstanceHealth };
      await h.registration.setHealth(body.health as InstanceHealth);
      arm(key, h);
      return send(res, 200, { ok: true });
    }
    if (m === 'DELETE' && action === undefined) {
      o.clock.clearTimeout(h.timer);
      held.delete(key);
      await h.registration.close();
      res.writeHead(204).end();
      return;
    }
    return send(res, 405, { error: 'method not allowed' });
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      const status = isSwitchyardError(e)
        ? ((
            {
              INVALID_ARGUMENT: 400,
              CONFLICT: 409,
              NOT_FOUND: 404,
              CLOSED: 503,
              BACKEND_UNAVAILABLE: 503,
            } as Record<string, number>
          )[e.code] ?? 500)
        : 500;
      send(res, status, {
        error: e instanceof Error ? e.message : String(e),
        ...(isSwitchyardError(e) ? { code: e.code, field: e.field } : {}),
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  let closing: Promise<void> | undefined;
  const api: RegistrationApi = {
    host: o.host,
    port,
    get size() {
      return held.size;
    },
    close() {
      closing ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        const all = [...held.values()];
        held.clear();
        for (const h of all) o.clock.clearTimeout(h.timer);
        await Promise.allSettled(all.map((h) => h.registration.close()));
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
  return api;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(
          new SwitchyardError('INVALID_ARGUMENT', `[${PKG}] body is larger than ${max} octets`, {
            field: 'body',
          }),
        );
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v);
      } catch {
        reject(
          new SwitchyardError('INVALID_ARGUMENT', `[${PKG}] body must be a JSON object`, { field: 'body' }),
        );
      }
    });
  });
}
