import { isIP } from 'node:net';
import { invalidArgument } from '@switchyard/core';
import { PKG } from '../package-name.js';
import type { Nameserver } from './dns-exchange.js';

/** Parses `host`, `host:port`, `[v6]:port` (default port 53). */
export function parseNameserver(field: string, value: unknown): Nameserver {
  if (typeof value !== 'string' || value === '')
    throw invalidArgument(PKG, field, 'must be a "host[:port]" string');
  let host = value;
  let port = 53;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) {
    host = v6[1] as string;
    if (v6[2]) port = Number(v6[2]);
  } else if (isIP(value) !== 6) {
    const i = value.lastIndexOf(':');
    if (i > 0) {
      host = value.slice(0, i);
      port = Number(value.slice(i + 1));
    }
  }
  if (isIP(host) === 0)
    throw invalidArgument(
      PKG,
      field,
      `must be an IP address (with an optional port), got ${JSON.stringify(value)}`,
    );
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw invalidArgument(PKG, field, `has a bad port in ${JSON.stringify(value)}`);
  return { host, port };
}
