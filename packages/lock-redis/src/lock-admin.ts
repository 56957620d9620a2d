import { assertKey, type LockAdmin, type LockInfo } from '@switchyard/core';
import type { Cluster, Redis } from 'ioredis';
import type { LockEngine } from './lock-engine.js';
import type { RedisClient } from './lua-script.js';
import { FORCE_RELEASE } from './mutex-scripts.js';
import { fairKeys, inspectMutex } from './mutex-strategy.js';

export function createLockAdmin(engine: LockEngine): LockAdmin {
  const { layout } = engine;
  const client = engine.client;
  return {
    async list(options = {}) {
      const limit = options.limit ?? 10_000;
      const keys = await engine.op(
        'list',
        () => scanAll(client, layout.lockPattern(), limit),
        options.signal,
      );
      const infos = await Promise.all(
        keys.map((redisKey) => {
          const key = layout.keyOfLock(redisKey);
          return key === undefined
            ? undefined
            : engine.op('inspect', () => inspectMutex({ client, layout }, key), options.signal);
        }),
      );
      return infos.filter((i): i is LockInfo => i !== undefined).sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    async forceRelease(key, options = {}) {
      assertKey('lock-redis', 'key', key);
      const done =
        (await engine.op(
          'forceRelease',
          () => FORCE_RELEASE.run(client, fairKeys(layout, key), [layout.channel, key, layout.lostChannel]),
          options.signal,
        )) === 1;
      if (done) engine.stats.forceReleased++;
      return done;
    },
    stats: () => engine.statsSnapshot(),
  };
}

async function scanAll(client: RedisClient, pattern: string, limit: number): Promise<string[]> {
  const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client];
  const out = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      for (const k of batch) out.add(k);
    } while (cursor !== '0' && out.size < limit);
  }
  return [...out].slice(0, limit);
}

function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}
