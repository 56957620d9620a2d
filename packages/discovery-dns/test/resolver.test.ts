import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiscoveryEvent } from '@switchyard/core';
import { type DnsmasqServer, startDnsmasq } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsDiscovery, createDnsResolver } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MANY = Array.from({ length: 40 }, (_, i) => i);

let dnsmasq: DnsmasqServer;
/** Authoritative for neg.test: negative answers carry the SOA (RFC 2308). */
let authoritative: DnsmasqServer;
let blackhole: Socket;
let blackholePort: number;
let ns: string;

beforeAll(async () => {
  dnsmasq = await startDnsmasq({
    hosts: ['10.0.0.9 late.orders.test'],
    config: [
      'local=/test/',
      'auth-ttl=1',
      'auth-soa=1,hostmaster.test,1200,180,1209600,1',
      'host-record=a.orders.test,10.0.0.1',
      'host-record=b.orders.test,10.0.0.2,fd00::2',
      'srv-host=_http._tcp.orders.test,a.orders.test,8080,10,5',
      'srv-host=_http._tcp.orders.test,b.orders.test,8081,10,1',
      'srv-host=_http._tcp.orders.test,b.orders.test,8082,20,1',
      'srv-host=_http._tcp.backup.orders.test,gone.orders.test,9000,10,1',
      'srv-host=_http._tcp.backup.orders.test,a.orders.test,9001,20,1',
      ...MANY.map((i) => `host-record=host-with-a-long-name-${i}.big.orders.test,10.1.0.${i + 1}`),
      ...MANY.map(
        (i) =>
          `srv-host=_http._tcp.big.orders.test,host-with-a-long-name-${i}.big.orders.test,${7000 + i},10,1`,
      ),
    ],
  });
  ns = `${dnsmasq.host}:${dnsmasq.port}`;
  authoritative = await startDnsmasq({
    config: [
      'auth-server=ns.test,127.0.0.1',
      'auth-zone=neg.test',
      'auth-ttl=1',
      'auth-soa=1,hostmaster.test,1200,180,1209600,1',
      'host-record=a.neg.test,10.0.0.1',
    ],
  });
  blackhole = createSocket('udp4');
  await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', () => r()));
  blackholePort = blackhole.address().port;
}, 30_000);

afterAll(async () => {
  blackhole?.close();
  await dnsmasq?.stop();
  await authoritative?.stop();
});

