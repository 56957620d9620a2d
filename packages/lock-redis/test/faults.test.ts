import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, fencedWrite } from '../src/index.js';

const WORKER = fileURLToPath(new URL('./fixtures/lock-worker.ts', import.meta.url));
const TSX = new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

let server: RedisServer;
let client: Redis;
const children: ChildProcess[] = [];

function spawnWorker(mode: string, arg: string): ChildProcess {
  const child = fork(WORKER, [server.url, mode, arg], {
    execArgv: ['--import', TSX, '--conditions=switchyard-source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return child;
}

function nextMessage<T>(child: ChildProcess, type: string, timeout = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${type}" from worker`)), timeout);
    const onMessage = (msg: { type: string; message?: string }) => {
      if (msg.type === 'error') reject(new Error(msg.message));
      if (msg.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(msg as T);
    };
    child.on('message', onMessage);
  });
}

async function until(probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  client.disconnect();
  await server.stop();
});

describe('faults across OS processes', () => {
  it('torture: 3 processes, no overlap, exact count, tokens strictly increase in entry order', async () => {
    const rounds = 25;
    const workers = [0, 1, 2].map(() => spawnWorker('torture', String(rounds)));
    await Promise.all(workers.map((w) => nextMessage(w, 'done', 50_000)));
    expect(Number(await client.get('counter'))).toBe(rounds * workers.length);
    const entries = await client.lrange('entries', 0, -1);
    expect(entries).toHaveLength(rounds * workers.length);
    let last = 0n;
    for (const e of entries) {
      const [token, inside] = e.split(':');
      expect(inside).toBe('1'); // nobody else was inside
      expect(BigInt(token!)).toBeGreaterThan(last);
      last = BigInt(token!);
    }
  }, 60_000);

  it('a SIGSTOPped holder loses the lock; its stale write is rejected by the fenced resource', async () => {
    const lock = createRedisLock({ client, prefix: 'fault:' });
    try {
      const child = spawnWorker('hold', '400');
      const { token } = await nextMessage<{ token: string }>(child, 'held');
      child.kill('SIGSTOP');
      const lease = await lock.acquire('paused', { wait: 5000 });
      expect(lease.token).toBeGreaterThan(BigInt(token));
      const mine = await fencedWrite(client, {
        fenceKey: 'resource:fence',
        token: lease.token,
        command: ['SET', 'resource', 'current-holder'],
        keys: ['resource'],
      });
      expect(mine.applied).toBe(true);
      child.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 100));
      child.send({ type: 'write' });
      const report = await nextMessage<{ applied: boolean; aborted: boolean; held: boolean }>(child, 'wrote');
      expect(report.applied).toBe(false);
      expect(report.aborted).toBe(true);
      expect(report.held).toBe(false);
      expect(await client.get('resource')).toBe('current-holder');
      expect(lease.held).toBe(true);
      await lease.release();
      child.disconnect();
    } finally {
      await lock.close();
    }
  }, 30_000);

  it('a waiter frozen (SIGSTOP) after the lock was handed to it never resolves with the stale grant (#19.5)', async () => {
    const lock = createRedisLock({ client, prefix: 'fault:' });
    try {
      const first = await lock.acquire('frozen', { ttl: 10_000 });
      const child = spawnWorker('wait', '20000');
      await nextMessage(child, 'waiting');
      await until(async () => (await lock.inspect('frozen'))?.waiters === 1);
      await new Promise((r) => setTimeout(r, 100)); // its subscription is up
      let result:
        | { acquired: boolean; token?: string; heldOnServer?: boolean; validLeft?: number }
        | undefined;
      void nextMessage<NonNullable<typeof result>>(child, 'result').then((r) => {
        result = r;
      });
      child.kill('SIGSTOP');
      await first.release(); // handed to the frozen child, for at most its 600 ms queue lease
      expect((await lock.inspect('frozen'))?.token).toBeGreaterThan(first.token);
      const second = await lock.acquire('frozen', { ttl: 10_000, wait: 5000 }); // after the grant lapsed
      child.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 500));
      // The child saw its grant expired: it gave it back and kept waiting, it did not take it.
      expect(result).toBeUndefined();
      expect(second.held).toBe(true);
      expect((await lock.inspect('frozen'))?.token).toBe(second.token);
      await second.release();
      await until(async () => result !== undefined);
      expect(result?.acquired).toBe(true);
      expect(result?.heldOnServer).toBe(true);
      expect(BigInt(result?.token ?? '0')).toBeGreaterThan(second.token);
      expect(result?.validLeft).toBeGreaterThan(0);
      child.disconnect();
    } finally {
      await lock.close();
    }
  }, 30_000);

  it('Redis down: wait 1000 → LOCK_TIMEOUT at the wait bound with the outage as cause; the default wait (Infinity) → BACKEND_UNAVAILABLE after unavailableAfter; releasing a lost lease answers at once', async () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    const lock = createRedisLock({ client: c, prefix: 'down:' });
    // Default options but a shorter unavailableAfter (the default, 10 000 ms, would cost the suite 10 s).
    const fast = createRedisLock({ client: c, prefix: 'down:', unavailableAfter: 1500 });
    try {
      const lost = await lock.acquire('lost', { ttl: 300, autoRenew: false });
      await until(async () => lost.signal.aborted);
      await server.process.kill();
      const timed = async (p: Promise<unknown>) => {
        const t0 = performance.now();
        const error = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        return { error: error as { code?: string; cause?: unknown }, ms: performance.now() - t0 };
      };
      const [release, bounded, shortOutage] = await Promise.all([
        timed(lost.release().then((held) => expect(held).toBe(false))),
        timed(lock.acquire('k', { wait: 1000 })),
        timed(fast.acquire('k')),
      ]);
      expect(release.error).toBeUndefined();
      expect(release.ms).toBeLessThan(100);
      expect(bounded.error.code).toBe('LOCK_TIMEOUT');
      expect(isSwitchyardError(bounded.error.cause, 'BACKEND_UNAVAILABLE')).toBe(true);
      expect(bounded.ms).toBeGreaterThan(950);
      expect(bounded.ms).toBeLessThan(1600);
      expect(shortOutage.error.code).toBe('BACKEND_UNAVAILABLE');
      expect(isSwitchyardError(shortOutage.error)).toBe(true);
      expect(shortOutage.ms).toBeGreaterThan(1400);
      expect(shortOutage.ms).toBeLessThan(3000);
    } finally {
      await server.process.start();
      await Promise.all([lock.close(), fast.close()]);
      c.disconnect();
    }
  }, 30_000);

  it('redis restart without persistence: holder learns loss, tokens keep growing, nothing hangs', async () => {
    const c = new Redis(server.url, { maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    const lock = createRedisLock({ client: c, prefix: 'restart:', requestTimeout: 500, pollInterval: 50 });
    try {
      const a = await lock.acquire('k', { ttl: 1500 });
      const lost = new Promise((r) => a.on('lease:lost', r));
      await server.process.kill();
      // While down: typed errors, no hang.
      const t0 = performance.now();
      const err = await lock.acquire('k', { wait: 0 }).catch((e: unknown) => e);
      expect(isSwitchyardError(err, 'BACKEND_UNAVAILABLE')).toBe(true);
      const err2 = await lock.acquire('other', { wait: 300 }).catch((e: unknown) => e);
      expect(isSwitchyardError(err2, 'BACKEND_UNAVAILABLE', 'LOCK_TIMEOUT')).toBe(true);
      expect(performance.now() - t0).toBeLessThan(3000);
      await server.process.start(); // empty: no persistence
      await lost; // renewal found the key gone (or validity ran out)
      expect(a.held).toBe(false);
      const b = await lock.acquire('k', { wait: 5000 });
      expect(b.token).toBeGreaterThan(a.token); // counter restarted from server time, not from 1
      await b.release();
    } finally {
      await lock.close();
      c.disconnect();
    }
  }, 30_000);
});
