import type { ConsoleServerOptions } from '@switchyard/console';
import type { Resources } from '../command-runner.js';
import { usageError } from '../exit-codes.js';
import { type BackendName, chooseBackend } from './backend-choice.js';
import { openCache } from './cache-client.js';
import { openConfigAdmin } from './config-client.js';
import { redisOptions, redisUrl, requestTimeout } from './connection-settings.js';
import { DISCOVERY_BACKENDS, openDiscovery } from './discovery-client.js';
import type { GlobalOptions } from './global-options.js';
import { openLock } from './lock-client.js';

export const CONSOLE_PAGES = ['services', 'locks', 'routes', 'config', 'cache'] as const;
export type ConsolePage = (typeof CONSOLE_PAGES)[number];

export interface ConsolePageFlags {
  /** Comma-separated pages (default: every page this backend and these flags allow). */
  pages?: string;
  /** Config page: the application id (`--app`, as `switchyard config`). */
  app?: string;
  /** Cache page: the application's cache name (`--cache`, as `switchyard cache`). */
  cache?: string;
}

/** Why a page cannot run here, or `undefined` when it can. */
function unavailable(page: ConsolePage, backend: BackendName, o: ConsolePageFlags): string | undefined {
  const on = (list: readonly BackendName[]) =>
    list.includes(backend) ? undefined : `${page} runs on ${list.join(', ')} (not ${backend})`;
  switch (page) {
    case 'services':
      return on(DISCOVERY_BACKENDS);
    case 'locks':
      return on(['redis', 'etcd', 'memory']);
    case 'routes':
      return on(['redis', 'memory']);
    case 'config':
      return on(['redis', 'etcd', 'memory']) ?? (o.app === undefined ? 'config needs --app' : undefined);
    case 'cache':
      return (
        on(['redis', 'etcd', 'memory']) ?? (o.cache === undefined ? 'cache needs --cache NAME' : undefined)
      );
  }
}

function pagesOf(backend: BackendName, o: ConsolePageFlags): ConsolePage[] {
  if (o.pages === undefined) return CONSOLE_PAGES.filter((p) => unavailable(p, backend, o) === undefined);
  const asked = o.pages
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (asked.length === 0) throw usageError('--pages', `list one or more of ${CONSOLE_PAGES.join(', ')}`);
  for (const p of asked) {
    if (!(CONSOLE_PAGES as readonly string[]).includes(p)) {
      throw usageError('--pages', `unknown page ${JSON.stringify(p)} (${CONSOLE_PAGES.join(', ')})`);
    }
    const why = unavailable(p as ConsolePage, backend, o);
    if (why) throw usageError('--pages', why);
  }
  return [...new Set(asked)] as ConsolePage[];
}

/**
 * The backends the console's pages drive, opened with the same flags and the same factories as the
 * other commands (`discovery`, `locks`, `routes`, `config`, `cache`), so the console sees exactly
 * what they see. Everything opened is closed with the command's resources.
 */
export async function openConsoleBackends(
  o: GlobalOptions & ConsolePageFlags,
  res: Resources,
): Promise<{ backend: BackendName; pages: ConsolePage[]; options: Partial<ConsoleServerOptions> }> {
  const backend = chooseBackend(o, DISCOVERY_BACKENDS, 'console');
  const pages = pagesOf(backend, o);
  const one = { ...o, backend };
  const options: Partial<ConsoleServerOptions> = {};
  if (pages.includes('services')) {
    const { discovery } = await openDiscovery(one);
    options.discovery = res.add(discovery);
    if (backend === 'memory') {
      // The demo: registry and rules both live in this process, so pull-outs mean something here.
      // On a shared backend a process-local rules source would mislead: pull-outs stay off.
      const { createMemoryRulesSource } = await import('@switchyard/core');
      options.rules = createMemoryRulesSource();
    }
  }
  if (pages.includes('locks')) {
    const mutex = res.add((await openLock(one, 'mutex')).lock);
    // Redis has two lock key spaces (mutex and semaphore): one page tab each.
    options.locks =
      backend === 'redis' ? { mutex, semaphore: res.add((await openLock(one, 'semaphore')).lock) } : mutex;
  }
  if (pages.includes('routes')) {
    const sr = await import('@switchyard/stateful-route');
    options.routes = res.add(
      backend === 'redis'
        ? sr.createRedisRouteStore({
            url: redisUrl(o),
            redisOptions: redisOptions(o),
            requestTimeout: requestTimeout(o),
            ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          })
        : sr.createMemoryRouteStore(),
    );
  }
  if (pages.includes('config')) {
    options.config = await openConfigAdmin(one, o.app!, res, ['redis', 'etcd', 'memory']);
  }
  if (pages.includes('cache')) {
    if (backend === 'memory') {
      const { createCache } = await import('@switchyard/cache');
      options.cache = res.add(createCache({ name: o.cache! }));
    } else {
      options.cache = (await openCache(one, { name: o.cache!, bus: true }, res)).cache;
    }
  }
  return { backend, pages, options };
}
