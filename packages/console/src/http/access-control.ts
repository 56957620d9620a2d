import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

const COOKIE = 'switchyard_console';

/**
 * Who may call the API. With a token (given, or generated at start and printed once, like
 * Jupyter's), a request carries it as `Authorization: Bearer …` or as the session cookie the login
 * route sets (HttpOnly, SameSite=Strict, so `EventSource` works and page scripts never see it).
 * Mutations must also come from the console's own origin (`Origin` header) and carry
 * `X-Switchyard-Console: 1`, which a cross-site form cannot send: no CSRF.
 */
export class AccessControl {
  readonly #token: Buffer | undefined;
  readonly #sessions = new Set<string>();

  constructor(token: string | undefined) {
    this.#token = token === undefined ? undefined : Buffer.from(token);
  }

  get required(): boolean {
    return this.#token !== undefined;
  }

  /** Checks a login attempt; returns the `Set-Cookie` value for a new session. */
  login(candidate: unknown): string {
    if (!this.#token) return `${COOKIE}=open; HttpOnly; SameSite=Strict; Path=/`;
    if (typeof candidate !== 'string' || !this.#matches(Buffer.from(candidate))) {
      throw new HttpError(401, 'UNAUTHENTICATED', 'the token is wrong');
    }
    const session = randomBytes(24).toString('base64url');
    this.#sessions.add(session);
    return `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  logout(req: IncomingMessage): string {
    const session = sessionOf(req);
    if (session) this.#sessions.delete(session);
    return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }

  /** The actor of an authenticated request; throws 401 otherwise. */
  authenticate(req: IncomingMessage): string {
    if (!this.#token) return 'anonymous';
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && this.#matches(Buffer.from(header.slice(7)))) return 'token';
    const session = sessionOf(req);
    if (session && this.#sessions.has(session)) return 'session';
    throw new HttpError(401, 'UNAUTHENTICATED', 'log in with the console token');
  }

  /** Refuses a mutation sent from another origin or without the console's header. */
  checkSameOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      throw new HttpError(403, 'CROSS_ORIGIN', `requests from ${origin} may not change anything`);
    }
    if (req.headers['x-switchyard-console'] !== '1') {
      throw new HttpError(403, 'CROSS_ORIGIN', 'mutations need the X-Switchyard-Console: 1 header');
    }
  }

  #matches(candidate: Buffer): boolean {
    const token = this.#token as Buffer;
    return candidate.length === token.length && timingSafeEqual(candidate, token);
  }
}

function sessionOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === COOKIE && value) return value;
  }
  return undefined;
}

/** A random token for a console started without one. */
export function generateToken(): string {
  return randomBytes(18).toString('base64url');
}
