import type { Balancer } from '@switchyard/loadbalancer';
import type { UserPodStats } from '../sticky/user-pods.js';

/** Latency buckets, seconds (Prometheus convention), fine-grained below 1 ms for a proxy. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
  }
}

/** Per-route counters, held by reference so the hot path does no label formatting. */
export class RouteMetrics {
  readonly byClass = new Float64Array(6); // index = status / 100 (0: aborted by the client)
  readonly latency = new Histogram();
}

/** Per-service counters. */
export class ServiceMetrics {
  retries = 0;
  retryBudgetExhausted = 0;
  connectErrors = 0;
  timeouts = 0;
  noInstance = 0;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * A small Prometheus text-format exporter for the gateway (a shared `@switchyard/core/prometheus`
 * exporter is being built on another branch; this one is local to the example).
 */
export class GatewayMetrics {
  readonly #routes = new Map<string, RouteMetrics>();
  readonly #services = new Map<string, ServiceMetrics>();
  inFlight = 0;
  websockets = 0;

  route(name: string): RouteMetrics {
    let m = this.#routes.get(name);
    if (!m) {
      m = new RouteMetrics();
      this.#routes.set(name, m);
    }
    return m;
  }

  service(name: string): ServiceMetrics {
    let m = this.#services.get(name);
    if (!m) {
      m = new ServiceMetrics();
      this.#services.set(name, m);
    }
    return m;
  }

  render(
    balancers: Iterable<Balancer>,
    extra: { stickySessions: number; stickyExpired: number; userPods: UserPodStats },
  ): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('gateway_requests_total', 'counter', 'Requests by route and status class.');
    for (const [route, m] of this.#routes)
      m.byClass.forEach((n, i) => {
        if (n > 0)
          out.push(
            `gateway_requests_total{route="${esc(route)}",code="${i === 0 ? 'aborted' : `${i}xx`}"} ${n}`,
          );
      });
    family('gateway_request_duration_seconds', 'histogram', 'Time from request to response end, by route.');
    for (const [route, m] of this.#routes) {
      const r = esc(route);
      let acc = 0;
      BUCKETS.forEach((b, i) => {
        acc += m.latency.counts[i]!;
        out.push(`gateway_request_duration_seconds_bucket{route="${r}",le="${b}"} ${acc}`);
      });
      acc += m.latency.counts[BUCKETS.length]!;
      out.push(`gateway_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${acc}`);
      out.push(`gateway_request_duration_seconds_sum{route="${r}"} ${m.latency.sum}`);
      out.push(`gateway_request_duration_seconds_count{route="${r}"} ${acc}`);
    }
    const perService: [string, string, keyof ServiceMetrics][] = [
      ['gateway_retries_total', 'Retries on another instance.', 'retries'],
      [
        'gateway_retry_budget_exhausted_total',
        'Retries refused by the retry budget.',
        'retryBudgetExhausted',
      ],
      ['gateway_upstream_connect_errors_total', 'Upstream connection failures.', 'connectErrors'],
      ['gateway_upstream_timeouts_total', 'Upstream per-try timeouts.', 'timeouts'],
      ['gateway_no_instance_total', 'Requests with no available instance (503).', 'noInstance'],
    ];
    for (const [name, help, field] of perService) {
      family(name, 'counter', help);
      for (const [s, m] of this.#services) out.push(`${name}{service="${esc(s)}"} ${m[field]}`);
    }
    family(
      'gateway_upstream_endpoints',
      'gauge',
      'Endpoints by state (eligible, ejected, breaker_open, in_flight).',
    );
    for (const b of balancers) {
      const s = esc(b.service);
      let eligible = 0;
      let ejected = 0;
      let open = 0;
      let inFlight = 0;
      for (const e of b.stats()) {
        if (e.eligible) eligible++;
        if (e.ejected) ejected++;
        if (e.breaker === 'open') open++;
        inFlight += e.inFlight;
      }
      out.push(
        `gateway_upstream_endpoints{service="${s}",state="eligible"} ${eligible}`,
        `gateway_upstream_endpoints{service="${s}",state="ejected"} ${ejected}`,
        `gateway_upstream_endpoints{service="${s}",state="breaker_open"} ${open}`,
        `gateway_upstream_endpoints{service="${s}",state="in_flight"} ${inFlight}`,
      );
    }
    family('gateway_in_flight_requests', 'gauge', 'Requests being proxied now.');
    out.push(`gateway_in_flight_requests ${this.inFlight}`);
    family('gateway_websockets', 'gauge', 'Open proxied WebSocket connections.');
    out.push(`gateway_websockets ${this.websockets}`);
    family('gateway_sticky_sessions', 'gauge', 'Live sticky sessions.');
    out.push(`gateway_sticky_sessions ${extra.stickySessions}`);
    family('gateway_sticky_sessions_expired_total', 'counter', 'Sticky sessions that timed out.');
    out.push(`gateway_sticky_sessions_expired_total ${extra.stickyExpired}`);
    family(
      'gateway_user_pod_requests_total',
      'counter',
      'Sticky-by-user requests by outcome: linked pod, balancer fallback, failed on the linked pod.',
    );
    for (const [outcome, n] of Object.entries(extra.userPods))
      out.push(`gateway_user_pod_requests_total{outcome="${outcome}"} ${n}`);
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
    out.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    return `${out.join('\n')}\n`;
  }
}
