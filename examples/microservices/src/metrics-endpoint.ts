import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrometheusExporter } from '@switchyard/core/prometheus';

/**
 * The demo's `/metrics` endpoint: every Switchyard event of the process (locks, discovery, the
 * gateway's balancer, the cache) as Prometheus metrics. `pnpm demo --metrics` prints the URL and
 * the final scrape; a real gateway serves it on its admin port.
 */
export async function startMetricsEndpoint(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const exporter = createPrometheusExporter({ lockKeyLabel: (key) => key.split('/')[0] });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') exporter.handler(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: async () => {
      exporter.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
