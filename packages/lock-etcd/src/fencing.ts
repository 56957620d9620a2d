import {
  assertKey,
  type FencedResult,
  invalidArgument,
  SwitchyardError,
  systemClock,
} from '@switchyard/core';
import { callBackend, DEFAULT_REQUEST_TIMEOUT, opt, parseOptions } from '@switchyard/core/driver';
import { Namespace } from 'etcd3';
import { PKG } from './constants.js';
import { callOptions } from './etcd-connection.js';

export interface FencedPutOptions {
  /** The protected key to write. */
  key: string;
  value: string | Buffer;
  /** The writer's fencing token (`lease.token`). */
  token: bigint;
  /** Where the highest token seen is stored (default `<key>.fence`). */
  fenceKey?: string;
  /** Deadline of each etcd call, ms (default 5 000). */
  requestTimeout?: number;
  signal?: AbortSignal;
}

/** Width of a zero-padded token: etcd compares values as bytes, so padding makes it numeric. */
const WIDTH = 20;

const SCHEMA = {
  key: opt.custom((v, at) => assertKey(at.pkg, at.field, v)),
  value: opt.custom((v, at) => {
    if (typeof v !== 'string' && !Buffer.isBuffer(v))
      throw invalidArgument(at.pkg, at.field, 'must be a string or a Buffer');
    return v;
  }),
  token: opt.custom((v, at) => {
    if (typeof v !== 'bigint' || v < 0n || v.toString().length > WIDTH) {
      throw invalidArgument(at.pkg, at.field, 'must be a non-negative bigint of at most 20 digits');
    }
    return v;
  }),
  fenceKey: opt.custom((v, at) => assertKey(at.pkg, at.field, v)),
  requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
  signal: opt.signal(),
};

/**
 * Writes `key` only if no newer fencing token has written before: in one etcd transaction,
 * compare the stored fence (`Value < token + 1`), then put the value and raise the fence to
 * `token`. A holder that lost its lock (and whose successor already wrote) gets `applied: false`,
 * so the token protects etcd-held resources, not just the lock. Equal tokens pass: a holder may
 * write several times.
 */
export async function fencedPut(client: Namespace, options: FencedPutOptions): Promise<FencedResult> {
  if (!(client instanceof Namespace))
    throw invalidArgument(PKG, 'client', 'must be an Etcd3 client or namespace');
  const o = parseOptions(PKG, options, SCHEMA);
  if (o.key === undefined) throw invalidArgument(PKG, 'key', 'is required');
  if (o.value === undefined) throw invalidArgument(PKG, 'value', 'is required');
  if (o.token === undefined) throw invalidArgument(PKG, 'token', 'is required');
  const { key, value, token, requestTimeout } = o;
  const fenceKey = o.fenceKey ?? `${key}.fence`;
  const clock = systemClock;
  const pad = (t: bigint) => t.toString().padStart(WIDTH, '0');
  const writes = () => [client.put(fenceKey).value(pad(token)), client.put(key).value(value)];
  const call = <T>(fn: () => Promise<T>) =>
    callBackend('fenced put', { pkg: PKG, clock, timeout: requestTimeout, signal: o.signal }, fn);
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await call(() =>
      client
        .if(fenceKey, 'Value', '<', pad(token + 1n))
        .then(...writes())
        .else(client.get(fenceKey))
        .options(callOptions(clock, requestTimeout))
        .commit(),
    );
    if (res.succeeded) return { applied: true, fence: token };
    const stored = res.responses[0]?.response_range?.kvs[0];
    if (stored) return { applied: false, fence: BigInt(stored.value.toString()) };
    // No fence yet: create it, unless a concurrent writer did so first (then compare again).
    const created = await call(() =>
      client
        .if(fenceKey, 'Create', '==', 0)
        .then(...writes())
        .options(callOptions(clock, requestTimeout))
        .commit(),
    );
    if (created.succeeded) return { applied: true, fence: token };
  }
  throw new SwitchyardError('CONFLICT', `[${PKG}] fence ${fenceKey} kept changing; gave up after 5 attempts`);
}
