/**
 * What an operator pays per command: `switchyard locks ls --json` (a Node process: start, connect,
 * SCAN + one script per lock, print) against `redis-cli --scan` (the peer an operator reaches for;
 * it lists key names only, no owner/token/TTL/waiters) and the in-process `lock.list()` call.
 * Same machine, same Redis, same 200 held locks. Run: pnpm bench (after pnpm build).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createRedisLock } from '@switchyard/lock-redis';
import { startRedis } from '@switchyard/testkit/servers';

const RUNS = 7;
const LOCKS = 200;
const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeProcess(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return performance.now() - t;
}

const redis = await startRedis();
const lock = createRedisLock({ url: redis.url, ttl: 120_000 });
try {
  const leases = await Promise.all(Array.from({ length: LOCKS }, (_, i) => lock.acquire(`bench:${i}`)));
  const port = new URL(redis.url).port;
  const ours: number[] = [];
  const peer: number[] = [];
  const lib: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(timeProcess(process.execPath, [bin, 'locks', 'ls', '--redis', redis.url, '--json']));
    peer.push(timeProcess('redis-cli', ['-p', port, '--scan', '--pattern', 'switchyard:lock:*']));
    const t = performance.now();
    const found = await lock.list();
    lib.push(performance.now() - t);
    if (found.length !== LOCKS) throw new Error(`listed ${found.length}`);
  }
  const m = { ours: median(ours), peer: median(peer), lib: median(lib) };
  console.log(`locks ls over ${LOCKS} held locks, median of ${RUNS} runs (ms):`);
  console.log(`  switchyard locks ls --json      ${m.ours.toFixed(1)}  (owner, token, TTL, waiters)`);
  console.log(
    `  redis-cli --scan (names only)   ${m.peer.toFixed(1)}  ratio ${(m.ours / m.peer).toFixed(1)}x`,
  );
  console.log(`  lock.list() in-process          ${m.lib.toFixed(1)}  ratio ${(m.ours / m.lib).toFixed(1)}x`);
  await Promise.all(leases.map((l) => l.release()));
} finally {
  await lock.close();
  await redis.stop();
}
