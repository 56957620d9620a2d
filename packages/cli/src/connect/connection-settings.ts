import { readFileSync } from 'node:fs';
import type { IOptions as EtcdOptions } from 'etcd3';
import type { RedisOptions } from 'ioredis';
import { usageError } from '../exit-codes.js';
import type { GlobalOptions } from './global-options.js';

/** Flags and environment turned into the options of each backend's client. */
export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (cause) {
    throw usageError(flag, `cannot read ${path} (${(cause as Error).message})`);
  }
}

export function tlsFiles(o: GlobalOptions): TlsFiles | undefined {
  const ca = readPem('--tls-ca', o.tlsCa);
  const cert = readPem('--tls-cert', o.tlsCert);
  const key = readPem('--tls-key', o.tlsKey);
  if ((cert === undefined) !== (key === undefined)) {
    throw usageError(
      cert ? '--tls-key' : '--tls-cert',
      'a client certificate needs both --tls-cert and --tls-key',
    );
  }
  if (!ca && !cert && !o.tlsInsecure) return undefined;
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: !o.tlsInsecure,
  };
}

/** `--timeout` as milliseconds (a positive integer). */
export function requestTimeout(o: GlobalOptions): number {
  const ms = Number(o.timeout);
  if (!Number.isInteger(ms) || ms <= 0)
    throw usageError('--timeout', `must be a positive integer of ms (got ${o.timeout})`);
  return ms;
}

export function redisUrl(o: GlobalOptions): string {
  const url = o.redis ?? 'redis://127.0.0.1:6379';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError('--redis', `not a URL: ${url} (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw usageError('--redis', `must start with redis:// or rediss:// (got ${parsed.protocol}//)`);
  }
  return url;
}

/**
 * ioredis options of a CLI connection: fail fast (one attempt per command, no offline queue
 * growing while Redis is down), TLS from the flags.
 */
export function redisOptions(o: GlobalOptions): RedisOptions {
  const tls = tlsFiles(o);
  const timeout = requestTimeout(o);
  return {
    lazyConnect: false,
    connectTimeout: timeout,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (times) => (times > 2 ? null : 100 * times),
    ...(tls ? { tls } : {}),
  };
}

export function etcdHosts(o: GlobalOptions): string[] {
  const raw = o.etcd ?? '127.0.0.1:2379';
  const secure = tlsFiles(o) !== undefined;
  const hosts = raw
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0)
    .map((h) => (/^https?:\/\//.test(h) ? h : `${secure ? 'https' : 'http'}://${h}`));
  if (hosts.length === 0) throw usageError('--etcd', 'no endpoint given');
  for (const h of hosts) {
    try {
      new URL(h);
    } catch {
      throw usageError('--etcd', `not an endpoint: ${h}`);
    }
  }
  return hosts;
}

/** Extra `etcd3` options: auth and TLS credentials. */
export function etcdClientOptions(o: GlobalOptions): Partial<EtcdOptions> {
  const tls = tlsFiles(o);
  const extra: Partial<EtcdOptions> = {};
  if (o.etcdUser !== undefined) {
    if (o.etcdPassword === undefined) throw usageError('--etcd-password', 'required with --etcd-user');
    extra.auth = { username: o.etcdUser, password: o.etcdPassword };
  }
  if (tls) {
    if (!tls.ca) throw usageError('--tls-ca', 'etcd over TLS needs the CA certificate (--tls-ca)');
    extra.credentials = {
      rootCertificate: tls.ca,
      ...(tls.cert ? { certChain: tls.cert } : {}),
      ...(tls.key ? { privateKey: tls.key } : {}),
    };
  }
  return extra;
}
