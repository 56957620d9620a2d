import type { DiscoveryEvent, ServiceInstance } from '@switchyard/core';
import type { Clients } from './cluster.js';

/** The gateway follows the orders instances through a discovery watch. */
export function watchOrders(clients: Clients, log: (line: string) => void) {
  const ac = new AbortController();
  let current: readonly ServiceInstance[] = [];
  const events: DiscoveryEvent[] = [];
  const done = (async () => {
    for await (const event of clients.discovery.watch('orders', { signal: ac.signal })) {
      events.push(event);
      current = event.snapshot.instances;
      const names = (list: readonly ServiceInstance[]) => list.map((i) => `${i.id}@${i.zone}`).join(', ') || '-';
      log(
        `  gateway: ${event.reason} rev ${event.snapshot.revision}: +[${names(event.diff.added)}] -[${names(event.diff.removed)}] ~[${names(event.diff.updated)}]`,
      );
    }
  })();
  return {
    instances: () => current,
    events,
    async stop() {
      ac.abort();
      await done;
    },
  };
}
