import type { DistributedLock, LockAdmin } from '@switchyard/core';
import { usageError } from '../exit-codes.js';
import { type BackendName, chooseBackend } from './backend-choice.js';
import {
  etcdClientOptions,
  etcdHosts,
  redisOptions,
  redisUrl,
  requestTimeout,
} from './connection-settings.js';
import type { GlobalOptions } from './global-options.js';

export type AdminLock = DistributedLock & LockAdmin;
export type LockBackend = Extract<BackendName, 'redis' | 'etcd' | 'memory'>;
export const LOCK_BACKENDS: readonly LockBackend[] = ['redis', 'etcd', 'memory'];
export const LOCK_KINDS = ['mutex', 'semaphore'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];

/**
 * An admin client of the lock space: the same factories an application uses, so the CLI reads
 * and frees exactly the keys the application writes (`--prefix` for a non-default prefix).
 */
export async function openLock(
  o: GlobalOptions,
  kind: LockKind = 'mutex',
): Promise<{ lock: AdminLock; backend: LockBackend }> {
  const backend = chooseBackend(o, LOCK_BACKENDS, 'locks');
  const prefix = o.prefix !== undefined ? { prefix: o.prefix } : {};
  const timeout = requestTimeout(o);
  switch (backend) {
    case 'redis': {
      // Backends load on first use: a command pays only for the client it talks to.
      const { createRedisLock, createRedisSemaphore } = await import('@switchyard/lock-redis');
      const common = { url: redisUrl(o), redisOptions: redisOptions(o), requestTimeout: timeout, ...prefix };
      // The permit count only matters to acquires; the admin calls read whatever holders exist.
      const lock =
        kind === 'semaphore' ? createRedisSemaphore({ ...common, permits: 1 }) : createRedisLock(common);
      return { lock, backend };
    }
    case 'etcd': {
      if (kind !== 'mutex') throw usageError('--kind', `${kind} is inspected on redis only (etcd: mutex)`);
      const { createEtcdLock } = await import('@switchyard/lock-etcd');
      const lock = createEtcdLock({
        hosts: etcdHosts(o),
        clientOptions: etcdClientOptions(o),
        requestTimeout: timeout,
        ...prefix,
      });
      return { lock, backend };
    }
    case 'memory': {
      const { createMemoryLock } = await import('@switchyard/core');
      return { lock: createMemoryLock(), backend };
    }
  }
}
