import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedProcess, makeTempDir, pollUntil } from './managed-process.js';
import { freePort } from './ports.js';

export interface DnsmasqServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** Directory holding `hosts` and `dnsmasq.conf`; rewrite them and `reload()` to change records. */
  readonly dir: string;
  /** SIGHUP: re-reads the hosts file (not the config; use `restart` for config changes). */
  reload(): void;
  stop(): Promise<void>;
}

export interface StartDnsmasqOptions {
  /** Lines for an /etc/hosts-style file, e.g. `['10.0.0.1 api.test']`. */
  hosts?: string[];
  /** Extra dnsmasq.conf lines, e.g. `['srv-host=_http._tcp.api.test,api.test,8080,0,10']`. */
  config?: string[];
}

/** Starts `dnsmasq` authoritative for the given records on a free loopback UDP/TCP port, no upstream. */
export async function startDnsmasq(options: StartDnsmasqOptions = {}): Promise<DnsmasqServer> {
  const bin = findBinary('dnsmasq');
  const port = await freePort();
  const host = '127.0.0.1';
  const dir = makeTempDir('dnsmasq');
  const hostsFile = join(dir, 'hosts');
  const confFile = join(dir, 'dnsmasq.conf');
  writeFileSync(hostsFile, `${(options.hosts ?? []).join('\n')}\n`);
  writeFileSync(
    confFile,
    [
      `port=${port}`,
      `listen-address=${host}`,
      'bind-interfaces',
      'no-resolv',
      'no-hosts',
      'no-poll',
      `addn-hosts=${hostsFile}`,
      'local-ttl=1',
      'host-record=switchyard-ready.test,127.0.0.99',
      ...(options.config ?? []),
    ].join('\n') + '\n',
  );
  const proc = new ManagedProcess({
    name: `dnsmasq:${port}`,
    command: bin,
    dataDir: dir,
    args: () => [
      '--keep-in-foreground',
      `--conf-file=${confFile}`,
      '--user=root',
      `--pid-file=${join(dir, 'pid')}`,
    ],
    ready: (signal) => pollUntil(() => dnsAnswers(host, port, 'switchyard-ready.test'), signal),
  });
  await proc.start();
  const server: DnsmasqServer = {
    host,
    port,
    dir,
    process: proc,
    reload: () => {
      if (proc.pid) process.kill(proc.pid, 'SIGHUP');
    },
    stop: () => proc.stop(),
    [Symbol.asyncDispose]: () => proc.stop(),
  };
  return server;
}

/** Sends a minimal A query and resolves true on any response. */
function dnsAnswers(host: string, port: number, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
    const query = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
      ...labels,
      Buffer.from([0x00, 0x00, 0x01, 0x00, 0x01]),
    ]);
    const timer = setTimeout(() => {
      sock.close();
      resolve(false);
    }, 300);
    sock.on('message', () => {
      clearTimeout(timer);
      sock.close();
      resolve(true);
    });
    sock.on('error', () => {
      clearTimeout(timer);
      sock.close();
      resolve(false);
    });
    sock.send(query, port, host);
  });
}
