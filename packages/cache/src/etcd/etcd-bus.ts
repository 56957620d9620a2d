import { exclusiveOptions, KEY_PREFIX, opt, parseOptions } from '@switchyard/core/driver';
import type { Etcd3, IOptions, Watcher } from 'etcd3';
import type { BusListener, BusTransport } from '../bus/bus-transport.js';
import { isEtcdClient, resolveEtcdClient } from './etcd-client.js';

const PKG = 'cache';

export interface EtcdBusOptions {
  client?: Etcd3;
  hosts?: string | string[];
  clientOptions?: IOptions;
  /** Key prefix (default `/switchyard/cache`): messages are puts on `<prefix>/bus/<channel>`. */
  prefix?: string;
}

/**
 * An invalidation bus on an etcd watch: each message is a put on one key, delivered in revision
 * order to every watcher; etcd3 resumes a broken watch from the last revision it saw. Every
 * message is a revision kept until compaction, so run etcd with auto-compaction.
 */
export function createEtcdBus(options: EtcdBusOptions): BusTransport {
  const o = parseOptions(PKG, options, {
    client: opt.instance<Etcd3>(isEtcdClient, 'an etcd3 Etcd3 client'),
    hosts: opt.endpoints(),
    clientOptions: opt.bag<IOptions>(),
    prefix: opt.string({ maxLength: 256 }).default(KEY_PREFIX.etcd.cache),
  });
  exclusiveOptions(PKG, o, ['client', 'hosts'], { required: true });
  const { client, owned } = resolveEtcdClient(PKG, o);
  const base = o.prefix.endsWith('/') ? o.prefix : `${o.prefix}/`;
  const keyOf = (channel: string) => `${base}bus/${channel}`;
  let watcher: Watcher | undefined;
  let closed = false;
  return {
    name: 'etcd-watch',
    kind: 'messages',
    async start(channel: string, listener: BusListener) {
      let up = false;
      const w = await client.watch().key(keyOf(channel)).create();
      watcher = w;
      if (closed) {
        await w.cancel();
        return;
      }
      w.on('put', (kv) => listener.message(kv.value.toString()));
      w.on('connected', () => {
        up = true;
        listener.connected();
      });
      w.on('disconnected', (err) => {
        if (!up) return;
        up = false;
        listener.disconnected(err);
      });
      w.on('error', () => {}); // etcd3 retries; reported through disconnected/connected
      up = true;
      listener.connected();
    },
    async publish(channel: string, message: string) {
      await client.put(keyOf(channel)).value(message).exec();
    },
    async close() {
      closed = true;
      await watcher?.cancel().catch(() => {});
      if (owned) client.close();
    },
  };
}
