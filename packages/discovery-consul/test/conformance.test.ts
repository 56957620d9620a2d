import { runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { afterAll } from 'vitest';
import { createConsulDiscovery } from '../src/index.js';
import { type ConsulTarget, startTarget } from './target.js';

// A real agent when CONSUL_HTTP_ADDR is set, otherwise the testkit emulator (see target.ts).
let target: ConsulTarget | undefined;
afterAll(async () => {
  await target?.close();
});

runDiscoveryConformance({
  name: process.env.CONSUL_HTTP_ADDR
    ? `consul (agent at ${process.env.CONSUL_HTTP_ADDR})`
    : 'consul (emulator)',
  ttlGranularity: 'seconds',
  create: async () => {
    target ??= await startTarget();
    const t = target;
    const options = { host: t.host, port: t.port, ttl: 3000, wait: 5000, backoff: { base: 50, max: 500 } };
    const a = createConsulDiscovery(options);
    const b = createConsulDiscovery(options);
    const emulator = t.emulator;
    return {
      a,
      b,
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
      },
      // Only the emulator can be restarted from a test; against a real agent these checks are skipped.
      interrupt: emulator ? () => emulator.restart() : undefined,
      // A dev agent's restart forgets every registration (and its index starts again).
      forget: emulator ? () => emulator.restart() : undefined,
    };
  },
});
