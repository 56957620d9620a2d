/**
 * Demo: a memory registry published over DNS, queried by `dig` and by the resolver half.
 *
 *   pnpm --filter @switchyard/discovery-dns demo            # runs until Ctrl-C
 *   dig @127.0.0.1 -p 5300 orders.demo.test SRV             # in another terminal
 *
 * DEMO_PORT changes the port; DEMO_ONCE=1 exits after printing the resolver's view.
 */
import { createMemoryDiscovery } from '@switchyard/core';
import { createDnsDiscovery, startDnsServer } from '../src/index.js';

const port = Number(process.env.DEMO_PORT ?? 5300);
await using registry = createMemoryDiscovery();
await using _orders1 = await registry.register({
  id: 'orders-1',
  service: 'orders',
  address: '127.0.0.1',
  port: 8081,
  tags: ['http'],
  metadata: { version: '2.4.1' },
  weight: 3,
});
await using orders2 = await registry.register({
  id: 'orders-2',
  service: 'orders',
  address: '127.0.0.2',
  port: 8082,
  tags: ['http'],
  weight: 1,
});
await using server = await startDnsServer({ discovery: registry, zone: 'demo.test.', port, ttl: 5_000 });
process.stdout.write(`serving demo.test. on 127.0.0.1:${server.port} (UDP and TCP)\n`);
process.stdout.write(`  dig @127.0.0.1 -p ${server.port} orders.demo.test SRV\n`);
process.stdout.write(`  dig @127.0.0.1 -p ${server.port} _http._tcp.orders.demo.test SRV\n`);
process.stdout.write(`  dig @127.0.0.1 -p ${server.port} _instances.orders.demo.test PTR\n`);

// The resolver half reads it back: every field, through DNS-SD.
await using dns = createDnsDiscovery({
  nameservers: [`127.0.0.1:${server.port}`],
  mode: 'dns-sd',
  zone: 'demo.test',
});
for (const i of (await dns.resolve('orders')).instances) {
  process.stdout.write(
    `  resolver sees ${i.id} ${i.address}:${i.port} weight=${i.weight} tags=${i.tags.join(',')}\n`,
  );
}
await orders2.setHealth('maintenance');
process.stdout.write('orders-2 set to maintenance: it leaves orders.demo.test at once, keeps its own name\n');

if (process.env.DEMO_ONCE !== '1') {
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}
