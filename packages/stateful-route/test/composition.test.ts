import { createMemoryDiscovery, subscribeDiagnostic } from '@switchyard/core';
import { eventually, expectSwitchyardError } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDemo } from '../examples/sticky-demo.js';
import { createRedisRouteStore, createRouteClient, createRouteServer } from '../src/index.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

it('demo: the user sticks to one pod, the pod drains, the user moves once', async () => {
  await using store = createRedisRouteStore({ url: redis.url, prefix: 'demo:' });
  const lines: string[] = [];
  const published: { uid: string; source: string }[] = [];
  const off = subscribeDiagnostic('switchyard:link:moved', (e) =>
    published.push({ uid: e.uid, source: e.source }),
  );
  const seen = await runDemo(store, (l) => lines.push(l)).finally(off);
  expect(published).toEqual([{ uid: 'alice', source: 'stateful-route' }]);
  expect(new Set(seen.slice(0, 3)).size).toBe(1);
  expect(new Set(seen.slice(3)).size).toBe(1);
  expect(seen[3]).not.toBe(seen[0]);
  expect(lines.filter((l) => l.startsWith('moved alice'))).toHaveLength(1);
});

it('with discovery: pods not in discovery are rejected; a linked pod resolves to its instance', async () => {
  await using store = createRedisRouteStore({ url: redis.url, prefix: 'comp:' });
  await using discovery = createMemoryDiscovery();
  await discovery.register({ id: 'p1', service: 'api', address: '127.0.0.1', port: 9001 });
  await using pod1 = createRouteServer({ store, service: 'api', pod: 'p1' });
  await using pod2 = createRouteServer({ store, service: 'api', pod: 'p2' }); // not in discovery
  await pod1.start();
  await pod2.start();
  await using client = createRouteClient({ store, discovery });
  await expectSwitchyardError(client.setLinkedPodIfAbsent('ns', 'u', 'api', 'p2'), 'INVALID_ARGUMENT', 'pod');
  expect(await client.setLinkedPodIfAbsent('ns', 'u', 'api', 'p1')).toBe('p1');
  expect((await client.computeLinkedInstance('ns', 'u', 'api')).port).toBe(9001);
  await pod1.setRoutingState('FORBIDDEN');
  // The gateway hears the state change within about a round trip (pub/sub), then re-places the user
  // on p2, which discovery does not know.
  await eventually(() => client.getLinkedInCache('ns', 'u', 'api') === undefined, 1_000, 'invalidated');
  await expectSwitchyardError(client.computeLinkedInstance('ns', 'u', 'api'), 'NO_AVAILABLE_INSTANCE');
});
