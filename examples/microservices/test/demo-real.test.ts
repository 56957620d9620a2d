import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { startMetricsEndpoint } from '../src/metrics-endpoint.js';
import { realServersRequested, startRealServers } from '../src/real-servers.js';

it('the demo runs end to end on real redis-server (locks) and etcd (discovery) started by the testkit (--real)', async () => {
  expect(realServersRequested(['--real'], {})).toBe(true);
  expect(realServersRequested([], { SWITCHYARD_DEMO_REAL: '1' })).toBe(true);
  expect(realServersRequested([], {})).toBe(false);
  const real = await startRealServers();
  const metrics = await startMetricsEndpoint();
  try {
    // Watch the lock keys appear in the real Redis while the billing workers run.
    const { Redis } = await import('ioredis');
    const redis = new Redis(real.redisUrl);
    let fenceKeys = 0;
    const opened: string[] = [];
    const discovery = {
      ...real.discovery,
      connect: () => {
        const d = real.discovery.connect();
        opened.push(d.name);
        return d;
      },
    };
    const result = await runDemo(() => {}, { discovery, locks: real.locks });
    expect(new Set(opened)).toEqual(new Set(['etcd']));
    expect(opened.length).toBeGreaterThanOrEqual(4); // the gateway, the admin and three orders instances
    fenceKeys = (await redis.keys('switchyard-demo:*:lock:*')).length;
    redis.disconnect();
    expect(result.instancesSeen).toBe(3);
    expect(result.instancesAfterShutdown).toBe(2);
    expect(result.responses).toHaveLength(30);
    expect(result.staleWriteRefused).toBe(true);
    const tokens = result.billingTokens;
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < tokens.length; i++)
      expect((tokens[i] as bigint) > (tokens[i - 1] as bigint)).toBe(true);
    expect(fenceKeys).toBeGreaterThan(0); // the fencing counters live in the real Redis

    // the /metrics endpoint saw the real lock-redis leases and the gateway's balancer
    const res = await fetch(metrics.url);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    const acquired = /^switchyard_lock_acquired_total\{source="lock-redis",lock="jobs"\} (\d+)$/m.exec(text);
    expect(Number(acquired?.[1])).toBeGreaterThanOrEqual(tokens.length);
    expect(text).toMatch(/^switchyard_balancer_instances\{service="orders"\} \d+$/m);
  } finally {
    await metrics.close();
    await real.close();
  }
});
