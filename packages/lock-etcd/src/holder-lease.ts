import { deadlineSignal, type LockStatsRecorder, ManagedLease } from '@switchyard/core';
import { PKG } from './constants.js';
import type { ResolvedOptions } from './options.js';
import { deleteIfMine, isMine, type QueueContext, rpc } from './queue.js';
import { callOptions } from './rpc.js';
import type { EtcdSession } from './session.js';

/** What a holder lease needs from its engine. */
export interface HolderHost {
  readonly options: ResolvedOptions;
  readonly ctx: QueueContext;
  readonly stats: LockStatsRecorder;
  session(ttlSeconds: number, signal: AbortSignal | undefined): Promise<EtcdSession>;
  /** Keep deleting a key whose delete failed (see OrphanSweeper). */
  orphan(myKey: string, rev: bigint): void;
  /** Called once when the lease ends. */
  untrack(lease: ManagedLease): void;
}

export interface HolderParams {
  key: string;
  myKey: string;
  rev: bigint;
  owner: string;
  ttl: number;
  autoRenew: boolean;
  session: EtcdSession;
  /** Monotonic time the acquire started. */
  started: number;
}

/**
 * The lease of a held lock: a core `ManagedLease` whose driver renews through the session
 * (keep-alive + ownership check) and releases with a delete-if-create-revision-matches.
 *
 * With renewal the lock lives exactly as long as its session lease: same validity, same TTL, and
 * `extend(ttl)` with another whole-second TTL moves the key to that TTL's session in one
 * transaction (the create revision, i.e. the token, is unchanged). Without renewal, `ttl` is a
 * client-side deadline (ms precision) at which the key is deleted; the session still bounds it if
 * this process dies or stalls.
 */
export function createHolderLease(host: HolderHost, p: HolderParams): ManagedLease {
  const { key, myKey, rev, autoRenew } = p;
  const { clock } = host.options;
  let session = p.session;
  const sessionTtl = session.ttlSeconds * 1000;
  const drift = Math.floor(sessionTtl * 0.01) + 2;
  let stopFollowing: () => void = () => {};
  const follow = (s: EtcdSession) => {
    stopFollowing();
    stopFollowing = s.lease.on('lease:lost', ({ cause }) => lease.markLost(cause));
    if (s.lease.signal.aborted) lease.markLost(s.lease.signal.reason);
  };

  async function moveTo(ttlSeconds: number, signal: AbortSignal): Promise<boolean> {
    const target = await host.session(ttlSeconds, signal);
    const { client } = host.options;
    const res = await rpc(
      signal,
      'extend',
      client
        .if(myKey, 'Create', '==', rev.toString())
        .then({
          request_put: {
            key: Buffer.from(myKey),
            value: Buffer.alloc(0),
            lease: target.leaseId,
            ignore_value: true,
          },
        } as never)
        .options(callOptions(host.options.requestTimeout))
        .commit(),
    );
    if (!res.succeeded) return false;
    session = target;
    follow(target);
    return true;
  }

  const lease: ManagedLease = new ManagedLease({
    pkg: PKG,
    key,
    owner: p.owner,
    token: rev,
    ttl: autoRenew ? sessionTtl : p.ttl,
    acquiredAt: autoRenew ? session.lease.validUntil - sessionTtl + drift : p.started,
    autoRenew,
    clock,
    drift: autoRenew ? drift : undefined,
    driver: {
      extend: async (next, signal) => {
        // Bounded by this lease's validity (see EtcdSession): a hung call must not outlive it.
        const left = Math.max(1, lease.validUntil - clock.monotonic());
        const bound = deadlineSignal(left, { parent: signal, clock, what: 'renewal' });
        try {
          const seconds = Math.ceil(next / 1000);
          if (autoRenew && seconds !== session.ttlSeconds && !(await moveTo(seconds, bound.signal))) {
            return false;
          }
          // A keep-alive sent after extend() started: the validity ManagedLease computes holds.
          const [alive, mine] = await Promise.all([
            session.keepAlive(bound.signal),
            isMine(host.ctx, myKey, rev, bound.signal),
          ]);
          return alive && mine;
        } finally {
          bound.dispose();
        }
      },
      release: async (signal) => {
        try {
          return await deleteIfMine(host.ctx, myKey, rev, signal);
        } catch (error) {
          // Unknown outcome: the key may still block the queue while the session lives. Keep
          // deleting it in the background; the caller still learns that this attempt failed.
          host.orphan(myKey, rev);
          throw error;
        }
      },
    },
    onEnd: (_l, how) => {
      stopFollowing();
      host.untrack(lease);
      if (how === 'lost') {
        host.stats.lost++;
        // Free the queue for others if the key is still ours (client-side expiry, failed renewal).
        deleteIfMine(host.ctx, myKey, rev).catch(() => host.orphan(myKey, rev));
      } else host.stats.released++;
    },
  });
  follow(session);
  return lease;
}
