/**
 * discovery-dns benchmark, peers in the same run (loopback, real servers):
 *
 * 1. Resolver: one SRV lookup (10 records + glue) served from our cache, from the network (cache
 *    cleared each time), through the discovery backend (`resolve`), vs `node:dns` `Resolver.resolveSrv`
 *    (no cache: c-ares asks the server every time) and dns2's `UDPClient` (no cache). Upstream: dnsmasq.
 * 2. Server: replies/s for A and SRV answers (10 instances), same load generator (a worker thread,
 *    64 queries in flight), against dns2's own server answering the same static records and dnsmasq
 *    answering from its config.
 *
 * 3. Codec: encoding and decoding the SRV answer (10 SRV + 10 glue A) with dns2 (what we use) and
 *    dns-packet: octets on the wire and µs per message.
 *
 * Run: pnpm --filter @switchyard/discovery-dns bench   (BENCH_SECONDS=3 per server by default)
 */
import { Resolver } from 'node:dns/promises';
import { cpus, loadavg } from 'node:os';
import { createMemoryDiscovery } from '@switchyard/core';
import { fmt, markdownTable, nsPerOp, ratio } from '@switchyard/testkit/bench';
import { startDnsmasq } from '@switchyard/testkit/servers';
import dnsPacket from 'dns-packet';
import dns2 from 'dns2';
import { decodeMessage, encodeMessage, encodeQuery, TYPE } from '../src/dns-message.js';
import { createDnsDiscovery, createDnsResolver, startDnsServer } from '../src/index.js';
import { udpLoad } from './udp-load.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
console.log(
  `${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at start`,
);
const N = 10;
const us = (ns: number) => `${fmt(ns / 1000, 2)} µs`;

const hosts = Array.from({ length: N }, (_, i) => `host-record=pod-${i}.orders.bench.test,10.0.0.${i + 1}`);
const srvs = Array.from(
  { length: N },
  (_, i) => `srv-host=_http._tcp.orders.bench.test,pod-${i}.orders.bench.test,${8000 + i},10,1`,
);
const dnsmasq = await startDnsmasq({
  hosts: Array.from({ length: N }, (_, i) => `10.0.0.${i + 1} orders.bench.test`),
  config: ['local=/bench.test/', ...hosts, ...srvs],
});
const ns = `${dnsmasq.host}:${dnsmasq.port}`;
const SRV_NAME = '_http._tcp.orders.bench.test';

// ---- 1. resolver --------------------------------------------------------------------------
const ours = createDnsResolver({ nameservers: [ns] });
const discovery = createDnsDiscovery({ nameservers: [ns], name: '_http._tcp.{service}.bench.test' });
const nodeResolver = new Resolver({ timeout: 1000, tries: 2 });
nodeResolver.setServers([ns]);
const dns2Client = dns2.UDPClient({ dns: dnsmasq.host, port: dnsmasq.port, timeout: 1000 });

const cached = await nsPerOp(20_000, () => ours.query(SRV_NAME, 'SRV'), 1_000);
const viaBackend = await nsPerOp(5_000, () => discovery.resolve('orders'), 200);
const uncached = await nsPerOp(1_000, () => {
  ours.clearCache();
  return ours.query(SRV_NAME, 'SRV');
});
const nodeSrv = await nsPerOp(1_000, () => nodeResolver.resolveSrv(SRV_NAME));
const dns2Srv = await nsPerOp(1_000, () => dns2Client(SRV_NAME, 'SRV'));
await discovery.close();
await ours.close();

console.log('\n### Resolver: one SRV lookup (10 records), dnsmasq upstream\n');
console.log(
  markdownTable(
    ['lookup', 'per op', 'vs node:dns resolveSrv', 'vs dns2 UDPClient'],
    [
      ['discovery-dns resolver, cached', us(cached), ratio(nodeSrv, cached, 0), ratio(dns2Srv, cached, 0)],
      [
        'discovery-dns backend `resolve()`, cached',
        us(viaBackend),
        ratio(nodeSrv, viaBackend, 0),
        ratio(dns2Srv, viaBackend, 0),
      ],
      [
        'discovery-dns resolver, uncached (network)',
        us(uncached),
        ratio(nodeSrv, uncached),
        ratio(dns2Srv, uncached),
      ],
      ['node:dns Resolver.resolveSrv (no cache)', us(nodeSrv), '1.00×', ratio(dns2Srv, nodeSrv)],
      ['dns2 UDPClient (no cache)', us(dns2Srv), ratio(nodeSrv, dns2Srv), '1.00×'],
    ],
  ),
);

// ---- 2. server ----------------------------------------------------------------------------
const memory = createMemoryDiscovery();
const regs = await Promise.all(
  Array.from({ length: N }, (_, i) =>
    memory.register({ id: `pod-${i}`, service: 'orders', address: `10.0.0.${i + 1}`, port: 8000 + i }),
  ),
);
const server = await startDnsServer({ discovery: memory, zone: 'bench.test', ttl: 5_000 });

