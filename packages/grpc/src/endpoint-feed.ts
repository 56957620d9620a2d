import type { DiscoveryEvent, ServiceInstance } from '@switchyard/core';
import type { WatchSource } from '@switchyard/loadbalancer';

/**
 * A `WatchSource` the LB policy pushes grpc-js endpoint lists into, so a Switchyard balancer
 * (pickers, breakers, ejection) runs over exactly the endpoints grpc-js resolved.
 */
export class EndpointFeed implements WatchSource {
  #instances: readonly ServiceInstance[] | undefined;
  #revision = 0;
  #wake: (() => void) | undefined;

  push(instances: readonly ServiceInstance[]): void {
    this.#instances = instances;
    this.#revision++;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *watch(service: string, options: { signal?: AbortSignal } = {}): AsyncIterable<DiscoveryEvent> {
    const { signal } = options;
    let seen = 0;
    while (!signal?.aborted) {
      if (this.#instances && this.#revision !== seen) {
        seen = this.#revision;
        yield {
          snapshot: { service, instances: this.#instances, revision: seen },
          diff: { added: [], removed: [], updated: [] },
          reason: seen === 1 ? 'initial' : 'change',
          stale: false,
        };
        continue;
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        this.#wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
