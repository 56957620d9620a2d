import type { DiscoveryEvent, ServiceInstance } from '@switchyard/core';
import { AsyncChannel, createMemoryDiscovery, diffInstances } from '@switchyard/core';
import type { WatchSource } from '../src/index.js';

/** A controllable WatchSource: `set(instances)` pushes a snapshot to every watcher. */
export function fakeDiscovery(initial: ServiceInstance[] = []) {
  let current = initial;
  let revision = 1;
  const channels = new Set<AsyncChannel<DiscoveryEvent>>();
  const source: WatchSource & { set(instances: ServiceInstance[]): void; watchers(): number } = {
    watch(service, options) {
      const ch = new AsyncChannel<DiscoveryEvent>({ onReturn: () => channels.delete(ch) });
      channels.add(ch);
      ch.push({
        snapshot: { service, instances: current, revision },
        diff: diffInstances([], current),
        reason: 'initial',
        stale: false,
      });
      options?.signal?.addEventListener('abort', () => {
        channels.delete(ch);
        ch.close();
      });
      return ch;
    },
    set(instances) {
      const diff = diffInstances(current, instances);
      current = instances;
      revision++;
      for (const ch of channels)
        ch.push({ snapshot: { service: 'svc', instances, revision }, diff, reason: 'change', stale: false });
    },
    watchers: () => channels.size,
  };
  return source;
}

export const tick = () => new Promise<void>((r) => setImmediate(r));

/** A real in-memory discovery backend holding `instances` (registered, passing). */
export async function memoryBackend(instances: ServiceInstance[]) {
  const backend = createMemoryDiscovery();
  for (const i of instances) {
    await backend.register({
      id: i.id,
      service: i.service,
      address: i.address,
      port: i.port,
      tags: i.tags,
      metadata: i.metadata,
      weight: i.weight,
      ...(i.zone !== undefined ? { zone: i.zone } : {}),
    });
  }
  return backend;
}
