import { type ClientHttp2Session, connect } from 'node:http2';
import type { ServiceInstance } from '@switchyard/core';
import { originOf } from './upstream-pools.js';

const CONNECT_TIMEOUT = 5_000;

/** One multiplexed HTTP/2 (h2c, prior knowledge) session per upstream instance, re-dialled when it dies. */
export class H2Sessions {
  readonly #sessions = new Map<string, Promise<ClientHttp2Session>>();

  /** A connected session, or a rejection when the instance cannot be reached (nothing was sent). */
  get(instance: ServiceInstance): Promise<ClientHttp2Session> {
    const origin = originOf(instance);
    const existing = this.#sessions.get(origin);
    if (existing) return existing;
    const p = new Promise<ClientHttp2Session>((resolve, reject) => {
      const session = connect(origin);
      const t = setTimeout(() => session.destroy(new Error('connect timeout')), CONNECT_TIMEOUT);
      const forget = () => {
        if (this.#sessions.get(origin) === p) this.#sessions.delete(origin);
      };
      session.once('connect', () => {
        clearTimeout(t);
        resolve(session);
      });
      session.once('error', (e) => {
        clearTimeout(t);
        forget();
        reject(e);
      });
      session.once('close', forget);
      session.once('goaway', forget);
    });
    p.catch(() => {});
    this.#sessions.set(origin, p);
    return p;
  }

  retain(live: ReadonlySet<string>): void {
    for (const [origin, p] of this.#sessions) {
      if (live.has(origin)) continue;
      this.#sessions.delete(origin);
      p.then(
        (s) => s.close(),
        () => {},
      );
    }
  }

  async close(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (s) => new Promise<void>((r) => s.close(() => r())),
          () => {},
        ),
      ),
    );
  }

  destroy(): void {
    for (const p of this.#sessions.values())
      p.then(
        (s) => s.destroy(),
        () => {},
      );
    this.#sessions.clear();
  }
}
