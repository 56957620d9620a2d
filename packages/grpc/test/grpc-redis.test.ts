import * as grpc from '@grpc/grpc-js';
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { registerSwitchyardGrpc, switchyardServiceConfig } from '../src/index.js';
import { EchoClient, type EchoServer, startEchoServer, unary } from './echo-service.js';

let redis: RedisServer;
let servers: EchoServer[] = [];
let registry: ReturnType<typeof createRedisDiscovery>;
let clientSide: ReturnType<typeof createRedisDiscovery>;

beforeAll(async () => {
  redis = await startRedis();
  registry = createRedisDiscovery({ url: redis.url, ttl: 1_000 });
  clientSide = createRedisDiscovery({ url: redis.url });
  servers = [
    await startEchoServer('r-1', registry, 'billing'),
    await startEchoServer('r-2', registry, 'billing'),
  ];
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await registry?.close();
  await clientSide?.close();
  await redis?.stop();
});

it('resolves switchyard://redis/billing through Redis discovery and follows deregistration', async () => {
  using _reg = registerSwitchyardGrpc({ discovery: clientSide, name: 'redis' });
  const c = new EchoClient('switchyard://redis/billing', grpc.credentials.createInsecure(), {
    'grpc.service_config': switchyardServiceConfig({ picker: 'peak_ewma' }),
  });
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await unary(c, 'x')).id);
    expect([...seen].sort()).toEqual(['r-1', 'r-2']);
    await servers[0]!.close();
    servers = servers.slice(1);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 20; i++) expect((await unary(c, 'y')).id).toBe('r-2');
  } finally {
    c.close();
  }
});
