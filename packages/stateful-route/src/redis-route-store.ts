import { invalidArgument, SwitchyardError, systemClock } from '@switchyard/core';
import {
  callBackend,
  DEFAULT_REQUEST_TIMEOUT,
  exclusiveOptions,
  KEY_PREFIX,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  CLAIM,
  GET_LINKS,
  HEARTBEAT,
  LIST_PODS,
  type LuaScript,
  REGISTER,
  REMOVE_LINK,
  REMOVE_POD,
  type RedisClient,
  SET_LINK,
  SUSPECT,
} from './redis-scripts.js';
import { PKG, type PodRecord, type RoutingState } from './route-model.js';
import type {
  ClaimResult,
  JudgedLink,
  PodPublication,
  RouteChange,
  RouteStore,
  SetLinkResult,
} from './route-store.js';

export interface RedisRouteStoreOptions {
  /** Your ioredis `Redis` or `Cluster` client (not closed by `close()`). */
  client?: RedisClient;
  /** Or a `redis://` URL: the connection is ours and closed by `close()`. */
  url?: string;
  /** Extra ioredis options for the connection made from `url`. */
  redisOptions?: RedisOptions;
  /** Key prefix (default `switchyard:route:`); a service's keys are `<prefix>{<service>}:…`. */
  prefix?: string;
  /** Deadline of one Redis call, ms (default 5 000). */
  requestTimeout?: number;
  /**
   * After each link write, `WAIT <replicas> <timeout>` in the same round trip (single node or
   * Sentinel only). A write acknowledged by fewer replicas still succeeds; `onUnsynced` is called.
   */
  wait?: { replicas: number; timeout: number };
  onUnsynced?: (acked: number) => void;
}

const STATE_CODE: Record<RoutingState, string> = { NORMAL: 'N', DRAINING: 'D', FORBIDDEN: 'F' };
const STATE_OF: Record<string, RoutingState> = { N: 'NORMAL', D: 'DRAINING', F: 'FORBIDDEN' };

const isClient = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as Redis).evalsha === 'function';

function decodePod(id: string, v: string, counts: Map<string, number>): PodRecord | undefined {
  const f = v.split('|');
  if (f.length !== 7) return undefined;
  const epoch = Number(f[0]);
  return {
    pod: id,
    epoch,
    state: STATE_OF[f[1]!] ?? 'FORBIDDEN',
    load: Number(f[2]),
    capacity: Number(f[3]),
    deadline: Number(f[4]),
    ttl: Number(f[5]),
    move: f[6] === '1',
    links: counts.get(`${id}|${f[0]}`) ?? 0,
  };
}

/**
 * The Redis route store: every operation is one Lua script (one round trip), all keys of a service
 * under the hash tag `{service}` so it works on Redis Cluster; pod changes are announced on
 * `<prefix>events` (pub/sub) for the clients' local caches.
 */
export interface RedisRouteStore extends RouteStore {
  /** The ioredis client in use (never hidden). */
  readonly client: RedisClient;
  readonly prefix: string;
}

