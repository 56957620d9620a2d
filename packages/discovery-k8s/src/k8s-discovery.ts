import { type DiscoveryCapabilities, fullJitterBackoff, SwitchyardError } from '@switchyard/core';
import { DEFAULT_TTL, defineDiscoveryBackend, type KitDiscoveryBackend } from '@switchyard/core/driver';
import { type K8sDiscoveryOptions, PKG, parseK8sOptions } from './options.js';
import { type ScopeStats, ScopeWatch } from './scope-watch.js';
import { parseServiceName, serviceNameOf } from './service-name.js';

/** A discovery backend on Kubernetes EndpointSlices (read-only: `register` rejects with `UNSUPPORTED`). */
export interface K8sDiscovery extends KitDiscoveryBackend<never, Record<string, never>> {
  /** The namespace of bare service names. */
  readonly namespace: string;
  /** Counters of every shared watch running now (one per namespace, or one for all namespaces). */
  cacheStats(): ScopeStats[];
}

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'seconds',
  healthUpdates: false,
  register: false,
});

/**
 * Discovery on `discovery.k8s.io/v1` EndpointSlices. Service names are `name` (in `namespace`) or
 * `name.namespace`. Every read and watch is served from one shared list+watch per namespace (or
 * one for all namespaces), a port of client-go's reflector that never stops while the client is
 * open: resume from the last version, relist on 410 Gone with the exact diff, bookmarks, backoff,
 * and a watchdog on silent streams.
 */
export function createK8sDiscovery(options: K8sDiscoveryOptions = {}): K8sDiscovery {
  const o = parseK8sOptions(options);
  const scopes = new Map<string, ScopeWatch>();
  const sequence = { value: 0 };
  const settings = {
    pkg: PKG,
    kubeConfig: o.kubeConfig,
    clock: o.clock,
    backoff: o.backoff,
    pageSize: o.pageSize,
    quietTimeout: o.quietTimeout,
    resyncInterval: o.resyncInterval,
    requestTimeout: o.requestTimeout,
    watchTimeout: o.watchTimeout,
    idleTimeout: o.idleTimeout,
    labelSelector: o.labelSelector,
    fieldSelector: o.fieldSelector,
    serviceFilter: o.serviceFilter
      ? { labelSelector: o.serviceFilter.labelSelector, annotations: o.serviceFilter.annotations }
      : undefined,
    mapping: { portName: o.portName, draining: o.draining, addressTypes: o.addressTypes, region: o.region },
    nameOf: (namespace: string, name: string) => serviceNameOf(namespace, name, o.namespace),
    sequence,
  };
  let closed = false;

  function scopeFor(namespace: string): ScopeWatch {
    const key = o.allNamespaces ? '*' : namespace;
    let scope = scopes.get(key);
    if (!scope || scope.stopped) {
      if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] the kubernetes discovery client is closed`);
      const created: ScopeWatch = new ScopeWatch(o.allNamespaces ? undefined : namespace, settings, () => {
        if (scopes.get(key) === created) scopes.delete(key);
      });
      scopes.set(key, created);
      scope = created;
    }
    return scope;
  }

  const backend = defineDiscoveryBackend<never, Record<string, never>>(
    {
      name: 'kubernetes',
      capabilities: CAPABILITIES,
      async list(service, signal) {
        const ref = parseServiceName(PKG, service, o.namespace);
        const scope = scopeFor(ref.namespace);
        await scope.ready(signal);
        return scope.listing(ref.key);
      },
      watch(service, from, signal) {
        const ref = parseServiceName(PKG, service, o.namespace);
        return scopeFor(ref.namespace).subscribe(ref.key, from, signal);
      },
      async services(signal) {
        const scope = scopeFor(o.namespace);
        await scope.ready(signal);
        return scope.serviceKeys().map((key) => {
          const [namespace = '', name = ''] = key.split('/');
          return serviceNameOf(namespace, name, o.namespace);
        });
      },
      async close() {
        closed = true;
        await Promise.all([...scopes.values()].map((s) => s.stop()));
        scopes.clear();
      },
    },
    {
      pkg: PKG,
      clock: o.clock,
      // Paces the kit's re-subscriptions to the shared cache (local, cheap); API calls back off in the reflector.
      backoff: fullJitterBackoff({ base: 20, max: 1_000 }),
      requestTimeout: o.syncTimeout,
      ttl: DEFAULT_TTL.registration,
    },
  );
  return Object.assign(backend, {
    namespace: o.namespace,
    cacheStats: () => [...scopes.values()].map((s) => s.stats),
  });
}
