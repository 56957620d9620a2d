// The discovery client is itself a DiscoveryBackend: it must pass the same conformance suite as the
// backends it wraps. (testkit depends on core, so the suite is imported from its source directly.)
import { runDiscoveryConformance } from '../../testkit/src/conformance/discovery.js';
import { createDiscoveryClient, createMemoryDiscovery, MemoryDiscoveryStore } from '../src/index.js';
import { faulty } from './discovery-client-fixtures.js';

runDiscoveryConformance({
  name: 'discovery client over memory (with an injected outage)',
  async create() {
    const store = new MemoryDiscoveryStore();
    const backendA = createMemoryDiscovery({ store });
    const backendB = faulty(createMemoryDiscovery({ store }));
    const a = createDiscoveryClient({ backend: backendA });
    const b = createDiscoveryClient({ backend: backendB, backoff: { base: 20, max: 100 } });
    return {
      a,
      b,
      async interrupt() {
        backendB.failWatch = true;
        backendB.breakWatches();
        await new Promise((resolve) => setTimeout(resolve, 200));
        backendB.failWatch = false;
      },
      async cleanup() {
        await Promise.all([a.close(), b.close()]);
        await Promise.all([backendA.close(), backendB.close()]);
      },
    };
  },
});
