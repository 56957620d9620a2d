import { randomUUID } from 'node:crypto';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdLock, fencedPut } from '../src/index.js';
import { spawnWorker, type Worker } from './fixtures/spawn-worker.js';

let etcd: EtcdCluster;
let raw: Etcd3;
const workers: Worker[] = [];

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  for (const w of workers) {
    w.child.kill('SIGCONT');
    w.child.kill('SIGKILL');
  }
  raw?.close();
  await etcd?.stop();
});

describe('across OS processes', () => {
  it('torture: 3 processes × 4 loops increment a fenced counter; no lost update, tokens increase in entry order', async () => {
    const prefix = `torture-${randomUUID().slice(0, 8)}`;
    const env = {
      ENDPOINTS: etcd.endpoints.join(','),
      PREFIX: prefix,
      KEY: 'counter-lock',
      LOOPS: '4',
      ITERATIONS: '8',
    };
    const procs = [spawnWorker(env), spawnWorker(env), spawnWorker(env)];
    workers.push(...procs);
    const codes = await Promise.all(procs.map((p) => p.exited));
    const errors = procs.flatMap((p) => p.lines.filter((l) => l.event === 'error'));
    expect(errors).toEqual([]);
    expect(codes).toEqual([0, 0, 0]);
    const entries = procs.flatMap((p) => p.lines.filter((l) => l.event === 'entry'));
    expect(entries).toHaveLength(3 * 4 * 8);
    expect(entries.every((e) => e.applied === true)).toBe(true);
    expect(Number(await raw.get(`${prefix}-counter`).string())).toBe(entries.length);
    // Entry order = the counter value each holder saw; tokens must strictly increase along it.
    const ordered = [...entries].sort((x, y) => Number(x.seen) - Number(y.seen));
    expect(ordered.map((e) => Number(e.seen))).toEqual(ordered.map((_, i) => i));
    for (let i = 1; i < ordered.length; i++) {
      expect(BigInt(ordered[i]!.token as string) > BigInt(ordered[i - 1]!.token as string)).toBe(true);
    }
  }, 60_000);

  it('a holder paused with SIGSTOP past its TTL loses the lock: another process acquires with a larger token, the resumed one learns and its stale write is rejected', async () => {
    const prefix = `sigstop-${randomUUID().slice(0, 8)}`;
    const holder = spawnWorker({
      ENDPOINTS: etcd.endpoints.join(','),
      PREFIX: prefix,
      KEY: 'job',
      MODE: 'hold',
      TTL: '1000',
    });
    workers.push(holder);
    const acquired = await holder.next((l) => l.event === 'acquired');
    const staleToken = BigInt(acquired.token as string);
    holder.child.kill('SIGSTOP');
    const lock = createEtcdLock({ client: raw, prefix, ttl: 2000 });
    try {
      const started = performance.now();
      const lease = await lock.acquire('job', { wait: 10_000 });
      // The paused holder's session lease (1 s) had to expire on the server first.
      expect(performance.now() - started).toBeGreaterThan(500);
      expect(lease.token > staleToken).toBe(true);
      expect(
        (await fencedPut(raw, { key: `${prefix}-resource`, value: 'new holder', token: lease.token }))
          .applied,
      ).toBe(true);
      holder.child.kill('SIGCONT');
      const lost = await holder.next((l) => l.event === 'lost', 10_000);
      expect(lost.code).toBe('LOCK_LOST');
      holder.send('write');
      const write = await holder.next((l) => l.event === 'write', 10_000);
      expect(write).toMatchObject({ applied: false, fence: lease.token.toString(), aborted: true });
      expect(await raw.get(`${prefix}-resource`).string()).toBe('new holder');
      expect((await lock.inspect('job'))?.token).toBe(lease.token);
      await lease.release();
    } finally {
      holder.send('exit');
      await lock.close();
    }
    const code = await Promise.race([holder.exited, new Promise((r) => setTimeout(() => r('hang'), 10_000))]);
    expect(code, JSON.stringify(holder.lines)).toBe(0);
  }, 60_000);
});
