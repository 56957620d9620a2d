/** Which requests a fault applies to. */
export interface FaultMatch {
  /** Only requests whose path matches. */
  path?: RegExp;
  /** Only watch requests (true) or only non-watch requests (false). */
  watch?: boolean;
  /** Only this method. */
  method?: string;
}

export interface RequestInfo {
  method: string;
  path: string;
  watch: boolean;
}

interface Pending<T> {
  n: number;
  match: FaultMatch;
  value: T;
}

const matches = (m: FaultMatch, r: RequestInfo) =>
  (m.path === undefined || m.path.test(r.path)) &&
  (m.watch === undefined || m.watch === r.watch) &&
  (m.method === undefined || m.method.toUpperCase() === r.method);

/** The emulator's fault switches (the server and the watch streams read them). */
export class Faults {
  /** Watch streams write nothing (no events, no bookmarks, no FIN) while set. */
  stalled = false;
  /** Every watch stream is cut (TCP reset) after this many object events. */
  dropEvery: number | undefined;
  /** Delay before each list response (each page), ms. */
  listDelay = 0;
  readonly #failures: Pending<{ status: number; retryAfter: number | undefined }>[] = [];
  readonly #blackholes: Pending<true>[] = [];

  fail(n: number, status: number, retryAfter: number | undefined, match: FaultMatch): void {
    if (n > 0) this.#failures.push({ n, match, value: { status, retryAfter } });
  }

  blackhole(n: number, match: FaultMatch): void {
    if (n > 0) this.#blackholes.push({ n, match, value: true });
  }

  takeFailure(r: RequestInfo): { status: number; retryAfter: number | undefined } | undefined {
    return take(this.#failures, r);
  }

  takeBlackhole(r: RequestInfo): boolean {
    return take(this.#blackholes, r) !== undefined;
  }

  reset(): void {
    this.stalled = false;
    this.dropEvery = undefined;
    this.listDelay = 0;
    this.#failures.length = 0;
    this.#blackholes.length = 0;
  }
}

function take<T>(list: Pending<T>[], r: RequestInfo): T | undefined {
  const i = list.findIndex((p) => matches(p.match, r));
  if (i < 0) return undefined;
  const p = list[i]!;
  if (--p.n <= 0) list.splice(i, 1);
  return p.value;
}
