#!/usr/bin/env node
/**
 * `switchyard-dns [--config file.yaml]`: a DNS server over a memory registry with the HTTP
 * registration API (seed 004). Configuration: the YAML file, then SWITCHYARD_DNS_* / SWITCHYARD_HTTP_*
 * variables. SIGINT/SIGTERM close everything and exit 0.
 */
import { createMemoryDiscovery, isSwitchyardError } from '@switchyard/core';
import { startDnsServer } from '../server/dns-server.js';
import { startRegistrationApi } from '../service/registration-api.js';
import { loadServiceConfig } from '../service/service-config.js';

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const config = loadServiceConfig({ file: argValue('--config') });
  const discovery = createMemoryDiscovery({ ttl: config.http.ttl });
  const dns = await startDnsServer({ discovery, ...config.dns });
  const http = config.http.enabled
    ? await startRegistrationApi({
        discovery,
        host: config.http.host,
        port: config.http.port,
        ttl: config.http.ttl,
      })
    : undefined;
  process.stderr.write(`switchyard-dns: zone ${config.dns.zone} on ${dns.host}:${dns.port} (udp, tcp)\n`);
  if (http)
    process.stderr.write(
      `switchyard-dns: registration API on http://${http.host}:${http.port}/api/v1/services\n`,
    );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await http?.close();
    await dns.close();
    await discovery.close();
    process.stderr.write('switchyard-dns: stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(
    `switchyard-dns: ${isSwitchyardError(e) || e instanceof Error ? e.message : String(e)}\n`,
  );
  process.exit(2);
});
