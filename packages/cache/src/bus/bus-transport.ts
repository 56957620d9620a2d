/** What a transport tells the cache. */
export interface BusListener {
  /** A message of the cache protocol (from any process, this one included). */
  message(text: string): void;
  /** Server-assisted transports: keys someone changed; `null` = everything may have changed. */
  keys(keys: readonly string[] | null): void;
  /** Subscribed (first time, or again after a loss: messages in between may be gone). */
  connected(): void;
  disconnected(cause?: unknown): void;
}

/**
 * A transport of the invalidation bus: Redis pub/sub, etcd watch, Redis `CLIENT TRACKING`, or
 * in-process. The sequence numbers, heartbeats, gap detection and L1 flushes live in the cache
 * (`Coherence`), the same for every transport.
 */
export interface BusTransport {
  readonly name: string;
  /**
   * `messages`: carries the cache's messages (publish + subscribe). `keys`: the server reports
   * changed keys itself (CLIENT TRACKING); nothing is published.
   */
  readonly kind: 'messages' | 'keys';
  /** Starts delivering to `listener` and keeps doing so across reconnects until `close()`. */
  start(channel: string, listener: BusListener): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  close(): Promise<void>;
}

export function isBusTransport(value: unknown): boolean {
  const t = value as Partial<BusTransport> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.start === 'function' &&
    typeof t.publish === 'function' &&
    typeof t.close === 'function' &&
    (t.kind === 'messages' || t.kind === 'keys')
  );
}
