import type { ConsoleRoute, HttpMethod } from '../console-module.js';

interface Compiled {
  route: ConsoleRoute;
  regex: RegExp;
  names: string[];
}

export interface RouteMatch {
  route: ConsoleRoute;
  params: Record<string, string>;
}

/** Matches `METHOD /path` against route patterns with `:name` segments (one segment each). */
export class Router {
  readonly #routes: Compiled[] = [];

  add(route: ConsoleRoute): void {
    const names: string[] = [];
    const source = route.pattern
      .split('/')
      .map((part) => {
        if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(part.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.#routes.push({ route, regex: new RegExp(`^${source}$`), names });
  }

  /** The route for a request; `'method'` when the path exists under another method. */
  match(method: HttpMethod | string, path: string): RouteMatch | 'method' | undefined {
    let other = false;
    for (const c of this.#routes) {
      const m = c.regex.exec(path);
      if (!m) continue;
      if (c.route.method !== method) {
        other = true;
        continue;
      }
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] as string);
      });
      return { route: c.route, params };
    }
    return other ? 'method' : undefined;
  }
}
