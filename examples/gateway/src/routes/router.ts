import type { GatewayRoutes, RouteConfig } from './route-config.js';

/** A compiled route table: most specific host first, then longest path prefix. */
export class Router {
  readonly #routes: readonly RouteConfig[];

  constructor(table: GatewayRoutes) {
    const rank = (r: RouteConfig) => (r.host === undefined ? 0 : r.host.startsWith('*.') ? 1 : 2);
    this.#routes = [...table.routes].sort(
      (a, b) => rank(b) - rank(a) || (b.pathPrefix?.length ?? 1) - (a.pathPrefix?.length ?? 1),
    );
  }

  get routes(): readonly RouteConfig[] {
    return this.#routes;
  }

  /** `host` without port, lower case; `path` the request target (query included). */
  match(host: string | undefined, path: string): RouteConfig | undefined {
    for (const r of this.#routes) {
      if (r.host !== undefined) {
        if (host === undefined) continue;
        if (r.host.startsWith('*.') ? !host.endsWith(r.host.slice(1)) : host !== r.host) continue;
      }
      const prefix = r.pathPrefix ?? '/';
      if (prefix === '/') return r;
      if (!path.startsWith(prefix)) continue;
      const next = path.charCodeAt(prefix.length);
      // Segment boundary: "/api" matches "/api", "/api/x", "/api?q" but not "/apix".
      if (Number.isNaN(next) || next === 47 || next === 63) return r;
    }
    return undefined;
  }
}

/** The path to forward: the prefix removed when the route says so. */
export function upstreamPath(route: RouteConfig, path: string): string {
  if (!route.stripPrefix || route.pathPrefix === '/' || route.pathPrefix === undefined) return path;
  const rest = path.slice(route.pathPrefix.length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Host header without the port, lower case. */
export function hostOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const h = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':', 1)[0]!;
  return h.toLowerCase();
}
