import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './lua-script.js';

/** Keys matching `pattern`, at most `limit`, by `SCAN` on the node (every master of a Cluster). */
export async function scanKeys(client: RedisClient, pattern: string, limit: number): Promise<string[]> {
  const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client];
  const out = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      for (const k of batch) out.add(k);
    } while (cursor !== '0' && out.size < limit);
    if (out.size >= limit) break;
  }
  return [...out].slice(0, limit);
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}
