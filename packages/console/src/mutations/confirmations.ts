import { createHash, randomBytes } from 'node:crypto';
import type { MutationPreview } from '../console-module.js';

interface Pending {
  fingerprint: string;
  expiresAt: number;
}

export interface Confirmation extends MutationPreview {
  readonly token: string;
  readonly expiresAt: string;
}

/**
 * Single-use confirmation tokens: the first request of a mutation gets one (with the preview of
 * what it will do); only the same mutation (route, parameters and body) presented with it within
 * `ttl` ms runs. A replay, a changed body or an expired token is refused.
 */
export class Confirmations {
  readonly #pending = new Map<string, Pending>();

  constructor(readonly ttl = 120_000) {}

  issue(fingerprint: string, preview: MutationPreview): Confirmation {
    this.#sweep();
    const token = randomBytes(12).toString('base64url');
    const expiresAt = Date.now() + this.ttl;
    this.#pending.set(token, { fingerprint, expiresAt });
    return { token, expiresAt: new Date(expiresAt).toISOString(), ...preview };
  }

  /** Consumes `token`; true when it was issued for this very mutation and has not expired. */
  redeem(token: string, fingerprint: string): boolean {
    const p = this.#pending.get(token);
    if (!p) return false;
    this.#pending.delete(token);
    return p.fingerprint === fingerprint && Date.now() < p.expiresAt;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [token, p] of this.#pending) if (p.expiresAt <= now) this.#pending.delete(token);
  }
}

/** What a confirmation is bound to. */
export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path} ${JSON.stringify(body)}`)
    .digest('base64url');
}
