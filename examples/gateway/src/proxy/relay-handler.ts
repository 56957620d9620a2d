import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { UpstreamHandle } from '../sticky/user-pods.js';
import { downstreamResponseHeaders } from './forward-headers.js';

export type DispatchOutcome =
  /** Headers were written downstream; the body streams on and the handle is reported at its end. */
  | { kind: 'relayed'; status: number }
  /** A retryable status, its body discarded: try another instance. */
  | { kind: 'retry'; status: number }
  /** Failed before any response byte reached the client. */
  | { kind: 'error'; error: Error };

export interface RelayOptions {
  res: ServerResponse;
  handle: UpstreamHandle;
  setCookie: string | undefined;
  closeConnection: boolean;
  /** Asked once, for a 502/503/504 response: true to discard it and retry. */
  retryStatus: (status: number) => boolean;
}

/**
 * Streams one upstream response straight into the client response with undici's dispatch API: no
 * intermediate Readable, backpressure by pausing the upstream, the outcome reported to the balancer
 * when the body ends.
 */
class RelayHandler implements Dispatcher.DispatchHandler {
  readonly #o: RelayOptions;
  readonly #t0 = performance.now();
  readonly #settle: (o: DispatchOutcome) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #state: 'waiting' | 'relaying' | 'discarding' | 'done' = 'waiting';
  #status = 0;

  constructor(o: RelayOptions, settle: (o: DispatchOutcome) => void) {
    this.#o = o;
    this.#settle = settle;
    o.res.once('close', () => {
      const state = this.#state;
      if ((state !== 'relaying' && state !== 'waiting') || o.res.writableFinished) return;
      this.#state = 'done';
      o.handle.cancel();
      const error = new Error('client went away');
      this.#controller?.abort(error);
      if (state === 'waiting') this.#settle({ kind: 'error', error });
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#o.res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200 || this.#state !== 'waiting') return; // 1xx informational
    this.#status = statusCode;
    if ((statusCode === 502 || statusCode === 503 || statusCode === 504) && this.#o.retryStatus(statusCode)) {
      this.#state = 'discarding';
      return;
    }
    this.#state = 'relaying';
    const { res, setCookie } = this.#o;
    const out = downstreamResponseHeaders(headers);
    if (setCookie) {
      const prev = out['set-cookie'];
      out['set-cookie'] =
        prev === undefined ? [setCookie] : [...(Array.isArray(prev) ? prev : [prev]), setCookie];
    }
    if (this.#o.closeConnection) out.connection = 'close';
    res.writeHead(statusCode, out as Record<string, string | string[]>);
    this.#settle({ kind: 'relayed', status: statusCode });
    res.on('drain', () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#state === 'relaying' && !this.#o.res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    const elapsed = performance.now() - this.#t0;
    if (this.#state === 'discarding') {
      this.#state = 'done';
      this.#o.handle.report(false, elapsed);
      this.#settle({ kind: 'retry', status: this.#status });
    } else if (this.#state === 'relaying') {
      this.#state = 'done';
      this.#o.handle.report(this.#status < 500, elapsed);
      this.#o.res.end();
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const state = this.#state;
    if (state === 'done') return;
    this.#state = 'done';
    this.#o.handle.report(false, performance.now() - this.#t0);
    if (state === 'relaying') this.#o.res.destroy(error);
    else this.#settle({ kind: 'error', error });
  }
}

export function dispatchUpstream(
  pool: Pool,
  request: Dispatcher.DispatchOptions,
  o: RelayOptions,
): Promise<DispatchOutcome> {
  return new Promise((resolve) => {
    pool.dispatch(request, new RelayHandler(o, resolve));
  });
}
