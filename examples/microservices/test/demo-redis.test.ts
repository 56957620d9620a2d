import { startRedis } from '@switchyard/testkit/servers';
import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

it('the demo runs end to end with its discovery on Redis (SWITCHYARD_DEMO_REDIS)', async () => {
  await using redis = await startRedis();
  process.env.SWITCHYARD_DEMO_REDIS = redis.url;
  try {
    const result = await runDemo();
    expect(result.instancesSeen).toBe(3);
    expect(result.instancesAfterShutdown).toBe(2);
    expect(result.pulledOut).toEqual(['orders-1', 'orders-3']);
    expect(result.responses).toHaveLength(30);
  } finally {
    delete process.env.SWITCHYARD_DEMO_REDIS;
  }
  // The services really registered in Redis (their keys are left to expire).
  expect(await redis.command('KEYS switchyard-demo:*')).toContain('{orders}:meta');
});
