import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '@switchyard/core';
import type { StickyConfig } from '../routes/route-config.js';

export const DEFAULT_SESSION_COOKIE = 'sy_session';
export const DEFAULT_SESSION_TIMEOUT = 30 * 60_000;

interface Session {
  epoch: number;
  lastSeen: number;
  timeout: number;
}

export interface StickyKey {
  /** The affinity key handed to the balancer (session id + epoch). */
  key: string;
  /** A `Set-Cookie` value to add to the response (a new cookie session). */
  setCookie?: string;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let from = 0;
  while (from < header.length) {
    const semi = header.indexOf(';', from);
    const end = semi === -1 ? header.length : semi;
    const eq = header.indexOf('=', from);
    if (eq !== -1 && eq < end && header.slice(from, eq).trim() === name)
      return header.slice(eq + 1, end).trim();
    from = end + 1;
  }
  return undefined;
}

/**
 * Stickiness by cookie, client IP or header, with an idle session timeout. The balancer keeps a
 * key on its instance while that instance is healthy; a session idle longer than its timeout gets
 * a new epoch, so its next request is balanced afresh (the old binding ages out of the balancer's
 * bounded table).
 */
export class StickySessions {
  readonly #sessions = new Map<string, Session>();
  readonly #clock: Clock;
  readonly #max: number;
  #expired = 0;
  #epochs = 0;
  #created = 0;

  constructor(clock: Clock, maxSessions = 200_000) {
    this.#clock = clock;
    this.#max = maxSessions;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get expired(): number {
    return this.#expired;
  }

  get created(): number {
    return this.#created;
  }

  keyFor(
    routeName: string,
    config: StickyConfig,
    headers: IncomingHttpHeaders,
    clientIp: string | undefined,
  ): StickyKey | undefined {
    let raw: string | undefined;
    let setCookie: string | undefined;
    if (config.by === 'cookie') {
      const name = config.name ?? DEFAULT_SESSION_COOKIE;
      raw = cookieValue(headers.cookie, name);
      if (raw === undefined || raw.length === 0 || raw.length > 128) {
        raw = randomBytes(12).toString('base64url');
        setCookie = `${name}=${raw}; Path=/; HttpOnly; SameSite=Lax`;
      }
    } else if (config.by === 'ip') {
      raw = clientIp;
    } else {
      const v = headers[config.by === 'user' ? config.header! : config.name!];
      raw = Array.isArray(v) ? v[0] : v;
    }
    if (raw === undefined || raw === '') return undefined;
    const id = `${routeName}\u0000${raw}`;
    const now = this.#clock.monotonic();
    const timeout = config.sessionTimeout ?? DEFAULT_SESSION_TIMEOUT;
    let s = this.#sessions.get(id);
    if (s && now - s.lastSeen > s.timeout) {
      // A fresh epoch (never reused, even after the entry is swept) means a fresh binding.
      s.epoch = ++this.#epochs;
      this.#expired++;
    }
    if (s) {
      this.#sessions.delete(id);
    } else {
      s = { epoch: ++this.#epochs, lastSeen: now, timeout };
      this.#created++;
    }
    s.lastSeen = now;
    s.timeout = timeout;
    this.#sessions.set(id, s);
    this.#sweep(now);
    const key = `${id}\u0000${s.epoch}`;
    return setCookie ? { key, setCookie } : { key };
  }

  /** Oldest-touched sessions first: drop expired ones (bounded work) and anything over the cap. */
  #sweep(now: number): void {
    let budget = 4;
    for (const [id, s] of this.#sessions) {
      const over = this.#sessions.size > this.#max;
      if (!over && (budget-- === 0 || now - s.lastSeen <= s.timeout)) break;
      this.#sessions.delete(id);
      if (!over) this.#expired++;
    }
  }

  clear(): void {
    this.#sessions.clear();
  }
}