describe('resolver against dnsmasq', () => {
  it('resolves SRV with the additional section, A and AAAA, TTLs in ms', async () => {
    await using r = createDnsResolver({ nameservers: [ns] });
    const srv = await r.query('_http._tcp.orders.test', 'SRV');
    expect(srv.status).toBe('NOERROR');
    expect(srv.records.map((x) => `${x.priority} ${x.weight} ${x.port} ${x.target}`).sort()).toEqual([
      '10 1 8081 b.orders.test',
      '10 5 8080 a.orders.test',
      '20 1 8082 b.orders.test',
    ]);
    expect(srv.ttl).toBe(1000);
    expect(srv.additionals.some((x) => x.address === '10.0.0.1')).toBe(true);
    expect((await r.query('b.orders.test', 'AAAA')).records[0]?.address).toBe('fd00::2');
  });

  it('caches by TTL, de-duplicates in-flight queries, re-resolves after expiry', async () => {
    await using r = createDnsResolver({ nameservers: [ns] });
    await Promise.all([
      r.query('a.orders.test', 'A'),
      r.query('a.orders.test', 'A'),
      r.query('A.orders.test.', 'A'),
    ]);
    expect(r.stats.cacheHits).toBe(0);
    await r.query('a.orders.test', 'A');
    expect(r.stats.cacheHits).toBe(1);
    await sleep(1100);
    await r.query('a.orders.test', 'A');
    expect(r.stats.cacheHits).toBe(1);
  });

  it('caches NXDOMAIN and NODATA for the SOA minimum (RFC 2308), then sees the new record', async () => {
    await using r = createDnsResolver({ nameservers: [`${authoritative.host}:${authoritative.port}`] });
    const nx = await r.query('new.neg.test', 'A');
    expect(nx.status).toBe('NXDOMAIN');
    expect(nx.ttl).toBe(1000);
    const nodata = await r.query('a.neg.test', 'AAAA');
    expect(nodata.status).toBe('NODATA');
    writeFileSync(join(authoritative.dir, 'hosts'), '10.0.0.10 new.neg.test\n');
    authoritative.reload();
    await sleep(200);
    expect((await r.query('new.neg.test', 'A')).status).toBe('NXDOMAIN');
    expect(r.stats.cacheHits).toBe(1);
    await sleep(1000);
    expect((await r.query('new.neg.test', 'A')).records[0]?.address).toBe('10.0.0.10');
  });

  it('fails over from a dead first nameserver and then skips it (breaker)', async () => {
    await using r = createDnsResolver({ nameservers: [`127.0.0.1:${blackholePort}`, ns], queryTimeout: 150 });
    const t0 = performance.now();
    expect((await r.query('a.orders.test', 'A')).records.length).toBe(1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(r.stats.failovers).toBe(1);
    r.clearCache();
    const t1 = performance.now();
    await r.query('a.orders.test', 'A');
    // A timeout opens the breaker at once: the second lookup goes straight to the live server.
    expect(performance.now() - t1).toBeLessThan(100);
    expect(r.stats.failovers).toBe(1);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    await using r = createDnsResolver({ nameservers: [ns], udpSize: 512 });
    const big = await r.query('_http._tcp.big.orders.test', 'SRV');
    expect(big.records.length).toBe(MANY.length);
    expect(r.stats.tcpRetries).toBe(1);
  });

  it('every server down: BACKEND_UNAVAILABLE with the reason; stale-if-error serves the last answer', async () => {
    await using dead = createDnsResolver({
      nameservers: [`127.0.0.1:${blackholePort}`],
      queryTimeout: 100,
      attempts: 1,
    });
    await expect(dead.query('a.orders.test', 'A')).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      details: { reason: 'timeout' },
    });
    const refusing = await startDnsmasq({ config: [] });
    try {
      await using r = createDnsResolver({ nameservers: [`${refusing.host}:${refusing.port}`], attempts: 1 });
      // dnsmasq without upstreams answers REFUSED for names it does not own.
      await expect(r.query('example.org', 'A')).rejects.toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        details: { reason: 'refused' },
      });
    } finally {
      await refusing.stop();
    }
    const own = await startDnsmasq({ config: ['host-record=x.test,10.9.9.9'] });
    await using r = createDnsResolver({
      nameservers: [`${own.host}:${own.port}`],
      queryTimeout: 100,
      attempts: 1,
      staleIfError: 5_000,
    });
    expect((await r.query('x.test', 'A')).stale).toBe(false);
    await own.stop();
    await sleep(1100);
    const stale = await r.query('x.test', 'A');
    expect(stale.stale).toBe(true);
    expect(stale.records[0]?.address).toBe('10.9.9.9');
  });

  it('stale-while-revalidate answers an expired entry at once and refreshes it in the background', async () => {
    await using r = createDnsResolver({ nameservers: [ns], staleWhileRevalidate: true });
    expect((await r.query('a.orders.test', 'A')).stale).toBe(false);
    await sleep(1100);
    const stale = await r.query('a.orders.test', 'A');
    expect(stale.stale).toBe(true);
    expect(stale.records[0]?.address).toBe('10.0.0.1');
    await sleep(50);
    const fresh = await r.query('a.orders.test', 'A');
    expect(fresh.stale).toBe(false);
    expect(r.stats.cacheHits).toBe(1);
  });

  it("the caller's signal aborts a lookup stuck on a dead server; close() refuses further lookups", async () => {
    const r = createDnsResolver({ nameservers: [`127.0.0.1:${blackholePort}`], queryTimeout: 2_000 });
    const ac = new AbortController();
    const t0 = performance.now();
    const pending = r.query('a.orders.test', 'A', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(performance.now() - t0).toBeLessThan(1_000);
    await expect(r.query('a.orders.test', 'A', { signal: AbortSignal.timeout(30) })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await r.close();
    await expect(r.query('a.orders.test', 'A')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects bad options and names with INVALID_ARGUMENT naming the field', async () => {
    expect(() => createDnsResolver({ nameservers: ['nope'] })).toThrow(/nameservers\[0\]/);
    expect(() => createDnsResolver({ nameservers: [ns], queryTimout: 5 } as never)).toThrow(/queryTimout/);
    expect(() => createDnsDiscovery({ nameservers: [ns], mode: 'a', name: '{service}.test' })).toThrow(
      /port/,
    );
    await using r = createDnsResolver({ nameservers: [ns] });
    await expect(r.query('bad name', 'A')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'name' });
  });
});

