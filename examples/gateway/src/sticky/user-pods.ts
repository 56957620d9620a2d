import type { IncomingHttpHeaders } from 'node:http';
import type { Balancer, PickHandle } from '@switchyard/loadbalancer';
import type { RouteClient } from '@switchyard/stateful-route';
import type { RouteConfig } from '../routes/route-config.js';

/** What the proxies need from a pick: the instance and a one-shot outcome report. */
export type UpstreamHandle = Pick<PickHandle, 'instance' | 'report' | 'cancel'>;

/** How sticky-by-user requests were served (also on /metrics). */
export interface UserPodStats {
  /** Sent to the pod stateful-route linked the user to. */
  linked: number;
  /** Balanced instead: no user id, no link (lookup failed or no pod accepts users), or the pod is not routable. */
  fallback: number;
  /** Requests to a linked pod that failed (no connection or a 5xx): reported to stateful-route, which declares the pod dead only if its heartbeat is late. */
  failed: number;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' || s.length > 256 ? undefined : s;
}

/**
 * Sticky-by-user through `@switchyard/stateful-route`: for a route with `sticky: { by: 'user' }`
 * the route client names the user's pod (cached locally, or one store round trip that places a new
 * user on the best pod), and the request goes to that pod's instance when the balancer has it
 * routable. Anything else falls back to the balancer (sticky by the same header).
 */
export class UserPods {
  readonly #client: RouteClient | undefined;
  readonly stats: UserPodStats = { linked: 0, fallback: 0, failed: 0 };

  constructor(client: RouteClient | undefined) {
    this.#client = client;
  }

  /** The linked pod's handle, or undefined to balance. Never throws. */
  async handleFor(
    route: RouteConfig,
    headers: IncomingHttpHeaders,
    balancer: Balancer,
  ): Promise<UpstreamHandle | undefined> {
    const sticky = route.sticky;
    if (sticky?.by !== 'user') return undefined;
    const client = this.#client;
    const uid = headerValue(headers, sticky.header!);
    if (!client || uid === undefined) {
      this.stats.fallback++;
      return undefined;
    }
    let pod: string;
    try {
      pod = await client.computeLinkedPod(sticky.namespace!, uid, route.service);
    } catch {
      this.stats.fallback++;
      return undefined;
    }
    const instance = balancer.instances().find((i) => i.id === pod);
    if (!instance) {
      this.stats.fallback++;
      return undefined;
    }
    this.stats.linked++;
    const service = route.service;
    const stats = this.stats;
    return {
      instance,
      report(outcome) {
        const ok = typeof outcome === 'boolean' ? outcome : outcome.ok;
        if (ok) return;
        stats.failed++;
        // The lease is checked at once instead of waiting out its TTL; failures of that check are moot.
        client.reportUnreachable(service, pod).catch(() => {});
      },
      cancel() {},
    };
  }
}
