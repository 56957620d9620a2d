import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registration } from '@switchyard/core';
import type { Clients } from './cluster.js';

export interface OrdersService {
  readonly id: string;
  readonly port: number;
  discount(): number;
  stop(): Promise<void>;
}

/**
 * One instance of the "orders" service: an HTTP server that registers itself in discovery and
 * applies its discount from the config center live.
 */
export async function startOrdersService(
  clients: Clients,
  id: string,
  zone: string,
  log: (line: string) => void,
): Promise<OrdersService> {
  let discount = Number((await clients.config.get('orders/discount'))?.value ?? '0');
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ instance: id, zone, path: req.url, discount }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const registration: Registration = await clients.discovery.register(
    {
      id,
      service: 'orders',
      address: '127.0.0.1',
      port,
      zone,
      tags: ['http'],
      metadata: { version: '1.4.2' },
    },
    { ttl: 3000 },
  );

  const watchAbort = new AbortController();
  const configWatch = (async () => {
    for await (const change of clients.config.watch('orders/', { signal: watchAbort.signal })) {
      if (change.key === 'orders/discount' && change.type === 'put') {
        discount = Number(change.entry.value);
        log(`  ${id}: discount is now ${discount}% (config revision ${change.revision})`);
      }
    }
  })();

  return {
    id,
    port,
    discount: () => discount,
    async stop() {
      await registration.close();
      watchAbort.abort();
      await configWatch;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
