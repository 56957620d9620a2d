import { type ChannelOptions, experimental, status } from '@grpc/grpc-js';
import type { ServiceInstance } from '@switchyard/core';
import { INSTANCES_ATTRIBUTE, PKG } from './constants.js';
import { discoverySource } from './discovery-registry.js';

type GrpcUri = experimental.GrpcUri;
type ResolverListener = experimental.ResolverListener;
type Endpoint = experimental.Endpoint;

export function endpointOf(instance: ServiceInstance): Endpoint {
  return { addresses: [{ host: instance.address, port: instance.port }] };
}

/**
 * A grpc-js resolver for `switchyard:///service`: follows `discovery.watch(service)` and hands grpc-js
 * one endpoint per healthy instance, plus the instances themselves (ids, weights, zones, metadata)
 * as a channel attribute for the `switchyard` LB policy.
 */
export class SwitchyardResolver implements experimental.Resolver {
  readonly #service: string;
  readonly #source: string;
  readonly #listener: ResolverListener;
  readonly #abort = new AbortController();
  #started = false;
  #last: readonly ServiceInstance[] | undefined;

  constructor(target: GrpcUri, listener: ResolverListener, _options: ChannelOptions) {
    this.#service = target.path.replace(/^\/+/, '');
    this.#source = target.authority || 'default';
    this.#listener = listener;
  }

  static getDefaultAuthority(target: GrpcUri): string {
    return target.path.replace(/^\/+/, '');
  }

  updateResolution(): void {
    if (this.#started) {
      // Re-resolution requested (a connection dropped): re-send what we know; the watch pushes changes.
      if (this.#last) this.#push(this.#last, 're-resolution');
      return;
    }
    this.#started = true;
    void this.#run();
  }

  destroy(): void {
    this.#abort.abort();
  }

  #fail(details: string): void {
    this.#listener(experimental.statusOrFromError({ code: status.UNAVAILABLE, details }), {}, null, details);
  }

  #push(instances: readonly ServiceInstance[], note: string): void {
    this.#listener(
      experimental.statusOrFromValue(instances.map(endpointOf)),
      { [INSTANCES_ATTRIBUTE]: instances },
      null,
      note,
    );
  }

  async #run(): Promise<void> {
    const source = discoverySource(this.#source);
    if (!source) {
      this.#fail(
        `[${PKG}] no discovery registered as "${this.#source}" for switchyard target "${this.#service}" (call registerSwitchyardGrpc first)`,
      );
      return;
    }
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        for await (const event of source.watch(this.#service, { signal })) {
          this.#last = event.snapshot.instances;
          this.#push(
            event.snapshot.instances,
            `${event.reason} revision ${event.snapshot.revision}${event.stale ? ' (stale)' : ''}`,
          );
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        // Keep the last endpoints in use (stale is better than nothing); report only if we never had any.
        if (!this.#last)
          this.#fail(`[${PKG}] discovery watch for "${this.#service}" failed: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 1_000).unref());
      }
    }
  }
}
