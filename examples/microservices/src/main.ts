import { runDemo } from './demo.js';

const started = performance.now();
const result = await runDemo((line) => console.log(line));
console.log('\nsummary');
console.log(
  `  instances discovered: ${result.instancesSeen}, after one shut down: ${result.instancesAfterShutdown}`,
);
console.log(`  billing fencing tokens (in entry order): ${result.billingTokens.join(', ')}`);
console.log(`  stale holder's write refused by the fenced ledger: ${result.staleWriteRefused}`);
console.log(`  cache hit: ${result.cacheHit}`);
console.log(`demo finished in ${Math.round(performance.now() - started)} ms`);
