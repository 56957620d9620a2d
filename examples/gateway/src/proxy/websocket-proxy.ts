import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServiceInstance } from '@switchyard/core';
import { hostOf, upstreamPath } from '../routes/router.js';
import type { UpstreamHandle } from '../sticky/user-pods.js';
import { upstreamRequestHeaders } from './forward-headers.js';
import { basePickContext, type ProxyContext } from './http-proxy.js';

const CONNECT_TIMEOUT = 5_000;

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

function dial(instance: ServiceInstance): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: instance.address, port: instance.port, noDelay: true });
    const t = setTimeout(() => s.destroy(new Error('connect timeout')), CONNECT_TIMEOUT);
    s.once('connect', () => {
      clearTimeout(t);
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * WebSocket (and any HTTP/1.1 Upgrade) proxying by raw piping: route, pick (sticky keys apply),
 * dial the instance (a failed dial is reported to the breaker and retried on another instance),
 * replay the upgrade request with forwarding headers, then splice the two sockets.
 */
export function createUpgradeHandler(ctx: ProxyContext, sockets: Set<Duplex>) {
  return async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (ctx.draining) return reject(socket, 503, 'Service Unavailable');
    const url = req.url ?? '/';
    const route = ctx.router().match(hostOf(req.headers.host), url);
    if (!route) return reject(socket, 404, 'Not Found');
    const balancer = ctx.balancerFor(route);
    const clientIp = ctx.clientIp(req);
    const context = basePickContext(ctx, clientIp);
    if (route.sticky) {
      const k = ctx.sticky.keyFor(route.name, route.sticky, req.headers, clientIp);
      if (k) context.key = k.key;
    }
    const linked =
      route.sticky?.by === 'user' ? await ctx.userPods.handleFor(route, req.headers, balancer) : undefined;
    const tried = new Set<string>();
    let upstream: Socket | undefined;
    let handle: UpstreamHandle | undefined;
    for (let attempt = 0; attempt <= (route.retries ?? 2) && !upstream; attempt++) {
      try {
        handle = attempt === 0 && linked ? linked : balancer.pick(context, tried);
      } catch {
        return reject(socket, 503, 'Service Unavailable');
      }
      tried.add(handle.instance.id);
      const t0 = performance.now();
      try {
        upstream = await dial(handle.instance);
      } catch {
        handle.report(false, performance.now() - t0);
        ctx.metrics.service(route.service).connectErrors++;
      }
    }
    if (!upstream || !handle) return reject(socket, 502, 'Bad Gateway');
    if (socket.destroyed) {
      handle.cancel();
      upstream.destroy();
      return;
    }
    const h = handle;
    // Keep Upgrade/Connection (the point of this request); replace hop-by-hop handling for the rest.
    const headers = upstreamRequestHeaders(req.rawHeaders, undefined, { clientIp, proto: 'http' });
    const lines = [`${req.method} ${upstreamPath(route, url)} HTTP/1.1`];
    for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
    lines.push(`Connection: Upgrade`, `Upgrade: ${req.headers.upgrade ?? 'websocket'}`, '', '');
    upstream.write(lines.join('\r\n'));
    if (head.length) upstream.write(head);
    ctx.metrics.websockets++;
    sockets.add(socket);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      ctx.metrics.websockets--;
      sockets.delete(socket);
      h.report(ok);
      socket.destroy();
      upstream.destroy();
    };
    upstream.on('error', () => finish(false));
    upstream.on('close', () => finish(true));
    socket.on('close', () => finish(true));
    upstream.pipe(socket);
    socket.pipe(upstream);
  };
}
