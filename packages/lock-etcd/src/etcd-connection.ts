import { type Clock, invalidArgument } from '@switchyard/core';
import { exclusiveOptions, opt, poolFaultHandling } from '@switchyard/core/driver';
import { Etcd3, type IOptions, isRecoverableError } from 'etcd3';
import { PKG } from './constants.js';

/** The connection options of every lock kind: `client` (yours) or `hosts` (ours), and a key prefix. */
export const connectionSchema = {
  client: opt.instance<Etcd3>((v) => v instanceof Etcd3, 'an Etcd3 client'),
  hosts: opt.endpoints(),
  clientOptions: opt.bag<Omit<IOptions, 'hosts'>>(),
};

/** A key prefix: no NUL, at most 512 characters, trailing `/` dropped, not empty. */
export function prefixOption(fallback: string) {
  return opt
    .custom((v, at) => {
      if (typeof v !== 'string' || v.length > 512 || v.includes('\u0000')) {
        throw invalidArgument(at.pkg, at.field, 'must be a key prefix of at most 512 characters without NUL');
      }
      const trimmed = v.replace(/\/+$/, '');
      if (trimmed === '') {
        throw invalidArgument(at.pkg, at.field, `must not be empty or only "/", got ${JSON.stringify(v)}`);
      }
      return trimmed;
    })
    .default(fallback);
}

export interface Connection {
  client: Etcd3;
  /** Closes the client when this package created it. */
  close(): void;
}

/**
 * The client in use: the caller's (never closed by us) or one created from `hosts` with core's
 * per-host breaker (a failing member is skipped for 500 ms, etcd3's default is 5 s) and retries of
 * connection failures on the next member.
 */
export function connect(
  o: {
    client?: Etcd3 | undefined;
    hosts?: string[] | undefined;
    clientOptions?: Omit<IOptions, 'hosts'> | undefined;
  },
  clock: Clock,
): Connection {
  exclusiveOptions(PKG, o, ['client', 'hosts'], { required: true });
  if (o.client) {
    if (o.clientOptions)
      throw invalidArgument(PKG, 'clientOptions', 'applies only to the client created from hosts');
    return { client: o.client, close: () => {} };
  }
  const client = new Etcd3({
    ...o.clientOptions,
    hosts: o.hosts as string[],
    faultHandling: {
      // Three immediate tries: every lock call carries one absolute deadline (`callOptions`), so
      // paced retries would only spend it; the lock layer's own outage retry paces the next acquire.
      ...poolFaultHandling({
        pkg: PKG,
        clock,
        isRecoverable: (error) => error instanceof Error && isRecoverableError(error),
      }),
      ...o.clientOptions?.faultHandling,
    } as IOptions['faultHandling'],
  });
  return { client, close: () => client.close() };
}

/** Per-call gRPC options: an absolute deadline (from the injected clock) so no call can hang. */
export function callOptions(clock: Clock, ms: number): { deadline: Date } {
  return { deadline: new Date(clock.now() + Math.max(1, ms)) };
}
