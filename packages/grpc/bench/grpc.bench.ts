/**
 * Unary call throughput and latency through grpc-js with the `switchyard` LB policy (least request,
 * ring hash by metadata) vs grpc-js's own `round_robin` and `pick_first` over the same three servers,
 * same process, same run. `pnpm bench [-- --duration 3 --concurrency 64]`
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createMemoryDiscovery } from '@switchyard/core';
import { registerSwitchyardGrpc, switchyardServiceConfig } from '../src/index.js';
import { EchoClient, startEchoServer, unary } from '../test/echo-service.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '64' } },
});
const duration = Number(values.duration) * 1000;
const concurrency = Number(values.concurrency);

const discovery = createMemoryDiscovery();
using _reg = registerSwitchyardGrpc({ discovery });
const servers = await Promise.all(['b-1', 'b-2', 'b-3'].map((id) => startEchoServer(id, discovery, 'bench')));
const ipv4 = `ipv4:${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`;

const cases: { name: string; target: string; config: string; md?: boolean }[] = [
  { name: 'switchyard least_request', target: 'switchyard:///bench', config: switchyardServiceConfig() },
  {
    name: 'switchyard ring_hash (metadata key)',
    target: 'switchyard:///bench',
    config: switchyardServiceConfig({ picker: 'ring_hash', hashMetadata: 'user-id' }),
    md: true,
  },
  {
    name: 'grpc-js round_robin',
    target: ipv4,
    config: JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  },
  {
    name: 'grpc-js pick_first',
    target: ipv4,
    config: JSON.stringify({ loadBalancingConfig: [{ pick_first: {} }] }),
  },
  // Run order matters in one process (JIT, GC): the first case again, last.
  {
    name: 'switchyard least_request (again, last)',
    target: 'switchyard:///bench',
    config: switchyardServiceConfig(),
  },
];

const rows: string[] = [];
let baseline = 0;
for (const c of cases) {
  const client = new EchoClient(c.target, grpc.credentials.createInsecure(), {
    'grpc.service_config': c.config,
  });
  for (let i = 0; i < 200; i++) await unary(client, 'warm');
  const times: number[] = [];
  const stopAt = performance.now() + duration;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) {
        const md = new grpc.Metadata();
        if (c.md) md.set('user-id', `u${n % 1000}`);
        const t0 = performance.now();
        await unary(client, 'x', md);
        times.push(performance.now() - t0);
        n++;
      }
    }),
  );
  client.close();
  times.sort((a, b) => a - b);
  const rps = n / (duration / 1000);
  if (!baseline) baseline = rps;
  const p = (q: number) => times[Math.floor(q * times.length)]!.toFixed(2);
  rows.push(`| ${c.name} | ${Math.round(rps)} | ${p(0.5)} | ${p(0.99)} | ${(rps / baseline).toFixed(2)} |`);
}
await Promise.all(servers.map((s) => s.close()));
await discovery.close();
process.stdout.write(
  `${['| policy | calls/s | P50 ms | P99 ms | ÷ switchyard least_request |', '|---|---|---|---|---|', ...rows].join('\n')}\n`,
);
