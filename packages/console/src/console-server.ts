import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditLog } from './audit-log.js';
import {
  type ConsoleModule,
  ConsoleReply,
  type ConsoleRequest,
  type ConsoleRoute,
} from './console-module.js';
import { type ConsoleServerOptions, parseConsoleOptions } from './console-options.js';
import { AccessControl, generateToken } from './http/access-control.js';
import { badRequest, errorReply, HttpError } from './http/http-error.js';
import { readJsonBody, sendJson, startEventStream } from './http/replies.js';
import { Router } from './http/router.js';
import { serveStatic } from './http/static-files.js';
import { buildModules } from './modules/module-registry.js';
import { Confirmations, fingerprint } from './mutations/confirmations.js';

export type { ConsoleServerOptions } from './console-options.js';

export interface ConsoleServer extends AsyncDisposable {
  /** `http://host:port` once listening. */
  readonly url: string;
  /** The token to log in with (the one given, or the one generated at start); `undefined` with `token: false`. */
  readonly token: string | undefined;
  readonly audit: AuditLog;
  /** The pages mounted (one per backend given). */
  readonly pages: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts the operator console: the page at `/` and a JSON + server-sent-events API under `/api`,
 * one module per backend given (services, locks, config, routes, cache).
 */
export async function createConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const o = parseConsoleOptions(options);
  const token = o.token === false ? undefined : (o.token ?? generateToken());
  const access = new AccessControl(token);
  const audit = new AuditLog();
  const confirmations = new Confirmations();
  const modules: ConsoleModule[] = [...buildModules(o), ...o.modules];
  const router = new Router();
  for (const m of modules) for (const r of m.routes) router.add(r);
  const pages = modules.map((m) => ({ name: m.name, title: m.title }));
  const publicDir = new URL('../public/', import.meta.url);
  const requests = new Set<AbortController>();

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, signal: AbortSignal) {
    const path = url.pathname;
    if (path === '/api/session' && req.method === 'GET') {
      let authenticated = true;
      try {
        access.authenticate(req);
      } catch {
        authenticated = false;
      }
      return sendJson(res, 200, {
        authenticated,
        authRequired: access.required,
        readOnly: o.readOnly,
        pages,
      });
    }
    if (path === '/api/login' && req.method === 'POST') {
      access.checkSameOrigin(req);
      const body = await readJsonBody(req);
      res.setHeader('set-cookie', access.login(body['token']));
      return sendJson(res, 200, { authenticated: true });
    }
    if (path === '/api/logout' && req.method === 'POST') {
      access.checkSameOrigin(req);
      res.setHeader('set-cookie', access.logout(req));
      return sendJson(res, 200, { authenticated: false });
    }
    const actor = access.authenticate(req);
    if (path === '/api/audit' && req.method === 'GET')
      return sendJson(res, 200, { entries: audit.entries() });
    const found = router.match(req.method ?? 'GET', path);
    if (found === undefined) throw new HttpError(404, 'NOT_FOUND', `no API route ${path}`);
    if (found === 'method')
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
    const { route, params } = found;
    const isWrite = req.method !== 'GET';
    if (isWrite) access.checkSameOrigin(req);
    const raw = isWrite ? await readJsonBody(req) : {};
    const { confirm, reason, ...body } = raw;
    const request: ConsoleRequest = { params, query: url.searchParams, body, signal, actor };
    if (route.stream) return stream(route, request, res);
    if (!route.mutation) return reply(res, await route.handle!(request));
    return mutate(route, request, req.method as string, path, res, confirm, reason);
  }

  async function mutate(
    route: ConsoleRoute,
    request: ConsoleRequest,
    method: string,
    path: string,
    res: ServerResponse,
    confirm: unknown,
    reason: unknown,
  ) {
    const mutation = route.mutation!;
    const action = `${method} ${route.pattern}`;
    const target = mutation.target(request);
    const why = typeof reason === 'string' && reason.trim() !== '' ? reason.trim().slice(0, 500) : undefined;
    const entry = { actor: request.actor, action, target, ...(why ? { reason: why } : {}) };
    if (o.readOnly) {
      audit.record({ ...entry, outcome: 'refused', detail: 'read-only console' });
      throw new HttpError(403, 'READ_ONLY', 'the console is read-only (start it with readOnly: false)');
    }
    const print = fingerprint(method, path, request.body);
    if (confirm === undefined) {
      const confirmation = confirmations.issue(print, await mutation.preview(request));
      return sendJson(res, 409, { error: 'CONFIRMATION_REQUIRED', confirmation });
    }
    if (mutation.requireReason && !why) throw badRequest('reason', 'is required for this action');
    if (typeof confirm !== 'string' || !confirmations.redeem(confirm, print)) {
      audit.record({ ...entry, outcome: 'refused', detail: 'confirmation token invalid, used or expired' });
      throw new HttpError(
        409,
        'CONFIRMATION_INVALID',
        'the confirmation is invalid, used or expired: ask again',
      );
    }
    try {
      const result = await route.handle!(request);
      audit.record({ ...entry, outcome: 'ok' });
      return reply(res, result);
    } catch (error) {
      audit.record({
        ...entry,
        outcome: 'failed',
        detail: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  async function stream(route: ConsoleRoute, request: ConsoleRequest, res: ServerResponse) {
    const send = startEventStream(res, request.signal);
    try {
      await route.stream!(request, send);
    } catch (error) {
      if (!request.signal.aborted) send({ error: errorReply(error).toJSON() });
    } finally {
      res.end();
    }
  }

  function reply(res: ServerResponse, result: unknown) {
    if (result instanceof ConsoleReply) return sendJson(res, result.status, result.body);
    return sendJson(res, 200, result ?? { ok: true });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://console');
    if (!url.pathname.startsWith('/api/')) {
      if (req.method === 'GET' && (await serveStatic(publicDir, url.pathname, res))) return;
      return sendJson(res, 404, { error: 'NOT_FOUND', message: `no page ${url.pathname}` });
    }
    const ac = new AbortController();
    requests.add(ac);
    res.on('close', () => {
      ac.abort();
      requests.delete(ac);
    });
    try {
      await api(req, res, url, ac.signal);
    } catch (error) {
      const e = errorReply(error);
      if (!res.headersSent) sendJson(res, e.status, e.toJSON());
      else res.end();
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const ac of requests) ac.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const m of modules) await m.close?.();
    })();
    return closed;
  };
  return {
    url: `http://${host}:${addr.port}`,
    token,
    audit,
    pages: pages.map((p) => p.name),
    close,
    [Symbol.asyncDispose]: close,
  };
}
