/**
 * discovery-consul benchmark — against the testkit Consul EMULATOR (in-process, node:http), not a
 * real Consul agent: absolute numbers say nothing about Consul's own server-side cost. What it does
 * measure is this package's client path (HTTP, JSON, the blocking-query loop, the rate limiter).
 *
 * 1. Propagation: register (client A) → a watcher (client B) sees the instance; sequential
 *    registrations, p50/p99/max, in three modes: isolated changes (100 ms apart, default rate limit),
 *    back-to-back with the default rate limit, and back-to-back with the rate limit off.
 * 2. resolve() cost on a 20-instance service: core's createDiscoveryClient over this backend (its
 *    watch-fed cache), this backend's resolve() (one health query per call), and the raw `consul`
 *    client's `health.service({ passing: true })` per call (what a user writes by hand).
 * 3. register + close round trip (register, the heartbeat right after it, deregister).
 * 4. One process watching 300 services on an agent with Consul's default
 *    `http_max_conns_per_client` (200): this backend vs `consul.watch()` per service (the peer's
 *    helper, one connection per service) — refused connections and changes seen.
 *
 * Run: pnpm --filter @switchyard/discovery-consul bench   (BENCH_REGISTRATIONS to change the count)
 */
import { setMaxListeners } from 'node:events';
import { createDiscoveryClient } from '@switchyard/core';
import { measurePropagation, nsPerOp, percentile, timeOps } from '@switchyard/testkit/bench';
import { type ConsulEmulator, startConsulEmulator } from '@switchyard/testkit/emulators/consul';
import Consul from 'consul';
import { type ConsulDiscoveryOptions, createConsulDiscovery } from '../src/index.js';

const N = Number(process.env.BENCH_REGISTRATIONS ?? 300);
const WATCHED = Number(process.env.BENCH_WATCHED ?? 300);

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

/** Registers one instance in each of `services` and counts how many reach their watcher within 15 s. */
async function changesSeen(
  emulator: ConsulEmulator,
  services: string[],
  seen: Set<string>,
): Promise<{ seen: number; ms: number }> {
  // The writer is another process on another node (its own agent and connection budget).
  const other = emulator.agents[1]!;
  const writer = createConsulDiscovery({ host: other.host, port: other.port, ttl: 60_000 });
  const started = performance.now();
  const regs = [];
  for (const s of services)
    regs.push(await writer.register({ id: 'w', service: s, address: '127.0.0.1', port: 1 }));
  const deadline = Date.now() + 15_000;
  while (seen.size < services.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const took = performance.now() - started;
  await Promise.all(regs.map((r) => r.close()));
  await writer.close();
  return { seen: seen.size, ms: took };
}

async function manyWatches(): Promise<string[][]> {
  const rows: string[][] = [];
  {
    await using agent = await startConsulEmulator({ nodes: 2 });
    const d = createConsulDiscovery({ host: agent.host, port: agent.port });
    const services = Array.from({ length: WATCHED }, (_, i) => `many-${i}`);
    const seen = new Set<string>();
    const ac = new AbortController();
    setMaxListeners(WATCHED + 10, ac.signal);
    for (const s of services) {
      void (async () => {
        for await (const e of d.watch(s, { signal: ac.signal })) if (e.snapshot.instances.length) seen.add(s);
      })().catch(() => {});
    }
    const r = await changesSeen(agent, services, seen);
    rows.push([
      `this backend (maxBlockingQueries 100)`,
      `${r.seen}/${WATCHED}`,
      ms(r.ms),
      String(agent.rejectedConnections),
    ]);
    ac.abort();
    await d.close();
  }
  {
    await using agent = await startConsulEmulator({ nodes: 2 });
    const client = new Consul({ host: agent.host, port: agent.port });
    const services = Array.from({ length: WATCHED }, (_, i) => `many-${i}`);
    const seen = new Set<string>();
    const watches = services.map((s) => {
      const w = client.watch({ method: client.health.service, options: { service: s } as never });
      w.on('change', (data: unknown[]) => {
        if (data.length) seen.add(s);
      });
      w.on('error', () => {});
      return w;
    });
    await new Promise((r) => setTimeout(r, 500));
    const r = await changesSeen(agent, services, seen);
    rows.push([
      `consul.watch() per service (peer)`,
      `${r.seen}/${WATCHED}`,
      ms(r.ms),
      String(agent.rejectedConnections),
    ]);
    for (const w of watches) w.end();
    client.destroy();
  }
  return rows;
}

async function main(): Promise<void> {
  const emulator = await startConsulEmulator();
  const base: ConsulDiscoveryOptions = { host: emulator.host, port: emulator.port };
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
    const raw = new Consul({ host: emulator.host, port: emulator.port });
    const query = await nsPerOp(2000, () => d.resolve(service));
    const byHand = await nsPerOp(2000, () => raw.health.service({ service, passing: true }));
    const client = createDiscoveryClient({ backend: d });
    await client.resolve(service);
    const coreClient = await nsPerOp(200_000, () => client.resolve(service));
    await client.close();
    await Promise.all(regs.map((r) => r.close()));

    // register + close.
    const lifecycle = await timeOps(200, async (i) => {
      const reg = await d.register({
        id: `l${i}`,
        service: `life-${Date.now()}`,
        address: '127.0.0.1',
        port: 1,
      });
      await reg.close();
    });
    await d.close();
    raw.destroy();
    const many = await manyWatches();

    console.log(
      `\ndiscovery-consul benchmark — target: testkit EMULATOR (in-process); Node ${process.version}\n`,
    );
    console.log('| propagation register → watcher sees it | n | p50 | p99 | max |');
    console.log('|---|---|---|---|---|');
    for (const r of prop) console.log(`| ${r.join(' | ')} |`);
    const rows: [string, number][] = [
      ['core createDiscoveryClient over this backend (cache)', coreClient],
      ['resolve() (one health query per call)', query],
      ['raw consul client health.service({ passing }) per call', byHand],
    ];
    console.log('\n| resolve, 20 instances | ns/op | vs raw consul |');
    console.log('|---|---|---|');
    for (const [name, ns] of rows)
      console.log(`| ${name} | ${Math.round(ns).toLocaleString('en-US')} | ${(ns / byHand).toFixed(3)}× |`);
    const lat = [...lifecycle.latencies].sort((x, y) => x - y);
    console.log(`\n| register + close (200 sequential) | p50 | p99 |\n|---|---|---|`);
    console.log(`| this backend | ${ms(percentile(lat, 50))} | ${ms(percentile(lat, 99))} |`);
    console.log(
      `\n| ${WATCHED} services watched by one process (agent limit 200 connections) | changes seen | time | refused connections |`,
    );
    console.log('|---|---|---|---|');
    for (const r of many) console.log(`| ${r.join(' | ')} |`);
  } finally {
    await emulator.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
