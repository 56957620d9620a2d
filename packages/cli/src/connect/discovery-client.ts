import type { DiscoveryBackend } from '@switchyard/core';
import { type BackendName, chooseBackend } from './backend-choice.js';
import {
  etcdClientOptions,
  etcdHosts,
  redisOptions,
  redisUrl,
  requestTimeout,
  tlsFiles,
} from './connection-settings.js';
import type { GlobalOptions } from './global-options.js';

export const DISCOVERY_BACKENDS: readonly BackendName[] = ['etcd', 'consul', 'redis', 'k8s', 'memory'];

/** A discovery backend of the chosen kind, made by the package's own factory from the flags. */
export async function openDiscovery(
  o: GlobalOptions,
): Promise<{ discovery: DiscoveryBackend; backend: BackendName }> {
  const backend = chooseBackend(o, DISCOVERY_BACKENDS, 'discovery');
  const prefix = o.prefix !== undefined ? { prefix: o.prefix } : {};
  const timeout = requestTimeout(o);
  switch (backend) {
    case 'etcd': {
      // Backends load on first use: a command pays only for the client it talks to.
      const { createEtcdDiscovery } = await import('@switchyard/discovery-etcd');
      return {
        backend,
        discovery: createEtcdDiscovery({
          hosts: etcdHosts(o),
          clientOptions: etcdClientOptions(o),
          requestTimeout: timeout,
          ...prefix,
        }),
      };
    }
    case 'redis': {
      const { createRedisDiscovery } = await import('@switchyard/discovery-redis');
      return {
        backend,
        discovery: createRedisDiscovery({
          url: redisUrl(o),
          redisOptions: redisOptions(o),
          requestTimeout: timeout,
          ...prefix,
        }),
      };
    }
    case 'consul': {
      const { createConsulDiscovery } = await import('@switchyard/discovery-consul');
      const tls = tlsFiles(o);
      return {
        backend,
        discovery: createConsulDiscovery({
          url: o.consul ?? 'http://127.0.0.1:8500',
          requestTimeout: timeout,
          ...(o.consulToken !== undefined ? { token: o.consulToken } : {}),
          ...(tls ? { tls } : {}),
        }),
      };
    }
    case 'k8s': {
      const { createK8sDiscovery } = await import('@switchyard/discovery-k8s');
      return {
        backend,
        discovery: createK8sDiscovery({
          requestTimeout: timeout,
          ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
          ...(o.k8sNamespace !== undefined ? { namespace: o.k8sNamespace } : {}),
        }),
      };
    }
    case 'memory': {
      const { createMemoryDiscovery } = await import('@switchyard/core');
      return { backend, discovery: createMemoryDiscovery() };
    }
  }
}
