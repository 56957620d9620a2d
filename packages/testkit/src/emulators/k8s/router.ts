import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ListContext, listObjects } from './list.js';
import { parseListOptions } from './list-options.js';
import { apiVersionOf, RESOURCE_TYPES, type ResourceType } from './resources.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  methodNotAllowed,
  notFound,
  StatusError,
  unauthorized,
} from './status.js';
import { type KubeObject, objectKey } from './store.js';
import { serveWatch, type WatchContext } from './watch.js';

export interface RouterContext extends WatchContext, ListContext {
  token: string | undefined;
  version: { major: string; minor: string; gitVersion: string };
}

export interface Route {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
}

/** Maps `/api/v1/...` and `/apis/<group>/<version>/...` paths to a resource (namespaced or across namespaces). */
export function route(path: string): Route | undefined {
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]!);
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  const type = RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === rest[0]);
  if (!type) return undefined;
  return { type, namespace, name: rest[1] === undefined ? undefined : decodeURIComponent(rest[1]) };
}

export function sendStatus(res: ServerResponse, error: StatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (error.retryAfterSeconds !== undefined && (error.code === 429 || error.code >= 500)) {
    headers['retry-after'] = String(error.retryAfterSeconds);
  }
  res.writeHead(error.code, headers);
  res.end(JSON.stringify(error.status));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<KubeObject> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || typeof (body as KubeObject).metadata !== 'object') {
    throw badRequest('the request body must be an object with metadata');
  }
  return body as KubeObject;
}

const PUBLIC = new Set(['/healthz', '/livez', '/readyz', '/version']);

/** Handles one request; every failure becomes a `Status` response. */
export async function handle(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  try {
    if (ctx.token !== undefined && !PUBLIC.has(url.pathname)) {
      if (req.headers.authorization !== `Bearer ${ctx.token}`) throw unauthorized();
    }
    if (url.pathname === '/version')
      return sendJson(res, 200, { ...ctx.version, platform: `${process.platform}/${process.arch}` });
    if (PUBLIC.has(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    const r = route(url.pathname);
    if (!r)
      throw new StatusError({
        message: 'the server could not find the requested resource',
        reason: 'NotFound',
        code: 404,
      });
    const method = req.method ?? 'GET';
    if (r.name === undefined) {
      if (method === 'GET') {
        const o = parseListOptions(url.searchParams);
        if (o.watch) return await serveWatch(ctx, r.type, r.namespace, o, req, res);
        if (ctx.faults.listDelay > 0)
          await new Promise((resolve) => setTimeout(resolve, ctx.faults.listDelay));
        return sendJson(res, 200, await listObjects(ctx, r.type, r.namespace, o));
      }
      if (method === 'POST' && r.namespace !== undefined)
        return sendJson(res, 201, create(ctx, r, await readBody(req)));
      throw methodNotAllowed(method);
    }
    if (r.namespace === undefined) throw notFound(r.type.group, r.type.plural, r.name);
    const key = objectKey(r.namespace, r.name);
    if (method === 'GET') {
      const obj = ctx.store.get(r.type.plural, key);
      if (!obj) throw notFound(r.type.group, r.type.plural, r.name);
      return sendJson(res, 200, { kind: r.type.kind, apiVersion: apiVersionOf(r.type), ...obj });
    }
    if (method === 'PUT') return sendJson(res, 200, replace(ctx, r, await readBody(req)));
    if (method === 'DELETE') {
      const obj = ctx.store.get(r.type.plural, key);
      if (!obj) throw notFound(r.type.group, r.type.plural, r.name);
      ctx.store.write(r.type.plural, 'DELETED', obj);
      return sendJson(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: r.name, group: r.type.group, kind: r.type.plural, uid: obj.metadata.uid },
      });
    }
    throw methodNotAllowed(method);
  } catch (error) {
    if (error instanceof StatusError) sendStatus(res, error);
    else sendStatus(res, new StatusError({ message: String(error), reason: 'InternalError', code: 500 }));
  }
}

function checked(type: ResourceType, namespace: string, body: KubeObject): KubeObject {
  if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const obj = { ...body, metadata: { ...body.metadata, namespace } };
  const causes = type.validate(obj);
  if (causes.length > 0) throw invalid(type.kind, type.group, String(obj.metadata.name ?? ''), causes);
  return obj;
}

function create(ctx: RouterContext, r: Route, body: KubeObject): KubeObject {
  const obj = checked(r.type, r.namespace!, body);
  if (ctx.store.get(r.type.plural, objectKey(r.namespace, obj.metadata.name))) {
    throw alreadyExists(r.type.group, r.type.plural, obj.metadata.name);
  }
  const { resourceVersion: _rv, uid: _uid, ...meta } = obj.metadata;
  const ev = ctx.store.write(r.type.plural, 'ADDED', { ...obj, metadata: meta as KubeObject['metadata'] });
  return { kind: r.type.kind, apiVersion: apiVersionOf(r.type), ...ev.object };
}

function replace(ctx: RouterContext, r: Route, body: KubeObject): KubeObject {
  const obj = checked(r.type, r.namespace!, body);
  if (obj.metadata.name !== r.name)
    throw badRequest('the name of the object does not match the name on the URL');
  const current = ctx.store.get(r.type.plural, objectKey(r.namespace, r.name));
  if (!current) throw notFound(r.type.group, r.type.plural, r.name!);
  const rv = obj.metadata.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
    throw conflict(
      r.type.group,
      r.type.plural,
      r.name!,
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  }
  const ev = ctx.store.write(r.type.plural, 'MODIFIED', obj);
  return { kind: r.type.kind, apiVersion: apiVersionOf(r.type), ...ev.object };
}
