import { invalidArgument } from '@switchyard/core';
import type { WatchSource } from '@switchyard/loadbalancer';
import { PKG } from './constants.js';

/**
 * grpc-js constructs resolvers itself, from a target string; this registry is how a
 * `switchyard://<name>/service` target finds its discovery backend (`default` when the authority is empty).
 */
const sources = new Map<string, WatchSource>();

export function setDiscoverySource(name: string, source: WatchSource): void {
  if (typeof source?.watch !== 'function')
    throw invalidArgument(
      PKG,
      'discovery',
      'must have a watch(service, options) method (a discovery backend or client)',
    );
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw invalidArgument(
      PKG,
      'name',
      `must be 1-64 letters, digits, ".", "_", "-", got ${JSON.stringify(name)}`,
    );
  sources.set(name, source);
}

export function deleteDiscoverySource(name: string, source: WatchSource): void {
  if (sources.get(name) === source) sources.delete(name);
}

export function discoverySource(name: string): WatchSource | undefined {
  return sources.get(name);
}
