import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PickContext } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import type { Balancer } from '@switchyard/loadbalancer';
import type { Dispatcher } from 'undici';
import type { GeoLocator } from '../geo/geo-locator.js';
import type { GatewayMetrics } from '../ops/metrics.js';
import type { RouteConfig } from '../routes/route-config.js';
import { hostOf, type Router, upstreamPath } from '../routes/router.js';
import type { StickySessions } from '../sticky/sticky-sessions.js';
import type { UpstreamHandle, UserPods } from '../sticky/user-pods.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import { forwardToH2 } from './h1-to-h2.js';
import type { H2Sessions } from './h2-sessions.js';
import { dispatchUpstream } from './relay-handler.js';
import type { UpstreamPools } from './upstream-pools.js';

export interface ProxyContext {
  /** GeoIP → caller locality for the balancer's zone/region tiers (optional). */
  readonly geo: GeoLocator | undefined;
  router(): Router;
  balancerFor(route: RouteConfig): Balancer;
  readonly pools: UpstreamPools;
  /** HTTP/2 sessions to `h2c` upstreams. */
  readonly h2: H2Sessions;
  readonly sticky: StickySessions;
  readonly userPods: UserPods;
  readonly metrics: GatewayMetrics;
  clientIp(req: IncomingMessage): string | undefined;
  readonly draining: boolean;
  /** In-flight bookkeeping for graceful drain. */
  begin(): void;
  end(): void;
}

/** The pick context every protocol starts from: caller IP (canary rules) and, with GeoIP, its locality. */
export function basePickContext(ctx: ProxyContext, clientIp: string | undefined): PickContext {
  const context: PickContext = clientIp === undefined ? {} : { callerIp: clientIp };
  const loc = ctx.geo?.locate(clientIp);
  if (loc?.zone !== undefined) context.zone = loc.zone;
  if (loc?.region !== undefined) context.region = loc.region;
  return context;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_RETRIES = 2;

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  return String(e?.code ?? e?.cause?.code ?? 'UNKNOWN');
}

/** Nothing reached the upstream: safe to retry any method. */
function neverSent(code: string): boolean {
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH'
  );
}

function avoidAlso(tried: Set<string> | undefined, id: string): Set<string> {
  const set = tried ?? new Set<string>();
  set.add(id);
  return set;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(message),
  });
  res.end(message);
}

/** The HTTP/1.1 proxy: route, pick, forward over a keep-alive pool, retry within the budget. */
export function createHttpHandler(ctx: ProxyContext) {
  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const url = req.url ?? '/';
    const route = ctx.router().match(hostOf(req.headers.host), url);
    if (!route) {
      sendError(res, 404, 'no route\n');
      return;
    }
    ctx.begin();
    ctx.metrics.inFlight++;
    const rm = ctx.metrics.route(route.name);
    let finished = false;
    const finish = (status: number) => {
      if (finished) return;
      finished = true;
      ctx.metrics.inFlight--;
      rm.byClass[status >= 100 && status < 600 ? (status / 100) | 0 : 0]!++;
      rm.latency.observe((performance.now() - started) / 1000);
      ctx.end();
    };
    res.once('close', () => finish(res.writableFinished ? res.statusCode : 0));
    void forward(ctx, req, res, route, url).catch((error) => {
      sendError(res, 500, `gateway error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  };
}

async function forward(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteConfig,
  url: string,
): Promise<void> {
  const balancer = ctx.balancerFor(route);
  const sm = ctx.metrics.service(route.service);
  const clientIp = ctx.clientIp(req);
  const context = basePickContext(ctx, clientIp);
  let setCookie: string | undefined;
  if (route.sticky) {
    const k = ctx.sticky.keyFor(route.name, route.sticky, req.headers, clientIp);
    if (k) {
      context.key = k.key;
      setCookie = k.setCookie;
    }
  } else if (route.hashHeader) {
    const v = req.headers[route.hashHeader];
    if (typeof v === 'string') context.key = v;
  }
  const linked =
    route.sticky?.by === 'user' ? await ctx.userPods.handleFor(route, req.headers, balancer) : undefined;
  const body = hasBody(req);
  const method = req.method ?? 'GET';
  const retryable = !body && IDEMPOTENT.has(method);
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { clientIp, proto: 'http' });
  const path = upstreamPath(route, url);
  const timeout = route.timeout ?? DEFAULT_TIMEOUT;
  const maxRetries = route.retries ?? DEFAULT_RETRIES;
  const doneRequest = balancer.retryBudget?.onRequest();
  let tried: Set<string> | undefined;
  let releaseRetry: (() => void) | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      let handle: UpstreamHandle;
      try {
        handle = attempt === 0 && linked ? linked : balancer.pick(context, tried);
      } catch (error) {
        if (
          isSwitchyardError(error) &&
          (error.code === 'NO_AVAILABLE_INSTANCE' || error.code === 'CIRCUIT_OPEN')
        ) {
          sm.noInstance++;
          sendError(res, 503, `no available instance of ${route.service}\n`);
          return;
        }
        throw error;
      }
      if (route.protocol === 'h2c') {
        if (await forwardToH2(ctx.h2, req, res, handle, path, clientIp, setCookie)) return;
        sm.connectErrors++;
        // The session never opened: nothing (not even a body byte) was sent, so any request may retry.
        if (attempt < maxRetries && retry()) {
          tried = avoidAlso(tried, handle.instance.id);
          continue;
        }
        sendError(res, 502, `upstream ${route.service} unreachable\n`);
        return;
      }
      const outcome = await dispatchUpstream(
        ctx.pools.get(handle.instance),
        {
          path,
          method: method as Dispatcher.HttpMethod,
          headers,
          body: body ? req : null,
          headersTimeout: timeout,
          bodyTimeout: timeout,
        },
        {
          res,
          handle,
          setCookie,
          closeConnection: ctx.draining,
          retryStatus: () => retryable && attempt < maxRetries && retry(),
        },
      );
      if (outcome.kind === 'relayed') return;
      if (outcome.kind === 'retry') {
        tried = avoidAlso(tried, handle.instance.id);
        continue;
      }
      const code = errorCode(outcome.error);
      if (code === 'UND_ERR_HEADERS_TIMEOUT') sm.timeouts++;
      else sm.connectErrors++;
      if (res.destroyed) return;
      const canRetry = !body && (retryable || neverSent(code));
      if (canRetry && attempt < maxRetries && retry()) {
        tried = avoidAlso(tried, handle.instance.id);
        continue;
      }
      sendError(
        res,
        code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502,
        `upstream ${route.service} failed: ${code}\n`,
      );
      return;
    }
  } finally {
    releaseRetry?.();
    doneRequest?.();
  }

  function retry(): boolean {
    const release = balancer.retryBudget ? balancer.retryBudget.tryRetry() : () => {};
    if (!release) {
      sm.retryBudgetExhausted++;
      return false;
    }
    releaseRetry?.();
    releaseRetry = release;
    sm.retries++;
    return true;
  }
}