export function createRedisRouteStore(options: RedisRouteStoreOptions): RedisRouteStore {
  const o = parseOptions(PKG, options, {
    client: opt.instance<RedisClient>(isClient, 'an ioredis Redis or Cluster client'),
    url: opt.url(['redis:', 'rediss:']),
    redisOptions: opt.bag<RedisOptions>(),
    prefix: opt
      .string({ maxLength: 256, pattern: /^[^{}]*$/, hint: 'a string without "{" or "}"' })
      .default(KEY_PREFIX.redis.routes),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    wait: opt.object({ replicas: opt.integer(1, 100).required(), timeout: opt.duration().required() }),
    onUnsynced: opt.func<(acked: number) => void>(),
  });
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  let client: RedisClient;
  if (o.client) client = o.client;
  else {
    const own = new Redis(o.url!, { maxRetriesPerRequest: 1, ...o.redisOptions });
    own.on('error', () => {}); // surfaced as BACKEND_UNAVAILABLE on each call
    client = own;
  }
  const cluster = (client as Cluster).isCluster === true;
  const prefix = o.prefix;
  const channel = `${prefix}events`;
  const key = (service: string, part: string) => `${prefix}{${service}}:${part}`;
  const servicesKey = `${prefix}services`;
  const listeners = new Set<(change: RouteChange) => void>();
  /** Link notices on the channel: NUL-separated namespace, service, uid after a \u0001. */
  const linkNotice = (namespace: string, service: string, uid: string) =>
    `\u0001${namespace}\u0000${service}\u0000${uid}`;
  let subscriber: RedisClient | undefined;
  let closed = false;

  const call = <T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>) =>
    callBackend(what, { pkg: PKG, clock: systemClock, timeout: o.requestTimeout, signal }, fn);

  /** A write script, followed by WAIT in the same round trip when configured. */
  async function write(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (!o.wait || cluster) return script.run(client, keys, args);
    const [result] = await Promise.all([
      script.run(client, keys, args),
      (client as Redis).wait(o.wait.replicas, o.wait.timeout).then((acked) => {
        if (acked < o.wait!.replicas) o.onUnsynced?.(acked);
      }),
    ]);
    return result;
  }

  const pub = (p: PodPublication) => [STATE_CODE[p.state], p.load, p.capacity, p.ttl, p.move ? '1' : '0'];

  function ensureSubscriber(): void {
    if (subscriber || closed) return;
    // A standalone client's subscriber resubscribes itself on every 'ready': ioredis' own
    // autoResubscribe sends a SUBSCRIBE whose promise nobody handles, so a close() while it is in
    // flight (after a Redis restart) surfaced as an unhandled "Connection is closed." rejection.
    const cluster = (client as { isCluster?: boolean }).isCluster === true;
    const sub = (
      cluster ? client.duplicate() : (client as Redis).duplicate({ autoResubscribe: false })
    ) as RedisClient;
    sub.on('error', () => {});
    sub.on('message', (_ch: string, message: string) => {
      let change: RouteChange;
      if (message.startsWith('\u0001')) {
        const [namespace = '', service = '', uid = ''] = message.slice(1).split('\u0000');
        change = { kind: 'link', namespace, service, uid };
      } else change = { kind: 'pod', service: message };
      for (const l of listeners) l(change);
    });
    const resync = () => {
      for (const l of listeners) l({ kind: 'resync' });
    };
    // Changes published before the subscription was active (or while it was reconnecting) are
    // not delivered: relist once it is (again).
    if (cluster) {
      sub.subscribe(channel).then(resync, () => {});
      sub.on('ready', resync);
    } else {
      // Subscribing only once ready also keeps ioredis' ready check out of subscriber mode.
      sub.on('ready', () => void sub.subscribe(channel).then(resync, () => {}));
    }
    subscriber = sub;
  }

  const store: RedisRouteStore = {
    name: 'redis',
    client,
    prefix,
    async registerPod(service: string, pod: string, p: PodPublication, signal?: AbortSignal) {
      const epoch = await call('registerPod', signal, async () => {
        const e = await REGISTER.run(
          client,
          [key(service, 'pods'), key(service, 'seq')],
          [pod, ...pub(p), channel, service],
        );
        await client.sadd(servicesKey, service);
        return e;
      });
      return Number(epoch);
    },
    async heartbeatPod(service: string, pod: string, epoch: number, p: PodPublication, signal?: AbortSignal) {
      const ok = await call('heartbeatPod', signal, () =>
        HEARTBEAT.run(client, [key(service, 'pods')], [pod, epoch, ...pub(p), channel, service]),
      );
      return ok === 1;
    },
    async removePod(service: string, pod: string, epoch: number, signal?: AbortSignal) {
      await call('removePod', signal, () =>
        REMOVE_POD.run(client, [key(service, 'pods')], [pod, epoch, channel, service]),
      );
    },
    async listPods(service: string, signal?: AbortSignal) {
      const [now, flat, flatCounts] = (await call('listPods', signal, () =>
        LIST_PODS.run(client, [key(service, 'pods'), key(service, 'count')], []),
      )) as [string, string[], string[]];
      const counts = new Map<string, number>();
      for (let i = 0; i + 1 < flatCounts.length; i += 2)
        counts.set(flatCounts[i]!, Number(flatCounts[i + 1]));
      const pods: PodRecord[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const rec = decodePod(flat[i]!, flat[i + 1]!, counts);
        if (rec) pods.push(rec);
      }
      return { now: Number(now), pods };
    },
    async suspectPod(service: string, pod: string, grace: number, signal?: AbortSignal) {
      const dead = await call('suspectPod', signal, () =>
        SUSPECT.run(client, [key(service, 'pods')], [pod, grace, channel, service]),
      );
      return dead === 1;
    },
    async claim(namespace, service, uid, req, signal) {
      const r = (await call('claim', signal, () =>
        write(
          CLAIM,
          [
            key(service, 'pods'),
            key(service, 'count'),
            key(service, `links:${namespace}`),
            key(service, 'moves'),
          ],
          [uid, req.strategy, req.r1, req.r2, req.moveBudget, req.moveInterval, req.rebalance],
        ),
      )) as [string, string, string, string, string] | null;
      if (!r) return undefined;
      const result: ClaimResult = {
        pod: r[0],
        epoch: Number(r[1]),
        outcome: r[2] as ClaimResult['outcome'],
        from: r[3] === '' ? undefined : r[3],
        reason: r[4] === '' ? undefined : (r[4] as ClaimResult['reason']),
      };
      return result;
    },
    async getLinks(namespace: string, service: string, uids: readonly string[], signal?: AbortSignal) {
      if (uids.length === 0) return [];
      const flat = (await call('getLinks', signal, () =>
        GET_LINKS.run(client, [key(service, 'pods'), key(service, `links:${namespace}`)], uids),
      )) as string[];
      return flat.map((v): JudgedLink | undefined => {
        if (v === '') return undefined;
        const f = v.split('|');
        return { pod: f[0]!, epoch: Number(f[1]), till: Number(f[2]), valid: f[3] === '1' };
      });
    },
    async setLink(namespace, service, uid, pod, mode, expect, signal) {
      const r = (await call('setLink', signal, () =>
        write(
          SET_LINK,
          [key(service, 'pods'), key(service, 'count'), key(service, `links:${namespace}`)],
          [uid, pod, mode, expect, channel, linkNotice(namespace, service, uid)],
        ),
      )) as (string | number)[];
      if (r[0] === 'ERR') {
        if (r[1] === 'unknown')
          throw invalidArgument(PKG, 'pod', `"${pod}" is not a pod of service "${service}"`);
        throw new SwitchyardError('CONFLICT', `[${PKG}] pod "${pod}" is not routable`);
      }
      const result: SetLinkResult = {
        pod: String(r[0]),
        epoch: Number(r[1]),
        changed: r[2] === 1,
        previous: r[3] === '' ? undefined : String(r[3]),
      };
      return result;
    },
    async removeLink(namespace, service, uid, pod, persistMs, signal) {
      const r = await call('removeLink', signal, () =>
        write(
          REMOVE_LINK,
          [key(service, 'count'), key(service, `links:${namespace}`)],
          [uid, pod, persistMs, channel, linkNotice(namespace, service, uid)],
        ),
      );
      return r === 1;
    },
    async services(signal?: AbortSignal) {
      return call('services', signal, () => client.smembers(servicesKey));
    },
    onChange(listener) {
      ensureSubscriber();
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      subscriber?.disconnect();
      if (o.client) return;
      await call('quit', undefined, () => (client as Redis).quit()).catch(() => {});
      client.disconnect();
    },
    [Symbol.asyncDispose]() {
      return store.close();
    },
  };
  return store;
}
