import type { ConfigAdmin } from '@switchyard/config-center';
import type { Resources } from '../command-runner.js';
import { type BackendName, chooseBackend } from './backend-choice.js';
import { etcdClientOptions, etcdHosts, redisUrl, requestTimeout } from './connection-settings.js';
import type { GlobalOptions } from './global-options.js';

export type ConfigBackend = Extract<BackendName, 'redis' | 'etcd' | 'memory'>;

/**
 * The config center's admin for application `app` over the chosen store (`memory` only where a
 * command allows it: the console's demo). The store is closed with the command's resources.
 */
export async function openConfigAdmin(
  o: GlobalOptions,
  app: string,
  res: Resources,
  backends: readonly ConfigBackend[] = ['redis', 'etcd'],
): Promise<ConfigAdmin> {
  const backend = chooseBackend(o, backends, 'config');
  const cc = await import('@switchyard/config-center');
  const prefix = o.prefix !== undefined ? { prefix: o.prefix } : {};
  const store =
    backend === 'redis'
      ? cc.createRedisConfigStore({ url: redisUrl(o), requestTimeout: requestTimeout(o), ...prefix })
      : backend === 'etcd'
        ? cc.createEtcdConfigStore({ hosts: etcdHosts(o), clientOptions: etcdClientOptions(o), ...prefix })
        : (await import('@switchyard/core')).createMemoryConfigStore();
  res.add(store);
  return cc.createConfigAdmin({ store, app });
}
