import { setTimeout as sleep } from 'node:timers/promises';
import type { DistributedLock, LockAdmin } from '@switchyard/core';
import { demonstrateStaleHolder, FencedLedger, runBillingWorkers } from './billing-job.js';
import { runCacheStep } from './cache-step.js';
import { createCluster } from './cluster.js';
import { startGateway } from './gateway.js';
import type { DemoDiscovery } from './k8s-discovery.js';
import { startOrdersService } from './orders-service.js';

export interface DemoResult {
  instancesSeen: number;
  instancesAfterShutdown: number;
  pulledOut: string[];
  /** Balancer plan rebuilds caused by the one pull-out (must be 1). */
  rebuildsPerPullOut: number;
  discountsApplied: number[];
  billingTokens: bigint[];
  staleWriteRefused: boolean;
  cacheHit: boolean;
  responses: string[];
  perInstance: Record<string, number>;
}

/** The scripted run: every step checks its outcome and throws if something is off. */
export async function runDemo(
  log: (line: string) => void = () => {},
  options: { discovery?: DemoDiscovery; locks?: () => DistributedLock & LockAdmin } = {},
): Promise<DemoResult> {
  const cluster = createCluster(undefined, options.discovery, options.locks);
  const gatewayClients = cluster.connect();
  const adminClients = cluster.connect();

  log('1. configuration: the operator publishes orders/discount = 5');
  await adminClients.config.put('orders/discount', '5', { author: 'ops', message: 'launch discount' });

  log('2. discovery: three orders instances start in two zones and register; the gateway watches');
  const gateway = startGateway(gatewayClients, log);
  const services = await Promise.all([
    startOrdersService(cluster.connect(), 'orders-1', 'zone-a', log),
    startOrdersService(cluster.connect(), 'orders-2', 'zone-a', log),
    startOrdersService(cluster.connect(), 'orders-3', 'zone-b', log),
  ]);
  await until(() => gateway.instances().length === 3, 'gateway sees 3 instances');
  const instancesSeen = gateway.instances().length;

  log('3. requests: the gateway sends 30 requests to http://orders/ through the load balancer');
  await gateway.balancer.ready();
  const responses: string[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await gateway.fetch(`http://orders/orders/${i}`);
    responses.push(((await res.json()) as { instance: string }).instance);
  }
  const perInstance = countBy(responses);
  log(
    `  served by (the gateway is in zone-a, so zone-a instances take the traffic): ${JSON.stringify(perInstance)}`,
  );

  log('4. traffic rules: the operator pulls orders-2 out of rotation, then back in');
  const rebuildsBefore = gateway.planRebuilds();
  gateway.rules.set({ pulledInstances: [{ service: 'orders', id: 'orders-2' }] });
  await until(() => gateway.instances().length === 2, 'gateway stops routing to orders-2');
  await until(() => gateway.balancer.instances().length === 2, 'the balancer drops orders-2');
  await sleep(20);
  const rebuildsPerPullOut = gateway.planRebuilds() - rebuildsBefore;
  log(`  the pull-out rebuilt the balancer's plan ${rebuildsPerPullOut} time(s)`);
  if (rebuildsPerPullOut !== 1)
    throw new Error(`[demo] one pull-out rebuilt the plan ${rebuildsPerPullOut} times`);
  const pulledOut = gateway.instances().map((i) => i.id);
  const duringPullOut = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const res = await gateway.fetch('http://orders/health');
    duringPullOut.add(((await res.json()) as { instance: string }).instance);
  }
  log(`  while pulled out, requests went to: ${[...duringPullOut].sort().join(', ')}`);
  if (duringPullOut.has('orders-2')) throw new Error('[demo] a pulled-out instance received traffic');
  gateway.rules.set({});
  await until(() => gateway.instances().length === 3, 'orders-2 back in rotation');

  log('5. live reload: the operator raises the discount; every instance applies it');
  const raised = await adminClients.config.put('orders/discount', '15', {
    author: 'ops',
    message: 'weekend sale',
  });
  await until(() => services.every((s) => s.discount() === 15), 'all instances apply the new discount');
  log('   ...and rolls back to the launch value (a rollback is a new revision)');
  const history = await adminClients.config.history('orders/discount');
  const launch = history.find((h) => h.value === '5')!;
  const rolled = await adminClients.config.rollback('orders/discount', launch.revision, { author: 'ops' });
  if (rolled.revision <= raised.revision) throw new Error('rollback must be a new revision');
  await until(() => services.every((s) => s.discount() === 5), 'all instances apply the rollback');

  log('6. locks: two billing workers race for the nightly job; fencing tokens order them');
  const ledger = new FencedLedger();
  const billingTokens = await runBillingWorkers([cluster.connect(), cluster.connect()], ledger, log);
  // Fencing tokens are per key: the reconcile job has its own ledger.
  const stale = await demonstrateStaleHolder(cluster.connect(), cluster.connect(), new FencedLedger(), log);

  log('7. cache: the gateway caches product lookups (L1 + memory L2; Redis when REDIS_URL is set)');
  const cacheHit = await runCacheStep(gatewayClients.cache, log);

  log('8. an instance shuts down: it deregisters and the gateway sees it leave');
  await services[2]!.stop();
  await until(() => gateway.instances().length === 2, 'gateway sees 2 instances');
  const instancesAfterShutdown = gateway.instances().length;

  await Promise.all(services.slice(0, 2).map((s) => s.stop()));
  await gateway.stop();
  await cluster.close();
  return {
    instancesSeen,
    instancesAfterShutdown,
    pulledOut,
    rebuildsPerPullOut,
    discountsApplied: [5, 15, 5],
    billingTokens,
    staleWriteRefused: stale.refused,
    cacheHit,
    responses,
    perInstance,
  };
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of [...values].sort()) out[v] = (out[v] ?? 0) + 1;
  return out;
}

async function until(probe: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`[demo] timed out waiting until ${what}`);
    await sleep(10);
  }
}
