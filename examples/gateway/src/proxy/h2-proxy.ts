import type { IncomingMessage } from 'node:http';
import {
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { PickHandle } from '@switchyard/loadbalancer';
import type { Dispatcher } from 'undici';
import type { RouteConfig } from '../routes/route-config.js';
import { hostOf, upstreamPath } from '../routes/router.js';
import { downstreamResponseHeaders } from './forward-headers.js';
import type { H2Sessions } from './h2-sessions.js';
import { basePickContext, type ProxyContext } from './http-proxy.js';

/** Connection-specific headers HTTP/2 forbids, plus hop-by-hop ones. */
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
/** gRPC statuses that count against the instance (as in the grpc package's LB policy). */
const GRPC_FAILURE = new Set(['14', '4', '13', '2', '15', '8']);

function isGrpc(headers: IncomingHttpHeaders): boolean {
  return String(headers['content-type'] ?? '').startsWith('application/grpc');
}

function fail(stream: ServerHttp2Stream, grpc: boolean, status: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  if (grpc) {
    // gRPC clients read the status from (trailers-only) headers: UNAVAILABLE lets them retry.
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': '14',
        'grpc-message': encodeURIComponent(message),
      },
      { endStream: true },
    );
  } else {
    stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8' });
    stream.end(`${message}\n`);
  }
}

function ok(status: number, grpcStatus: string | undefined): boolean {
  return status < 500 && (grpcStatus === undefined || !GRPC_FAILURE.has(grpcStatus));
}

function forwardHeaders(
  headers: IncomingHttpHeaders,
  path: string,
  clientIp: string | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(':') || DROP.has(k) || v === undefined) continue;
    out[k] = v;
  }
  out[':method'] = headers[':method'];
  out[':path'] = path;
  out[':scheme'] = 'http';
  if (headers[':authority']) out[':authority'] = headers[':authority'];
  const xff = headers['x-forwarded-for'];
  if (clientIp) out['x-forwarded-for'] = xff ? `${xff}, ${clientIp}` : clientIp;
  return out;
}

/**
 * The HTTP/2 listener's stream handler: routes by :authority and :path, then forwards over an HTTP/2
 * session (routes with `protocol: "h2c"`, gRPC included, trailers passed through intact) or over
 * the HTTP/1.1 keep-alive pools. A dial that fails (nothing sent yet) is retried on another instance.
 */
export function createH2StreamHandler(ctx: ProxyContext, sessions: H2Sessions) {
  return async function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    stream.on('error', () => {});
    const grpc = isGrpc(headers);
    const path = String(headers[':path'] ?? '/');
    const route = ctx.router().match(hostOf(headers[':authority'] as string | undefined), path);
    if (!route) return fail(stream, grpc, 404, 'no route');
    const started = performance.now();
    ctx.begin();
    ctx.metrics.inFlight++;
    const rm = ctx.metrics.route(route.name);
    let status = 0;
    stream.once('close', () => {
      ctx.metrics.inFlight--;
      rm.byClass[status >= 100 && status < 600 ? (status / 100) | 0 : 0]!++;
      rm.latency.observe((performance.now() - started) / 1000);
      ctx.end();
    });
    const balancer = ctx.balancerFor(route);
    // Same rule as HTTP/1.1 (socket address, or the first X-Forwarded-For entry with trustProxy).
    const clientIp = ctx.clientIp({
      headers,
      socket: { remoteAddress: stream.session?.socket?.remoteAddress },
    } as unknown as IncomingMessage);
    const context = basePickContext(ctx, clientIp);
    if (route.sticky) {
      const k = ctx.sticky.keyFor(route.name, route.sticky, headers, clientIp);
      if (k) context.key = k.key;
    } else if (route.hashHeader) {
      const v = headers[route.hashHeader];
      if (typeof v === 'string') context.key = v;
    }
    const out = forwardHeaders(headers, upstreamPath(route, path), clientIp);
    const tried = new Set<string>();
    const sm = ctx.metrics.service(route.service);
    for (let attempt = 0; attempt <= (route.retries ?? 2); attempt++) {
      let handle: PickHandle;
      try {
        handle = balancer.pick(context, tried);
      } catch {
        sm.noInstance++;
        status = 503;
        return fail(stream, grpc, 503, `no available instance of ${route.service}`);
      }
      tried.add(handle.instance.id);
      const t0 = performance.now();
      if (route.protocol !== 'h2c') {
        status = await viaHttp1(ctx, stream, out, route, handle, t0);
        return;
      }
      try {
        const session = await sessions.get(handle.instance);
        if (stream.destroyed) return handle.cancel();
        const up = session.request(out, { endStream: stream.endAfterHeaders });
        relayH2(stream, up, handle, t0, grpc, (s) => {
          status = s;
        });
        return;
      } catch {
        handle.report(false, performance.now() - t0);
        sm.connectErrors++;
        if (attempt > 0) sm.retries++;
      }
    }
    status = 502;
    fail(stream, grpc, 502, `upstream ${route.service} unreachable`);
  };
}

