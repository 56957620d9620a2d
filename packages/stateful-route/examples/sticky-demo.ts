/**
 * Demo: a user's requests stick to one pod; the pod drains (with move); the user moves, once.
 * Pods are discovery instances (core's in-memory discovery here) and route servers under the same
 * id; the gateway resolves the user's pod to an address with `computeLinkedInstance`.
 *
 * Run: REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @switchyard/stateful-route demo
 * (without REDIS_URL it uses the in-memory store).
 */
import { createMemoryDiscovery } from '@switchyard/core';
import {
  createMemoryRouteStore,
  createRedisRouteStore,
  createRouteClient,
  createRouteServer,
  type RouteStore,
} from '../src/index.js';

export async function runDemo(store: RouteStore, log: (line: string) => void): Promise<string[]> {
  const discovery = createMemoryDiscovery();
  const pods = [];
  for (const [i, id] of ['chat-a', 'chat-b'].entries()) {
    await discovery.register({ id, service: 'chat', address: '10.0.0.1', port: 7000 + i });
    const pod = createRouteServer({ store, service: 'chat', pod: id, heartbeat: 500 });
    await pod.start();
    pods.push(pod);
  }
  const gateway = createRouteClient({ store, discovery });
  gateway.on('link:moved', (e) => log(`moved ${e.uid}: ${e.from} -> ${e.pod} (${e.reason})`));
  const seen: string[] = [];
  const request = async (n: number) => {
    const inst = await gateway.computeLinkedInstance('tenant-1', 'alice', 'chat');
    seen.push(inst.id);
    log(`request ${n}: alice -> ${inst.id} at ${inst.address}:${inst.port}`);
  };
  for (let n = 1; n <= 3; n++) await request(n);
  const owner = pods.find((p) => p.pod === seen[0])!;
  log(`${owner.pod} drains (existing users move at their next request)`);
  await owner.drain({ move: true });
  await new Promise((r) => setTimeout(r, 50)); // the gateway hears the state change
  for (let n = 4; n <= 6; n++) await request(n);
  await gateway.close();
  for (const p of pods) await p.stop();
  await discovery.close();
  return seen;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.REDIS_URL;
  const store = url ? createRedisRouteStore({ url }) : createMemoryRouteStore();
  await runDemo(store, (line) => process.stdout.write(`${line}\n`));
  await store.close();
}
