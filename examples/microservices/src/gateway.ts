import {
  type ClientDiscoveryEvent,
  createDiscoveryClient,
  createMemoryRulesSource,
  type ServiceInstance,
} from '@switchyard/core';
import { createBalancedFetch, createBalancer, leastRequestPicker } from '@switchyard/loadbalancer';
import type { Clients } from './cluster.js';

/**
 * The gateway follows the orders instances through a discovery client: a local, watch-driven
 * cache over the registry, with operator traffic rules applied live. One rules source, two
 * consumers: the discovery client applies its pull-outs (the one place they are applied), the
 * balancer its routes (groups, canaries); a pull-out reaches the balancer as one discovery event.
 */
export function startGateway(clients: Clients, log: (line: string) => void) {
  const rules = createMemoryRulesSource();
  const discovery = createDiscoveryClient({ backend: clients.discovery, rules, resyncInterval: 5_000 });
  // Requests to http://orders/... go to a picked instance: least-request P2C, zone-aware,
  // with breakers, a retry budget and per-try timeouts.
  const balancer = createBalancer({
    discovery,
    service: 'orders',
    picker: leastRequestPicker(),
    locality: { zone: 'zone-a' },
    rules,
  });
  const fetch = createBalancedFetch({ balancers: [balancer], perTryTimeout: 2_000 });
  let planRebuilds = 0;
  balancer.on('balancer:instances-changed', () => planRebuilds++);
  const ac = new AbortController();
  let current: readonly ServiceInstance[] = [];
  const events: ClientDiscoveryEvent[] = [];
  const names = (list: readonly ServiceInstance[]) => list.map((i) => `${i.id}@${i.zone}`).join(', ') || '-';
  const done = (async () => {
    for await (const event of discovery.watch('orders', { signal: ac.signal })) {
      events.push(event);
      current = event.snapshot.instances;
      log(
        `  gateway: ${event.reason}/${event.source} v${event.snapshot.revision}: ` +
          `+[${names(event.diff.added)}] -[${names(event.diff.removed)}] ~[${names(event.diff.updated)}]`,
      );
    }
  })();
  return {
    discovery,
    balancer,
    fetch,
    rules,
    instances: () => current,
    /** How many times the balancer rebuilt its routing plan so far. */
    planRebuilds: () => planRebuilds,
    events,
    async stop() {
      ac.abort();
      await done;
      await balancer.close();
      await discovery.close();
    },
  };
}
