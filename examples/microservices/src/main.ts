import { runDemo } from './demo.js';
import { k8sBackendRequested, startK8sDemoDiscovery } from './k8s-discovery.js';

const started = performance.now();
const discovery = k8sBackendRequested() ? await startK8sDemoDiscovery() : undefined;
if (discovery) console.log(`discovery: ${discovery.description}`);
const result = await runDemo((line) => console.log(line), { discovery });
console.log('\nsummary');
console.log(
  `  instances discovered: ${result.instancesSeen}, after one shut down: ${result.instancesAfterShutdown}`,
);
console.log(`  billing fencing tokens (in entry order): ${result.billingTokens.join(', ')}`);
console.log(`  stale holder's write refused by the fenced ledger: ${result.staleWriteRefused}`);
console.log(`  cache hit: ${result.cacheHit}`);
console.log(`demo finished in ${Math.round(performance.now() - started)} ms`);
