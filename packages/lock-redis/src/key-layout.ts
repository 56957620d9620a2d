import { invalidArgument } from '@switchyard/core';

/**
 * Redis key names of one lock. Every key of a lock shares the hash tag `{key}`, so multi-key scripts
 * work on Redis Cluster. The two notice channels are per prefix (one pub/sub connection per lock client).
 */
export class KeyLayout {
  readonly prefix: string;
  /** Release and hand-off notices. */
  readonly channel: string;
  /** Forced-release notices for holders. */
  readonly lostChannel: string;

  constructor(pkg: string, prefix: string) {
    if (typeof prefix !== 'string' || prefix.includes('{') || prefix.includes('}')) {
      throw invalidArgument(pkg, 'prefix', 'must be a string without "{" or "}"');
    }
    this.prefix = prefix;
    this.channel = `${prefix}events`;
    this.lostChannel = `${prefix}lost`;
  }

  base(key: string): string {
    return `${this.prefix}{${key}}`;
  }
  /** Holder value `count|w|token|hid|req|owner` (see holder-value.ts). */
  lock(key: string): string {
    return `${this.base(key)}:lock`;
  }
  /** Fencing counter; never expires and is never touched by a forced release. */
  fence(key: string): string {
    return `${this.base(key)}:fence`;
  }
  /** Fair queue (list of handle ids). */
  queue(key: string): string {
    return `${this.base(key)}:queue`;
  }
  /** Fair queue deadlines (zset handle id → server-time deadline). */
  queueDeadlines(key: string): string {
    return `${this.base(key)}:qdl`;
  }
  /** Fair queue metadata (hash handle id → "ttl|owner"). */
  queueMeta(key: string): string {
    return `${this.base(key)}:qmeta`;
  }
  /** Semaphore / reader holders (zset owner → server-time expiry). */
  holders(key: string): string {
    return `${this.base(key)}:holders`;
  }
  /** A writer's intent to write (blocks new readers so writers are not starved). */
  writeIntent(key: string): string {
    return `${this.base(key)}:wintent`;
  }
  /** Release latch of one handle (makes a retried release idempotent). */
  latch(key: string, hid: string): string {
    return `${this.base(key)}:latch:${hid}`;
  }
  /** Glob pattern matching every holder key under this prefix (for the admin list). */
  lockPattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:lock`;
  }
  /** Inverse of `lock(key)`. */
  keyOfLock(redisKey: string): string | undefined {
    const head = `${this.prefix}{`;
    if (!redisKey.startsWith(head) || !redisKey.endsWith('}:lock')) return undefined;
    return redisKey.slice(head.length, -'}:lock'.length);
  }
}
