import { randomBytes } from 'node:crypto';
import type { Clock } from '@switchyard/core';
import { callBackend } from '@switchyard/core/driver';
import { PKG } from './instance-record.js';
import type { KeyLayout } from './key-layout.js';
import type { LuaScript, RedisClient } from './scripts.js';

/** How long the meta and log of a service without instances are kept, ms (one hour). */
export const EMPTY_SERVICE_RETENTION = 3_600_000;

export interface RedisContextOptions {
  client: RedisClient;
  keys: KeyLayout;
  clock: Clock;
  requestTimeout: number;
  streamMaxLen: number;
}

/** What the registration driver and the stream reader share: the client, keys and script calls. */
export class RedisContext {
  readonly client: RedisClient;
  readonly keys: KeyLayout;
  readonly clock: Clock;
  readonly requestTimeout: number;
  /** Redis Cluster: no multi-slot XREAD, so the reader is woken by a pub/sub doorbell instead. */
  readonly cluster: boolean;
  readonly #streamMaxLen: string;
  readonly #seed = randomBytes(6).toString('hex');
  #counter = 0;

  constructor(o: RedisContextOptions) {
    this.client = o.client;
    this.keys = o.keys;
    this.clock = o.clock;
    this.requestTimeout = o.requestTimeout;
    this.cluster = o.client.isCluster === true;
    this.#streamMaxLen = String(o.streamMaxLen);
  }

  /** A value unique across processes and calls (candidate epochs, owner tokens): no `|`. */
  uid(): string {
    return `${this.#seed}${(++this.#counter).toString(36)}`;
  }

  /** Runs a per-service script (KEYS = the service's four keys, ARGV = the common five + `args`). */
  run(script: LuaScript, service: string, args: readonly (string | number)[]): Promise<unknown> {
    const k = this.keys.service(service);
    return script.run(
      this.client,
      [k.records, k.deadlines, k.log, k.meta],
      [
        this.uid(),
        this.#streamMaxLen,
        EMPTY_SERVICE_RETENTION,
        this.cluster ? this.keys.channel : '',
        service,
        ...args,
      ],
    );
  }

  /** One call under `requestTimeout` (or `timeout`), failures mapped to `BACKEND_UNAVAILABLE`. */
  call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    timeout = this.requestTimeout,
  ): Promise<T> {
    return callBackend(what, { pkg: PKG, clock: this.clock, timeout, signal }, fn);
  }
}
