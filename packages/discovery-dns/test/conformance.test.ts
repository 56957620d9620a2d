import { createMemoryDiscovery, type Registration } from '@switchyard/core';
import { runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { afterAll } from 'vitest';
import { createDnsDiscovery, type DnsServer, startDnsServer } from '../src/index.js';

// The read side of the contract, end to end: instances registered in core's memory backend are
// published by our DNS server, and the DNS discovery backend (DNS-SD mode) reads them back.
const ZONE = 'conformance.test';
const memory = createMemoryDiscovery();
let server: Promise<DnsServer> | undefined;
const options = { discovery: memory, zone: ZONE, ttl: 1_000, negativeTtl: 0, missRefresh: 20 };
const started = () => {
  server ??= startDnsServer(options);
  return server;
};
/** Stops the DNS server for a while and starts a fresh one (empty caches and views) on the same port. */
async function restart(): Promise<void> {
  const old = await started();
  await old.close();
  await new Promise((r) => setTimeout(r, 500));
  server = startDnsServer({ ...options, port: old.port });
  await server;
}

afterAll(async () => {
  await (await server)?.close();
  await memory.close();
});

runDiscoveryConformance({
  name: 'discovery-dns (memory → DNS server → DNS-SD resolver)',
  readOnly: true,
  ttlGranularity: 'seconds',
  propagationBound: 3_000,
  create: async () => {
    const s = await started();
    const held: Registration[] = [];
    const make = () =>
      createDnsDiscovery({ nameservers: [`127.0.0.1:${s.port}`], mode: 'dns-sd', zone: ZONE });
    const a = make();
    const b = make();
    return {
      a,
      b,
      interrupt: restart,
      register: async (instance, opts) => {
        const r = await memory.register(instance, opts);
        held.push(r);
        return r;
      },
      cleanup: async () => void (await Promise.all([a.close(), b.close(), ...held.map((r) => r.close())])),
    };
  },
});
