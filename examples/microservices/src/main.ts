import { startConsoleDemo } from './console-demo.js';
import { runDemo } from './demo.js';
import { k8sBackendRequested, startK8sDemoDiscovery } from './k8s-discovery.js';
import { startMetricsEndpoint } from './metrics-endpoint.js';
import { realServersRequested, startRealServers } from './real-servers.js';

const started = performance.now();
const metrics = process.argv.includes('--metrics') ? await startMetricsEndpoint() : undefined;
if (metrics) console.log(`metrics: ${metrics.url}`);
const real = realServersRequested() ? await startRealServers() : undefined;
if (real) console.log(`real servers: ${real.description}`);
const discovery = k8sBackendRequested() ? await startK8sDemoDiscovery() : real?.discovery;
if (discovery) console.log(`discovery: ${discovery.description}`);
const result = await runDemo((line) => console.log(line), {
  discovery,
  ...(real ? { locks: real.locks } : {}),
}).finally(() => real?.close());
console.log('\nsummary');
console.log(
  `  instances discovered: ${result.instancesSeen}, after one shut down: ${result.instancesAfterShutdown}`,
);
console.log(`  billing fencing tokens (in entry order): ${result.billingTokens.join(', ')}`);
console.log(`  stale holder's write refused by the fenced ledger: ${result.staleWriteRefused}`);
console.log(`  cache hit: ${result.cacheHit}`);
console.log(`demo finished in ${Math.round(performance.now() - started)} ms`);
if (metrics) {
  const text = await (await fetch(metrics.url)).text();
  console.log('\nmetrics (final scrape, lock and balancer series):');
  for (const line of text.split('\n')) {
    if (/^switchyard_(lock_acquired|lock_lost|balancer_instances)/.test(line)) console.log(`  ${line}`);
  }
  await metrics.close();
}

if (process.argv.includes('--console')) {
  // After the scripted run: a live system on the embedded backends with the operator console.
  const port = Number(process.env.SWITCHYARD_CONSOLE_PORT ?? 7420);
  const live = await startConsoleDemo(port);
  console.log('\nconsole (read-write, loopback only; every action asks for a confirmation and is audited):');
  console.log(`  open ${live.loginUrl}`);
  console.log(`  pages: ${live.server.pages.join(', ')}. Ctrl-C stops it.`);
  const stop = async () => {
    await live.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
