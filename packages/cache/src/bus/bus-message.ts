/** The wire format of the bus (JSON). */
export interface BusMessage {
  /** d: keys changed; c: namespace cleared; g: tag records; h: heartbeat. */
  t: 'd' | 'c' | 'g' | 'h';
  /** Publisher id (one per cache instance). */
  p: string;
  /** Wall time the publisher started. */
  since: number;
  /** Namespace prefix. */
  n?: string;
  /** Sequence number of this (publisher, namespace). */
  s?: number;
  k?: string[];
  r?: [string, number, number][];
  /** Heartbeat: the last sequence number per namespace prefix. */
  q?: Record<string, number>;
}

export function parseMessage(text: string): BusMessage | undefined {
  try {
    const m = JSON.parse(text) as Partial<BusMessage>;
    if (typeof m !== 'object' || m === null || typeof m.p !== 'string' || typeof m.since !== 'number')
      return undefined;
    if (m.t !== 'd' && m.t !== 'c' && m.t !== 'g' && m.t !== 'h') return undefined;
    return m as BusMessage;
  } catch {
    return undefined;
  }
}
