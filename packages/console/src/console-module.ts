/**
 * What a console page's server side is: a named set of API routes. Each page (services, locks,
 * config, routes, cache) is one module in `modules/`; the server mounts the modules whose backend
 * was given and the page shell shows their tabs (`GET /api/pages`).
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ConsoleRequest {
  /** Path parameters from the route pattern (`/api/locks/:key` → `{ key }`), URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body of a POST/PUT/DELETE (`{}` when none); `confirm` and `reason` removed. */
  readonly body: Readonly<Record<string, unknown>>;
  /** Fires when the client goes away or the server closes. */
  readonly signal: AbortSignal;
  /** Who is asking: `token` (bearer/session) or `anonymous` (no token configured). */
  readonly actor: string;
}

/** What a confirmation shows the operator before a mutation runs. */
export interface MutationPreview {
  /** One line: what will happen ("force-release lock orders:42 held by api-1 (token 17)"). */
  readonly summary: string;
  /** Anything the page should show next to it: a diff, the affected users… (JSON). */
  readonly details?: unknown;
}

export interface ConsoleRoute {
  readonly method: HttpMethod;
  /** `/api/<module>/…` with `:name` segments. */
  readonly pattern: string;
  /**
   * Present on mutating routes. A request without `confirm` gets `409 CONFIRMATION_REQUIRED` with a
   * single-use token bound to this route, its parameters and body, and this preview; the same
   * request with `{ confirm: token }` runs `handle` and is written to the audit log.
   */
  readonly mutation?: {
    /** What the audit log records as the target (`lock orders:42`). */
    target(req: ConsoleRequest): string;
    preview(req: ConsoleRequest): Promise<MutationPreview> | MutationPreview;
    /** The confirmed request must carry a non-empty `reason` (400 naming `reason` otherwise). */
    requireReason?: boolean;
  };
  /** A JSON reply (or a `ConsoleReply` to pick the status). */
  handle?(req: ConsoleRequest): Promise<unknown>;
  /**
   * A server-sent-events route: `send` writes one `data:` event. Runs until `req.signal` fires;
   * one stream per page view (coalesced, not one per widget).
   */
  stream?(req: ConsoleRequest, send: (data: unknown) => void): Promise<void>;
}

export interface ConsoleModule {
  /** Tab and URL name: `services`, `locks`, `config`, `routes`, `cache`. */
  readonly name: string;
  /** Tab label. */
  readonly title: string;
  readonly routes: readonly ConsoleRoute[];
  close?(): Promise<void> | void;
}

/** A reply with an explicit HTTP status (a plain value is sent as 200). */
export class ConsoleReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}
