import type { ServiceInstance } from '@switchyard/core';
import { Pool } from 'undici';

export interface UpstreamPoolOptions {
  /** Keep-alive connections per upstream instance. Default 128. */
  connections?: number;
  /** Idle keep-alive time, ms. Default 30 000. */
  keepAliveTimeout?: number;
}

export function originOf(instance: ServiceInstance): string {
  const a = instance.address;
  return `http://${a.includes(':') && !a.startsWith('[') ? `[${a}]` : a}:${instance.port}`;
}

/** One undici keep-alive pool per upstream instance; pools of instances that left are closed. */
export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();
  readonly #options: Required<UpstreamPoolOptions>;

  constructor(options: UpstreamPoolOptions = {}) {
    this.#options = {
      connections: options.connections ?? 128,
      keepAliveTimeout: options.keepAliveTimeout ?? 30_000,
    };
  }

  get size(): number {
    return this.#pools.size;
  }

  get(instance: ServiceInstance): Pool {
    const origin = originOf(instance);
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#options.connections,
        keepAliveTimeout: this.#options.keepAliveTimeout,
        pipelining: 1,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes (gracefully) the pools whose origin is not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.#pools) {
      if (live.has(origin)) continue;
      this.#pools.delete(origin);
      pool.close().catch(() => pool.destroy());
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((p) => p.close().catch(() => p.destroy())));
  }

  destroy(): void {
    for (const p of this.#pools.values()) p.destroy();
    this.#pools.clear();
  }
}