describe('DNS discovery backend against dnsmasq', () => {
  it('srv mode: lowest priority group, targets from the additional section', async () => {
    await using d = createDnsDiscovery({
      nameservers: [ns],
      name: '_http._tcp.{service}.test',
      services: ['orders', 'nothing'],
    });
    const snap = await d.resolve('orders');
    expect(snap.instances.map((i) => `${i.id} w${i.weight}`)).toEqual([
      '10.0.0.1:8080 w5',
      '10.0.0.2:8081 w1',
      '[fd00::2]:8081 w1',
    ]);
    expect(await d.services()).toEqual(['orders']);
    await expect(
      d.register({ id: 'x', service: 'orders', address: '10.0.0.1', port: 1 }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });

  it('srv mode: falls to the next priority when the lowest group has no address', async () => {
    await using d = createDnsDiscovery({ nameservers: [ns], name: '_http._tcp.{service}.orders.test' });
    expect((await d.resolve('backup')).instances.map((i) => i.id)).toEqual(['10.0.0.1:9001']);
  });

  it('a mode: every address with the configured port; NXDOMAIN is an empty service', async () => {
    await using d = createDnsDiscovery({
      nameservers: [ns],
      mode: 'a',
      name: '{service}.orders.test',
      port: 443,
    });
    expect((await d.resolve('b')).instances.map((i) => i.id)).toEqual(['10.0.0.2:443', '[fd00::2]:443']);
    expect((await d.resolve('missing')).instances).toEqual([]);
  });

  it('watch re-resolves at TTL expiry and emits the exact diff', async () => {
    await using d = createDnsDiscovery({
      nameservers: [ns],
      mode: 'a',
      name: '{service}.orders.test',
      port: 80,
    });
    const events: DiscoveryEvent[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of d.watch('late', { signal: ac.signal })) events.push(e);
    })();
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 60 && !f(); i++) await sleep(100);
      expect(f()).toBe(true);
    };
    await until(() => events.length === 1);
    expect(events[0]?.snapshot.instances.map((i) => i.address)).toEqual(['10.0.0.9']);
    writeFileSync(join(dnsmasq.dir, 'hosts'), '10.0.0.9 late.orders.test\n10.0.0.8 late.orders.test\n');
    dnsmasq.reload();
    await until(() => events.length === 2);
    expect(events[1]?.diff.added.map((i) => i.address)).toEqual(['10.0.0.8']);
    expect(events[1]?.diff.removed).toEqual([]);
    writeFileSync(join(dnsmasq.dir, 'hosts'), '10.0.0.8 late.orders.test\n');
    dnsmasq.reload();
    await until(() => events.length === 3);
    expect(events[2]?.diff.removed.map((i) => i.address)).toEqual(['10.0.0.9']);
    expect(events[2]?.snapshot.revision).toBeGreaterThan(events[1]?.snapshot.revision ?? 0);
    ac.abort();
    await loop;
  });
});
