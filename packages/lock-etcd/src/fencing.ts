import { assertDuration, assertKey, invalidArgument, SwitchyardError } from '@switchyard/core';
import type { Namespace } from 'etcd3';
import { PKG } from './constants.js';
import { rpc } from './queue.js';
import { callOptions } from './rpc.js';

export interface FencedPutOptions {
  /** The protected key to write. */
  key: string;
  value: string | Buffer;
  /** The writer's fencing token (`lease.token`). */
  token: bigint;
  /** Where the highest token seen is stored (default `<key>.fence`). */
  fenceKey?: string;
  /** Deadline of each etcd call in ms (default 5000). */
  requestTimeout?: number;
  signal?: AbortSignal;
}

export interface FencedPutResult {
  /** True when the write happened (the stored token was older or equal). */
  written: boolean;
  /** The token stored in the fence after the call. */
  fence: bigint;
}

/** Width of a zero-padded token: etcd compares values as bytes, so padding makes it numeric. */
const WIDTH = 20;

/**
 * Writes `key` only if no newer fencing token has written before: in one etcd transaction,
 * compare the stored fence (`Value < token + 1`), then put the value and raise the fence to
 * `token`. A holder that lost its lock (and whose successor already wrote) is rejected with
 * `written: false`, so the token protects etcd-held resources, not just the lock.
 * Equal tokens pass: a holder may write several times.
 */
export async function fencedPut(client: Namespace, options: FencedPutOptions): Promise<FencedPutResult> {
  const key = assertKey(PKG, 'key', options.key);
  const fenceKey = assertKey(PKG, 'fenceKey', options.fenceKey ?? `${key}.fence`);
  if (typeof options.token !== 'bigint' || options.token < 0n || options.token.toString().length > WIDTH) {
    throw invalidArgument(PKG, 'token', 'must be a non-negative bigint of at most 20 digits');
  }
  if (typeof options.value !== 'string' && !Buffer.isBuffer(options.value)) {
    throw invalidArgument(PKG, 'value', 'must be a string or a Buffer');
  }
  const timeout = assertDuration(PKG, 'requestTimeout', options.requestTimeout ?? 5000);
  const token = options.token;
  const pad = (t: bigint) => t.toString().padStart(WIDTH, '0');
  const writes = () => [client.put(fenceKey).value(pad(token)), client.put(key).value(options.value)];
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await rpc(
      options.signal,
      'fenced put',
      client
        .if(fenceKey, 'Value', '<', pad(token + 1n))
        .then(...writes())
        .else(client.get(fenceKey))
        .options(callOptions(timeout))
        .commit(),
    );
    if (res.succeeded) return { written: true, fence: token };
    const stored = res.responses[0]?.response_range?.kvs[0];
    if (stored) return { written: false, fence: BigInt(stored.value.toString()) };
    // No fence yet: create it, unless a concurrent writer did so first (then compare again).
    const created = await rpc(
      options.signal,
      'fenced put',
      client
        .if(fenceKey, 'Create', '==', 0)
        .then(...writes())
        .options(callOptions(timeout))
        .commit(),
    );
    if (created.succeeded) return { written: true, fence: token };
  }
  throw new SwitchyardError('CONFLICT', `[${PKG}] fence ${fenceKey} kept changing; gave up after 5 attempts`);
}
