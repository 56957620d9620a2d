import { createMemoryConfigStore, type TrafficRules } from '@switchyard/core';
import { expect, it } from 'vitest';
import {
  createConfigAdmin,
  createConfigCenter,
  trafficRulesSchema,
  trafficRulesSource,
} from '../src/index.js';

it('traffic rules served from a namespace change live; a bad rule set is refused before apply', async () => {
  const store = createMemoryConfigStore();
  const spec = { schema: trafficRulesSchema };
  const admin = createConfigAdmin({ store, app: 'lb', namespaces: { traffic: spec } });
  const ref = { env: 'prod', namespace: 'traffic' };
  await admin.publish(ref, { pulledInstances: [{ service: 'api', id: 'api-1' }] }, { author: 'ops' });
  await using center = createConfigCenter({ store, app: 'lb', env: 'prod', namespaces: { traffic: spec } });
  const source = trafficRulesSource(await center.namespace('traffic'));
  expect(source.current().pulledInstances).toEqual([{ service: 'api', id: 'api-1' }]);
  const seen: TrafficRules[] = [];
  source.subscribe((r) => seen.push(r));
  const routes = [{ service: 'api', groups: [{ name: 'canary', weight: 1, match: { tags: ['canary'] } }] }];
  await admin.publish(ref, { routes }, { author: 'ops' });
  await new Promise((r) => setTimeout(r, 20));
  expect(seen.at(-1)).toEqual({ routes });
  expect(source.current().pulledInstances).toBeUndefined();
  await expect(
    admin.publish(ref, { pulledInstances: [{ service: '', id: 'x' }] }, { author: 'ops' }),
  ).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
  await expect(admin.publish(ref, { pulled: [] }, { author: 'ops' })).rejects.toMatchObject({
    field: 'items.pulled',
  });
});
