import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Child-process glue: the parent sends { upstream }, we start, answer { port }; 'rss' → { rss }. */
export function serveTarget(start: (upstream: string) => Promise<Server | { port: number }>): void {
  process.on('message', async (msg: { upstream?: string; cmd?: string }) => {
    if (msg.upstream) {
      const s = await start(msg.upstream);
      const port = 'port' in s ? s.port : ((s as Server).address() as AddressInfo).port;
      process.send?.({ port });
    } else if (msg.cmd === 'exit') {
      process.exit(0);
    } else if (msg.cmd === 'rss') {
      process.send?.({ rss: process.memoryUsage.rss() });
    }
  });
}
