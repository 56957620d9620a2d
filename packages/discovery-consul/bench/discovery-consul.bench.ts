/**
 * discovery-consul benchmark — against the testkit Consul EMULATOR (in-process, node:http), not a
 * real Consul agent: absolute numbers say nothing about Consul's own server-side cost. What it does
 * measure is this package's client path (HTTP, JSON, blocking-query loop, rate limiter, caches).
 *
 * 1. Propagation: register (client A) → a watcher (client B) sees the instance; sequential
 *    registrations, p50/p99/max, in three modes: isolated changes (100 ms apart, default rate limit),
 *    back-to-back with the default rate limit, and back-to-back with the rate limit off.
 * 2. resolve() cost on a 20-instance service: served from a running watch's cache, core's
 *    createDiscoveryClient over this backend, resolve() without a watch (one health query per call),
 *    and the raw `consul` client's `health.service({ passing: true })` per call (what a user writes by hand).
 *
 * Run: pnpm --filter @switchyard/discovery-consul bench   (BENCH_REGISTRATIONS to change the count)
 * Point it at a real agent with CONSUL_HTTP_ADDR=127.0.0.1:8500.
 */
import { createDiscoveryClient } from '@switchyard/core';
import { measurePropagation, nsPerOp, percentile } from '@switchyard/testkit/bench';
import { startConsulEmulator } from '@switchyard/testkit/emulators/consul';
import Consul from 'consul';
import { type ConsulDiscoveryOptions, createConsulDiscovery } from '../src/index.js';

const N = Number(process.env.BENCH_REGISTRATIONS ?? 300);

const ms = (n: number) => `${n.toFixed(2)} ms`;

async function propagation(
  base: ConsulDiscoveryOptions,
  label: string,
  watcherOptions: Partial<ConsulDiscoveryOptions>,
  gap: number,
): Promise<string[]> {
  const a = createConsulDiscovery({ ...base, ttl: 60_000 });
  const b = createConsulDiscovery({ ...base, ...watcherOptions });
  const service = `prop-${label.replace(/\W+/g, '-')}-${Date.now()}`;
  const lat = await measurePropagation({ registrar: a, watcher: b, service, count: N, gapMs: gap });
  await Promise.all([a.close(), b.close()]);
  lat.sort((x, y) => x - y);
  return [label, String(N), ms(percentile(lat, 50)), ms(percentile(lat, 99)), ms(lat.at(-1) ?? Number.NaN)];
}

async function main(): Promise<void> {
  const addr = process.env.CONSUL_HTTP_ADDR;
  const emulator = addr ? undefined : await startConsulEmulator();
  const url = new URL(addr ? (addr.includes('://') ? addr : `http://${addr}`) : emulator!.url);
  const base: ConsulDiscoveryOptions = { host: url.hostname, port: Number(url.port || 8500) };
  const target = addr ? `real agent at ${addr}` : 'testkit EMULATOR (in-process)';
  try {
    const prop: string[][] = [];
    prop.push(await propagation(base, 'isolated changes, 100 ms apart (default rate limit)', {}, 100));
    prop.push(await propagation(base, 'back-to-back (default rate limit 10 burst, 1/100 ms)', {}, 0));
    prop.push(
      await propagation(
        base,
        'back-to-back (rate limit off)',
        { rateLimit: { burst: 1000, interval: 0 } },
        0,
      ),
    );

    // resolve() cost.
    const d = createConsulDiscovery(base);
    const service = `resolve-${Date.now()}`;
    const regs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        d.register({ id: `r${i}`, service, address: '127.0.0.1', port: 2000 + i, tags: ['bench'] }),
      ),
    );
    const raw = new Consul({ host: base.host, port: base.port });
    const uncached = await nsPerOp(2000, () => d.resolve(service));
    const byHand = await nsPerOp(2000, () => raw.health.service({ service, passing: true }));
    const ac = new AbortController();
    const it = d.watch(service, { signal: ac.signal })[Symbol.asyncIterator]();
    while ((await it.next()).value?.snapshot.instances.length !== 20) {}
    const cachedWatch = await nsPerOp(200_000, () => d.resolve(service));
    ac.abort();
    const client = createDiscoveryClient({ backend: d });
    await client.resolve(service);
    const coreClient = await nsPerOp(200_000, () => client.resolve(service));
    await client.close();
    await Promise.all(regs.map((r) => r.close()));
    await d.close();
    raw.destroy();

    console.log(`\ndiscovery-consul benchmark — target: ${target}; Node ${process.version}\n`);
    console.log('| propagation register → watcher sees it | n | p50 | p99 | max |');
    console.log('|---|---|---|---|---|');
    for (const r of prop) console.log(`| ${r.join(' | ')} |`);
    const rows: [string, number][] = [
      ['resolve() served from a running watch (cache)', cachedWatch],
      ['core createDiscoveryClient over this backend', coreClient],
      ['resolve() without a watch (one health query per call)', uncached],
      ['raw consul client health.service({ passing }) per call', byHand],
    ];
    console.log('\n| resolve, 20 instances | ns/op | vs cached |');
    console.log('|---|---|---|');
    for (const [name, ns] of rows)
      console.log(
        `| ${name} | ${Math.round(ns).toLocaleString('en-US')} | ${(ns / cachedWatch).toFixed(1)}× |`,
      );
  } finally {
    await emulator?.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
