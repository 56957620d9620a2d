import type {
  DiscoveryEvent,
  InstanceFilter,
  ServiceInstance,
  WatchEventReason,
} from '../../contracts/discovery.js';
import { diffInstances, isEmptyDiff, matchesFilter } from '../../discovery/instance.js';
import { AsyncChannel } from '../../primitives/channel.js';

const EMPTY = Object.freeze({ added: [], removed: [], updated: [] });

/** One `watch()` caller of a feed: its filter, its stream and what it was last sent. */
export class FeedSubscriber {
  readonly channel: AsyncChannel<DiscoveryEvent>;
  readonly #filter: InstanceFilter | undefined;
  #last: readonly ServiceInstance[] | undefined;
  #lastStale = false;
  /** Removes the listener on the caller's signal. */
  detach: () => void = () => {};

  constructor(filter: InstanceFilter | undefined, onReturn: () => void) {
    this.#filter = filter;
    this.channel = new AsyncChannel<DiscoveryEvent>({ onReturn });
  }

  get started(): boolean {
    return this.#last !== undefined;
  }

  /** Sends what changed for this subscriber; nothing when neither its view nor the stale flag changed. */
  deliver(
    service: string,
    all: readonly ServiceInstance[],
    revision: number,
    reason: WatchEventReason,
    stale: boolean,
  ): void {
    const instances =
      this.#filter === undefined && all.every((i) => i.health === 'passing')
        ? all
        : all.filter((i) => matchesFilter(i, this.#filter));
    const snapshot = { service, instances, revision };
    if (this.#last === undefined) {
      this.#last = instances;
      this.#lastStale = stale;
      this.channel.push({ snapshot, diff: diffInstances([], instances), reason: 'initial', stale });
      return;
    }
    const diff = diffInstances(this.#last, instances);
    if (isEmptyDiff(diff) && stale === this.#lastStale) return;
    this.#last = instances;
    this.#lastStale = stale;
    this.channel.push({ snapshot, diff: isEmptyDiff(diff) ? EMPTY : diff, reason, stale });
  }
}
