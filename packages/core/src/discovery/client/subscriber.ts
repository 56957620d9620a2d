import type { InstanceDiff, ServiceInstance, WatchEventReason } from '../../contracts/discovery.js';
import { AsyncChannel } from '../../primitives/channel.js';
import { diffInstances, isEmptyDiff } from '../instance.js';
import type {
  ClientDiscoveryEvent,
  ClientEventSource,
  ClientInstanceFilter,
  ClientSnapshot,
} from './types.js';
import { computeView, type View } from './view.js';

export interface CacheState {
  readonly service: string;
  readonly version: number;
  readonly backendRevision: number;
  readonly stale: boolean;
  /** Cached instances after the traffic rules. */
  readonly visible: readonly ServiceInstance[];
  readonly panicThreshold: number;
}

/** One `watch()` caller: its filter, its channel and the last view it was sent. */
export class Subscriber {
  readonly channel: AsyncChannel<ClientDiscoveryEvent>;
  readonly #filter: ClientInstanceFilter | undefined;
  #last: View | undefined;
  #lastStale = false;

  /** Removes the listener on the caller's signal. */
  readonly detach: () => void;

  constructor(filter: ClientInstanceFilter | undefined, onReturn: () => void, detach: () => void) {
    this.#filter = filter;
    this.channel = new AsyncChannel<ClientDiscoveryEvent>({ onReturn });
    this.detach = detach;
  }

  /**
   * Sends the subscriber what changed for it: the initial snapshot the first time, then only when
   * its filtered view, the stale flag or the panic flag changed.
   */
  deliver(state: CacheState, source: ClientEventSource, reason: WatchEventReason): void {
    const view = computeView(state.visible, this.#filter, state.panicThreshold);
    let diff: InstanceDiff;
    if (this.#last === undefined) {
      diff = diffInstances([], view.instances);
      reason = 'initial';
    } else {
      diff = diffInstances(this.#last.instances, view.instances);
      if (isEmptyDiff(diff) && this.#lastStale === state.stale && this.#last.panic === view.panic) return;
    }
    this.#last = view;
    this.#lastStale = state.stale;
    this.channel.push({
      snapshot: toSnapshot(state, view),
      diff,
      reason,
      stale: state.stale,
      panic: view.panic,
      source,
    });
  }
}

export function toSnapshot(state: CacheState, view: View): ClientSnapshot {
  return {
    service: state.service,
    instances: view.instances,
    revision: state.version,
    stale: state.stale,
    panic: view.panic,
    backendRevision: state.backendRevision,
  };
}
