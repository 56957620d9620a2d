import { once } from 'node:events';
import type { Command } from 'commander';
import { action } from '../command-runner.js';
import { openDiscovery } from '../connect/discovery-client.js';
import { usageError } from '../exit-codes.js';
import { collect, integerFlag } from '../flag-values.js';

/** `switchyard dns serve`: publishes the chosen discovery backend as DNS (A/AAAA/SRV/TXT, DNS-SD). */
export function dnsCommands(program: Command): void {
  const dns = program
    .command('dns')
    .description('DNS over any discovery backend (@switchyard/discovery-dns)');

  dns
    .command('serve')
    .description('serves the registry as DNS under ZONE until interrupted (UDP and TCP)')
    .requiredOption(
      '--zone <zone>',
      'zone served, e.g. service.example. (orders.service.example. = service orders)',
    )
    .option('--listen <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'UDP and TCP port (0: a free one)', '5353')
    .option('--ttl <ms>', 'TTL of answers')
    .option(
      '--upstream <host[:port]>',
      'resolver for names outside the zone (repeatable; none: REFUSED)',
      collect,
    )
    .action(
      action<{ zone: string; listen: string; port: string; ttl?: string; upstream?: string[] }>(
        async ({ options, out, signal }, res) => {
          const port = integerFlag('--port', options.port, 0, 65_535) as number;
          const ttl = integerFlag('--ttl', options.ttl, 1000);
          if (!options.zone.trim()) throw usageError('--zone', 'must not be empty');
          const { discovery, backend } = await openDiscovery(options);
          res.add(discovery);
          const { startDnsServer } = await import('@switchyard/discovery-dns');
          const server = await startDnsServer({
            discovery,
            zone: options.zone,
            host: options.listen,
            port,
            ...(ttl !== undefined ? { ttl } : {}),
            ...(options.upstream?.length ? { upstreams: options.upstream } : {}),
          });
          res.add(server);
          out.result(
            { listening: { host: server.host, port: server.port, zone: options.zone, backend } },
            () =>
              `${out.color.green('serving')} ${options.zone} from ${backend} on ${server.host}:${server.port} (udp+tcp; Ctrl-C to stop)`,
          );
          if (!signal.aborted) await once(signal, 'abort');
          out.result({ stopped: true, stats: server.stats }, () => 'stopped');
        },
      ),
    );
}
