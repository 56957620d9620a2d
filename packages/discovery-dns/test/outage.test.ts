import { createSocket } from 'node:dgram';
import { createMemoryDiscovery, type DiscoveryBackend, SwitchyardError } from '@switchyard/core';
import { startDnsmasq } from '@switchyard/testkit/servers';
import { expect, it } from 'vitest';
import { encodeQuery, TYPE } from '../src/dns-message.js';
import { startDnsServer } from '../src/index.js';
import { dig, eventually, header, short, sleep } from './dig.js';

it('a registry outage: watched services keep answering from the last view, unknown names get SERVFAIL, not NXDOMAIN', async () => {
  const memory = createMemoryDiscovery();
  let down = false;
  // The memory backend with its service list failing on demand, as a backend outage looks to the server.
  const flaky: DiscoveryBackend = {
    name: memory.name,
    capabilities: memory.capabilities,
    register: (i, o) => memory.register(i, o as never),
    resolve: (s, o) => memory.resolve(s, o),
    watch: (s, o) => memory.watch(s, o),
    services: (o) =>
      down
        ? Promise.reject(new SwitchyardError('BACKEND_UNAVAILABLE', '[test] registry down'))
        : memory.services(o),
    close: () => memory.close(),
    [Symbol.asyncDispose]: () => memory.close(),
  };
  const errors: unknown[] = [];
  await using _reg = await memory.register({ id: 'o1', service: 'kept', address: '10.8.0.1', port: 1 });
  await using server = await startDnsServer({
    discovery: flaky,
    zone: 'out.test',
    missRefresh: 0,
    onError: (e) => errors.push(e),
  });
  expect(await short(server.port, 'kept.out.test')).toEqual(['10.8.0.1']);
  expect(header(await dig(server.port, ['other.out.test', 'A'])).status).toBe('NXDOMAIN');
  down = true;
  expect(header(await dig(server.port, ['other.out.test', 'A'])).status).toBe('SERVFAIL');
  expect(await short(server.port, 'kept.out.test')).toEqual(['10.8.0.1']);
  expect(errors.length).toBeGreaterThan(0);
  down = false;
  expect(header(await dig(server.port, ['other.out.test', 'A'])).status).toBe('NXDOMAIN');
  await memory.close();
});

it('rate limit per client: a burst beyond it is dropped, the client is served again once tokens refill', async () => {
  await using memory = createMemoryDiscovery();
  await using _r = await memory.register({ id: 'r1', service: 'rl', address: '10.8.1.1', port: 1 });
  await using server = await startDnsServer({
    discovery: memory,
    zone: 'rl.test',
    rateLimit: { perSecond: 5, burst: 5 },
  });
  const sock = createSocket('udp4');
  let replies = 0;
  sock.on('message', () => replies++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  for (let i = 0; i < 30; i++)
    sock.send(encodeQuery(i, 'rl.rl.test', TYPE.A, 1232), server.port, '127.0.0.1');
  await sleep(300);
  sock.close();
  expect(replies).toBeGreaterThanOrEqual(5);
  expect(replies).toBeLessThanOrEqual(7);
  expect(server.stats.rateLimited).toBeGreaterThanOrEqual(23);
  await sleep(1_000);
  expect(await short(server.port, 'rl.rl.test')).toEqual(['10.8.1.1']);
});

it('maxServices bounds the watches: a service without instances gives its watch up to a new one', async () => {
  await using memory = createMemoryDiscovery();
  await using server = await startDnsServer({
    discovery: memory,
    zone: 'cap.test',
    maxServices: 1,
    missRefresh: 0,
  });
  const one = await memory.register({ id: 'c1', service: 'one', address: '10.8.2.1', port: 1 });
  expect(await short(server.port, 'one.cap.test')).toEqual(['10.8.2.1']);
  await using _two = await memory.register({ id: 'c2', service: 'two', address: '10.8.2.2', port: 1 });
  // `one` still has an instance: no room for `two`.
  expect(header(await dig(server.port, ['two.cap.test', 'A'])).status).toBe('SERVFAIL');
  await one.close();
  await eventually(async () => header(await dig(server.port, ['one.cap.test', 'A'])).status === 'NXDOMAIN');
  expect(await short(server.port, 'two.cap.test')).toEqual(['10.8.2.2']);
});

it('forwarding: an upstream outage serves the last upstream answer with TTL 0, then SERVFAIL once it is too old', async () => {
  const up = await startDnsmasq({ config: ['local=/up.test/', 'host-record=x.up.test,10.8.3.1'] });
  await using memory = createMemoryDiscovery();
  await using server = await startDnsServer({
    discovery: memory,
    zone: 'own.test',
    upstreams: [`${up.host}:${up.port}`],
    upstreamTimeout: 200,
    upstreamStale: 1_500,
  });
  try {
    expect(await dig(server.port, ['x.up.test', 'A', '+noall', '+answer'])).toMatch(
      /x\.up\.test\.\s+1\s+IN\s+A\s+10\.8\.3\.1/,
    );
    await up.stop();
    await sleep(1_100);
    expect(await dig(server.port, ['x.up.test', 'A', '+noall', '+answer'])).toMatch(
      /x\.up\.test\.\s+0\s+IN\s+A\s+10\.8\.3\.1/,
    );
    await sleep(1_600);
    expect(header(await dig(server.port, ['x.up.test', 'A'])).status).toBe('SERVFAIL');
  } finally {
    await up.stop();
  }
});
