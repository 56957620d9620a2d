import type { NamespaceCounters } from './cache-events.js';

/** One namespace as the engine sees it: its path, the key prefix it adds, its counters. */
export interface Scope {
  readonly path: string;
  readonly prefix: string;
  readonly counters: NamespaceCounters;
}