function relayH2(
  stream: ServerHttp2Stream,
  up: ClientHttp2Stream,
  handle: PickHandle,
  t0: number,
  grpc: boolean,
  setStatus: (s: number) => void,
): void {
  let code = 0;
  let grpcStatus: string | undefined;
  let trailers: IncomingHttpHeaders | undefined;
  if (!stream.endAfterHeaders) stream.pipe(up);
  up.on('response', (h, flags) => {
    code = Number(h[':status'] ?? 502);
    setStatus(code);
    grpcStatus = h['grpc-status'] as string | undefined;
    const res: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(h)) if (!DROP.has(k) && v !== undefined) res[k] = v;
    if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
      // Trailers-only response (a gRPC error): headers end the stream.
      stream.respond(res, { endStream: true });
      return;
    }
    stream.respond(res, { waitForTrailers: true });
    up.pipe(stream);
  });
  up.on('trailers', (t) => {
    trailers = t;
    grpcStatus = (t['grpc-status'] as string | undefined) ?? grpcStatus;
  });
  stream.on('wantTrailers', () => {
    if (trailers) {
      const t: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(trailers)) if (!k.startsWith(':') && v !== undefined) t[k] = v;
      stream.sendTrailers(t);
    } else stream.close();
  });
  up.once('close', () => {
    const failed = code === 0;
    handle.report(!failed && ok(code, grpcStatus), performance.now() - t0);
    if (failed) fail(stream, grpc, 502, 'upstream stream reset');
    else if (!stream.closed && !stream.writableEnded && up.rstCode) stream.close(up.rstCode);
  });
  up.on('error', () => {});
  stream.once('close', () => {
    if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
  });
}

async function viaHttp1(
  ctx: ProxyContext,
  stream: ServerHttp2Stream,
  out: OutgoingHttpHeaders,
  route: RouteConfig,
  handle: PickHandle,
  t0: number,
): Promise<number> {
  const flat: string[] = [];
  for (const [k, v] of Object.entries(out)) {
    if (k.startsWith(':')) continue;
    for (const x of Array.isArray(v) ? v : [v]) flat.push(k, String(x));
  }
  if (out[':authority']) flat.push('host', String(out[':authority']));
  let res: Dispatcher.ResponseData;
  try {
    res = await ctx.pools.get(handle.instance).request({
      path: String(out[':path']),
      method: String(out[':method']) as Dispatcher.HttpMethod,
      headers: flat,
      body: stream.endAfterHeaders ? null : stream,
      headersTimeout: route.timeout ?? 10_000,
      bodyTimeout: route.timeout ?? 10_000,
    });
  } catch {
    handle.report(false, performance.now() - t0);
    ctx.metrics.service(route.service).connectErrors++;
    fail(stream, false, 502, `upstream ${route.service} failed`);
    return 502;
  }
  const headers = downstreamResponseHeaders(res.headers) as OutgoingHttpHeaders;
  if (stream.destroyed) {
    handle.cancel();
    res.body.destroy();
    return 0;
  }
  stream.respond({ ...headers, ':status': res.statusCode });
  res.body.pipe(stream);
  res.body.once('end', () => handle.report(res.statusCode < 500, performance.now() - t0));
  res.body.once('error', () => handle.report(false, performance.now() - t0));
  return res.statusCode;
}
