import { randomUUID } from 'node:crypto';
import type { DiscoveryBackend } from '@switchyard/core';
import { createRedisDiscovery } from '@switchyard/discovery-redis';

/**
 * Opt-in: run the demo's discovery on Redis instead of the in-memory registry.
 *
 *   SWITCHYARD_DEMO_REDIS=redis://127.0.0.1:6379 pnpm demo
 *
 * Every simulated process gets its own connection, as separate processes would; the keys live
 * under a prefix of their own per run (`switchyard-demo:<run>:`), so runs never see each other.
 * Unset (the default), the demo stays on the in-memory backends and needs no server.
 */
export function redisDiscoveryFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): ((ttl: number) => DiscoveryBackend) | undefined {
  const url = env.SWITCHYARD_DEMO_REDIS;
  if (!url) return undefined;
  const prefix = `switchyard-demo:${randomUUID().slice(0, 8)}:`;
  return (ttl) => createRedisDiscovery({ url, prefix, ttl });
}