// dns2's server answering the same records, built per request as a dns2 handler does.
const { Packet } = dns2;
const dns2Server = dns2.createServer({
  udp: true,
  handle: (request: InstanceType<typeof Packet>, send: (r: InstanceType<typeof Packet>) => void) => {
    const response = Packet.createResponseFromRequest(request);
    const q = request.questions[0] as { name: string; type: number };
    for (let i = 0; i < N; i++) {
      if (q.type === TYPE.A) {
        response.answers.push({
          name: q.name,
          type: TYPE.A,
          class: 1,
          ttl: 5,
          address: `10.0.0.${i + 1}`,
        } as never);
      } else {
        const target = `pod-${i}.orders.bench.test`;
        response.answers.push({
          name: q.name,
          type: TYPE.SRV,
          class: 1,
          ttl: 5,
          priority: 10,
          weight: 1,
          port: 8000 + i,
          target,
        } as never);
        response.additionals.push({
          name: target,
          type: TYPE.A,
          class: 1,
          ttl: 5,
          address: `10.0.0.${i + 1}`,
        } as never);
      }
    }
    send(response);
  },
});
const dns2Port = await new Promise<number>((resolve) => {
  dns2Server.on('listening', (a: { udp?: { port: number } }) => resolve(a.udp?.port ?? 0));
  void dns2Server.listen({ udp: { port: 0, address: '127.0.0.1' } });
});

const load = (port: number, name: string, type: number) =>
  udpLoad({ port, queries: [encodeQuery(1, name, type, 1232)], window: 64, durationMs: SECONDS * 1000 });

const rows: string[][] = [];
for (const [label, type, ourName, srvName] of [
  ['A (10 records)', TYPE.A, 'orders.bench.test', 'orders.bench.test'],
  ['SRV (10 records + 10 glue A)', TYPE.SRV, 'orders.bench.test', SRV_NAME],
] as const) {
  const o = await load(server.port, ourName, type);
  const d = await load(dns2Port, ourName, type);
  const m = await load(dnsmasq.port, srvName, type);
  rows.push([label, fmt(o.qps, 0), fmt(d.qps, 0), fmt(m.qps, 0), ratio(o.qps, d.qps), ratio(o.qps, m.qps)]);
}
console.log(`\n### Server: replies/s, ${SECONDS} s each, 64 in flight, load generator in a worker thread\n`);
console.log(
  markdownTable(
    ['answer', 'discovery-dns', 'dns2 server', 'dnsmasq', 'vs dns2 (goal ≥ 2×)', 'vs dnsmasq (goal ≥ 0.5×)'],
    rows,
  ),
);
console.log(`\nserver stats: ${JSON.stringify(server.stats)}`);

// ---- 3. codec -----------------------------------------------------------------------------
const srvAnswers = Array.from({ length: N }, (_, i) => ({
  i,
  target: `pod-${i}.orders.svc.switchyard.local`,
}));
const viaDns2 = () =>
  encodeMessage({
    id: 1,
    flags: { qr: 1, aa: 1 },
    rcode: 0,
    question: { name: 'orders.svc.switchyard.local', type: TYPE.SRV, class: 1 },
    answers: srvAnswers.map(({ i, target }) => ({
      name: 'orders.svc.switchyard.local',
      type: TYPE.SRV,
      class: 1,
      ttl: 5,
      priority: 10,
      weight: 1,
      port: 8000 + i,
      target,
    })),
    additionals: srvAnswers.map(({ i, target }) => ({
      name: target,
      type: TYPE.A,
      class: 1,
      ttl: 5,
      address: `10.0.0.${i + 1}`,
    })),
  });
const viaDnsPacket = () =>
  dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'SRV', name: 'orders.svc.switchyard.local' }],
    answers: srvAnswers.map(({ i, target }) => ({
      type: 'SRV',
      name: 'orders.svc.switchyard.local',
      ttl: 5,
      data: { priority: 10, weight: 1, port: 8000 + i, target },
    })),
    additionals: srvAnswers.map(({ i, target }) => ({
      type: 'A',
      name: target,
      ttl: 5,
      data: `10.0.0.${i + 1}`,
    })),
  });
const a2 = viaDns2();
const ap = viaDnsPacket();
const enc2 = await nsPerOp(2_000, viaDns2);
const encP = await nsPerOp(2_000, viaDnsPacket);
const dec2 = await nsPerOp(2_000, () => decodeMessage(a2));
const decP = await nsPerOp(2_000, () => dnsPacket.decode(ap));
console.log('\n### Codec: one SRV answer (10 SRV + 10 glue A)\n');
console.log(
  markdownTable(
    ['codec', 'octets', 'encode', 'decode'],
    [
      ['dns2 (used; name compression)', String(a2.length), us(enc2), us(dec2)],
      ['dns-packet (no compression on encode)', String(ap.length), us(encP), us(decP)],
    ],
  ),
);
console.log(
  `\ndns2 encodes ${ratio(enc2, encP)} slower but ${ratio(ap.length, a2.length)} smaller; the server encodes once per registry change.`,
);

await server.close();
await dns2Server.close();
for (const r of regs) await r.close();
await memory.close();
await dnsmasq.stop();
