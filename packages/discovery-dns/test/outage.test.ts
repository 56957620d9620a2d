import { createMemoryDiscovery, type DiscoveryBackend, SwitchyardError } from '@switchyard/core';
import { expect, it } from 'vitest';
import { startDnsServer } from '../src/index.js';
import { dig, header, short } from './dig.js';

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
