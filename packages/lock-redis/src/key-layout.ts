import { invalidArgument } from '@switchyard/core';

/**
 * Redis key names of one lock kind under a prefix. Every key of a lock shares the hash tag
 * `{<key>}`, so multi-key scripts work on Redis Cluster. Inside the tag `}` and `%` are
 * percent-escaped (`%7D`, `%25`): a key starting with `}` would otherwise make an empty tag (each
 * key hashed whole, CROSSSLOT), and the escape keeps distinct keys distinct. Two notice channels
 * per prefix: releases and hand-offs, forced-release notices.
 */
export class KeyLayout {
  readonly prefix: string;
  /** Release and hand-off notices. */
  readonly channel: string;
  /** Forced-release notices for holders. */
  readonly lostChannel: string;

  constructor(pkg: string, prefix: string) {
    if (prefix.includes('{') || prefix.includes('}')) {
      throw invalidArgument(pkg, 'prefix', 'must not contain "{" or "}" (the key is the hash tag)');
    }
    this.prefix = prefix;
    this.channel = `${prefix}events`;
    this.lostChannel = `${prefix}lost`;
  }

  base(key: string): string {
    return `${this.prefix}{${escapeTag(key)}}`;
  }
  /** Holder value `w|token|hid|owner` (see holder-value.ts). */
  lock(key: string): string {
    return `${this.base(key)}:lock`;
  }
  /** Fencing counter; never expires and is never touched by a forced release. */
  fence(key: string): string {
    return `${this.base(key)}:fence`;
  }
  /** Wait queue (list of request ids). */
  queue(key: string): string {
    return `${this.base(key)}:queue`;
  }
  /** Wait queue deadlines (zset request id → server-time deadline). */
  queueDeadlines(key: string): string {
    return `${this.base(key)}:qdl`;
  }
  /** Wait queue metadata (hash request id → "ttl|owner"). */
  queueMeta(key: string): string {
    return `${this.base(key)}:qmeta`;
  }
  /** Semaphore / reader holders (zset request id → server-time expiry). */
  holders(key: string): string {
    return `${this.base(key)}:holders`;
  }
  /** Semaphore / reader holder metadata (hash request id → "token|owner"). */
  holderMeta(key: string): string {
    return `${this.base(key)}:hmeta`;
  }
  /** Release latch of one request (makes a retried release answer like the first). */
  latch(key: string, hid: string): string {
    return `${this.base(key)}:latch:${hid}`;
  }
  /** Glob pattern matching every `<suffix>` key under this prefix (for the admin list). */
  pattern(suffix: string): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:${suffix}`;
  }
  /** Inverse of `base(key) + ':' + suffix`. */
  keyOf(redisKey: string, suffix: string): string | undefined {
    const head = `${this.prefix}{`;
    const tail = `}:${suffix}`;
    if (!redisKey.startsWith(head) || !redisKey.endsWith(tail)) return undefined;
    return unescapeTag(redisKey.slice(head.length, -tail.length));
  }
}

function escapeTag(key: string): string {
  return key.includes('}') || key.includes('%')
    ? key.replace(/[%}]/g, (c) => (c === '%' ? '%25' : '%7D'))
    : key;
}

function unescapeTag(tag: string): string {
  return tag.includes('%') ? tag.replace(/%7D|%25/g, (c) => (c === '%25' ? '%' : '}')) : tag;
}
