import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type GatewayRoutes, parseRoutes, routeSourceError } from './route-config.js';
import { RouteBroadcast, type RouteSource } from './route-source.js';

export interface JsonFileRouteSourceOptions {
  path: string;
  /** Debounce for bursts of file events, ms. Default 50. */
  debounce?: number;
  /** A reload that failed (unreadable or invalid file): the previous table stays in force. */
  onError?: (error: unknown) => void;
}

/**
 * Routes from a JSON file, reloaded live when the file changes (watching its directory, so editors
 * that write a new file and rename it are seen). An invalid edit is reported and ignored.
 */
export function createJsonFileRouteSource(options: JsonFileRouteSourceOptions): RouteSource {
  const { path } = options;
  const debounce = options.debounce ?? 50;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw routeSourceError(`cannot read routes file ${path}`, cause);
  }
  const broadcast = new RouteBroadcast(parseRoutes(JSON.parse(text)));
  let last = text;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const reload = async (): Promise<void> => {
    timer = undefined;
    try {
      const next = await readFile(path, 'utf8');
      if (closed || next === last) return;
      const routes: GatewayRoutes = parseRoutes(JSON.parse(next));
      last = next;
      broadcast.publish(routes);
    } catch (error) {
      if (!closed) options.onError?.(error);
    }
  };
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    if (closed || (file !== null && file !== basename(path))) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounce);
  });
  watcher.on('error', (error) => options.onError?.(error));
  return {
    current: () => broadcast.routes,
    subscribe: (l) => broadcast.subscribe(l),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
      broadcast.clear();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
