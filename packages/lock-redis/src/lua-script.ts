import { createHash } from 'node:crypto';
import { SwitchyardError } from '@switchyard/core';
import type { Cluster, Redis } from 'ioredis';

/** Any ioredis connection: a single node or a Cluster client. */
export type RedisClient = Redis | Cluster;

type Arg = string | number;

/**
 * A Lua script run by SHA (`EVALSHA`), falling back to `EVAL` once when the server does not know it
 * (first use, or after a restart flushed the script cache). Does not modify the user's client.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly numberOfKeys: number;

  constructor(source: string, numberOfKeys: number) {
    this.source = source;
    this.numberOfKeys = numberOfKeys;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys) {
      throw new SwitchyardError(
        'INTERNAL',
        `[lock-redis] script expects ${this.numberOfKeys} keys, got ${keys.length}`,
      );
    }
    try {
      return await client.evalsha(this.sha, this.numberOfKeys, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return client.eval(this.source, this.numberOfKeys, ...keys, ...args);
      }
      throw error;
    }
  }
}

/** Lua prelude: server time in ms as a number, and the fencing-counter initialiser. */
export const LUA_TIME = `
local __t = redis.call('TIME')
local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
local nowStr = __t[1] .. string.format('%03d', math.floor(tonumber(__t[2]) / 1000))
`;

/**
 * Issues the next fencing token for a fence key. A missing counter (first use, or lost in a restart
 * without persistence, a flush or an eviction) starts at the server time in microseconds, so tokens
 * never go backwards as long as the server clock does not step back and fewer than one token per
 * microsecond was issued on average (Redis cannot come close). Returns the token as a string
 * (exact while below 2^53, i.e. for the next ~200 years of microseconds).
 */
export const LUA_NEXT_TOKEN = `
local function nextToken(fenceKey)
  local n = redis.call('INCR', fenceKey)
  if n == 1 then
    local t = redis.call('TIME')
    local s = t[1] .. string.format('%06d', tonumber(t[2]))
    redis.call('SET', fenceKey, s)
    return s
  end
  return string.format('%.0f', n)
end
`;
