import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '@switchyard/core';
import { K8sHttpError } from './api-error.js';

/** One line of a watch stream. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  readonly object: Record<string, unknown>;
}

/** An open watch stream. */
export interface WatchConnection {
  /** Settles when the stream ends: `undefined` for a clean end (server timeout), the error otherwise. */
  readonly ended: Promise<unknown>;
  /** Closes the stream (idempotent). */
  abort(): void;
}

export interface OpenWatchOptions {
  clock: Clock;
  /** Deadline for the response headers, ms. */
  timeout: number;
  signal: AbortSignal;
}

/**
 * Opens `GET <path>?watch=1&…` with the credentials of a client-node `KubeConfig` (its agent, TLS
 * material, bearer/exec/OIDC tokens, basic auth) and streams newline-delimited JSON events.
 *
 * We do not use client-node 1.4's `Watch` here: it cannot be aborted before the response headers
 * arrive (a black-holed request leaks its socket), it drops the `Status` body and `Retry-After` of a
 * refused watch, and it ignores lines it cannot parse. Lists still go through client-node's API.
 */
export async function openWatch(
  kc: KubeConfig,
  path: string,
  query: Readonly<Record<string, string | undefined>>,
  onEvent: (event: WatchEvent) => void,
  options: OpenWatchOptions,
): Promise<WatchConnection> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the KubeConfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  url.searchParams.set('watch', '1');
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  const opts: RequestOptions & { headers: Record<string, string> } = { method: 'GET', headers: {} };
  await kc.applyToHTTPSOptions(opts);
  opts.headers.accept = 'application/json';
  if (options.signal.aborted) throw options.signal.reason;

  return new Promise<WatchConnection>((resolve, reject) => {
    const { clock } = options;
    let req: ClientRequest | undefined;
    let settleEnd: (value: unknown) => void = () => {};
    const ended = new Promise<unknown>((r) => {
      settleEnd = r;
    });
    let finished = false;
    const finish = (error: unknown) => {
      if (finished) return;
      finished = true;
      options.signal.removeEventListener('abort', onAbort);
      clock.clearTimeout(headerTimer);
      settleEnd(error);
    };
    const abort = () => {
      if (!req?.destroyed) req?.destroy();
      finish(undefined);
    };
    const onAbort = () => {
      reject(options.signal.reason);
      abort();
    };
    const headerTimer = clock.setTimeout(
      () => {
        const error = Object.assign(new Error(`no response to the watch within ${options.timeout} ms`), {
          code: 'ETIMEDOUT',
        });
        reject(error);
        req?.destroy(error);
        finish(error);
      },
      options.timeout,
      { unref: true },
    );
    options.signal.addEventListener('abort', onAbort, { once: true });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    req = send(url, opts, (res: IncomingMessage) => {
      clock.clearTimeout(headerTimer);
      if (res.statusCode !== 200) {
        readBody(res).then(
          (body) => {
            const retry = res.headers['retry-after'];
            reject(new K8sHttpError(res.statusCode ?? 0, body, Array.isArray(retry) ? retry[0] : retry));
            finish(undefined);
          },
          (error) => {
            reject(error);
            finish(error);
          },
        );
        return;
      }
      resolve({ ended, abort });
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
          if (line === '') continue;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch (error) {
            // client-go ends a watch on a decode error; so do we (and say why).
            const failure = new Error(`undecodable watch event: ${line.slice(0, 120)}`, { cause: error });
            res.destroy();
            finish(failure);
            return;
          }
          if (!finished) onEvent(event);
        }
      });
      res.on('end', () => finish(undefined));
      res.on('aborted', () =>
        finish(Object.assign(new Error('watch stream aborted'), { code: 'ECONNRESET' })),
      );
      res.on('error', (error) => finish(error));
      res.on('close', () =>
        finish(
          res.complete ? undefined : Object.assign(new Error('premature close'), { code: 'ECONNRESET' }),
        ),
      );
    });
    req.on('error', (error) => {
      reject(error);
      finish(error);
    });
    req.end();
  });
}

async function readBody(res: IncomingMessage): Promise<unknown> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) {
    if (text.length < 65_536) text += chunk as string;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.slice(0, 500) };
  }
}
