import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, fencedWrite, sqlFenceAssignment, sqlFenceCondition } from '../src/index.js';

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
});

afterAll(async () => {
  client.disconnect();
  await server.stop();
});

describe('fencedWrite (Redis)', () => {
  it('applies newer and equal tokens, rejects older ones', async () => {
    const w = (token: bigint, value: string, strict = false) =>
      fencedWrite(client, {
        fenceKey: '{r}:fence',
        token,
        command: ['SET', '{r}:v', value],
        keys: ['{r}:v'],
        strict,
      });
    expect(await w(10n, 'a')).toEqual({ applied: true, fence: 10n, reply: 'OK' });
    expect(await w(9n, 'older')).toEqual({ applied: false, fence: 10n });
    expect((await w(9n, 'stale')).applied).toBe(false);
    expect((await w(10n, 'again')).applied).toBe(true);
    expect((await w(10n, 'strict', true)).applied).toBe(false);
    // Token comparison is exact beyond 2^53 (no Lua doubles).
    expect((await w(9_007_199_254_740_993n, 'big')).applied).toBe(true);
    expect((await w(9_007_199_254_740_992n, 'big-1')).applied).toBe(false);
    expect(await client.get('{r}:v')).toBe('big');
  });

  it('works with real lease tokens across a forced release', async () => {
    const lock = createRedisLock({ client, prefix: 'fg:' });
    const a = await lock.acquire('res');
    await lock.forceRelease('res');
    const b = await lock.acquire('res');
    const write = (token: bigint, v: string) =>
      fencedWrite(client, { fenceKey: 'res:fence', token, command: ['SET', 'res', v], keys: ['res'] });
    expect((await write(b.token, 'b')).applied).toBe(true);
    expect((await write(a.token, 'a')).applied).toBe(false);
    await b.release();
    await lock.close();
  });

  it('bad input names the field', async () => {
    const bad = async (o: object) => {
      try {
        await fencedWrite(client, o as never);
        return undefined;
      } catch (e) {
        return isSwitchyardError(e, 'INVALID_ARGUMENT') ? e.field : 'other';
      }
    };
    expect(await bad({ fenceKey: '', token: 1n, command: ['SET', 'a', 'b'] })).toBe('fenceKey');
    expect(await bad({ fenceKey: 'f', token: 1, command: ['SET', 'a', 'b'] })).toBe('token');
    expect(await bad({ fenceKey: 'f', token: 1n, command: [] })).toBe('command');
  });
});

describe('SQL fence helpers', () => {
  it('builds the condition and the assignment', () => {
    expect(sqlFenceCondition({ token: 42n })).toEqual({
      sql: '(fence_token IS NULL OR fence_token <= $1)',
      params: ['42'],
    });
    expect(sqlFenceCondition({ token: 42n, column: 'jobs.fence', placeholder: '?', strict: true }).sql).toBe(
      '(jobs.fence IS NULL OR jobs.fence < ?)',
    );
    expect(sqlFenceAssignment({ token: 7n, placeholder: '$3' })).toEqual({
      sql: 'fence_token = $3',
      params: ['7'],
    });
  });

  it('refuses identifiers that could inject SQL', () => {
    expect(() => sqlFenceCondition({ token: 1n, column: 'x; DROP TABLE t' })).toThrow(/column/);
    expect(() => sqlFenceCondition({ token: -1n })).toThrow(/token/);
  });
});
