import { type ChannelOptions, connectivityState, experimental, Metadata, status } from '@grpc/grpc-js';
import type { ServiceInstance } from '@switchyard/core';
import { type Balancer, createBalancer } from '@switchyard/loadbalancer';
import { INSTANCES_ATTRIBUTE, POLICY } from './constants.js';
import { EndpointFeed } from './endpoint-feed.js';
import { SwitchyardLbConfig } from './lb-config.js';

type Endpoint = experimental.Endpoint;
type LeafLoadBalancer = experimental.LeafLoadBalancer;

/** Status codes that count against an instance (its fault or its reachability), as in gRPC's own retry/outlier guidance. */
const FAILURE = new Set<number>([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
  status.DATA_LOSS,
  status.RESOURCE_EXHAUSTED,
]);

function keyOf(e: Endpoint): string {
  const a = e.addresses[0];
  return a === undefined ? '' : 'host' in a ? `${a.host}:${a.port}` : `unix:${a.path}`;
}

/** Live registry of policies, for `switchyardChannelStats`. */
export const livePolicies = new Set<SwitchyardLoadBalancer>();

/**
 * The `switchyard` LB policy: one pick-first leaf per endpoint (grpc-js does connecting and backoff),
 * and a Switchyard balancer over the endpoints choosing among the READY ones with our pickers;
 * each call's final status feeds that instance's breaker, outlier ejection and latency stats.
 */
export class SwitchyardLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  readonly #childHelper: experimental.ChannelControlHelper;
  readonly #children = new Map<string, { leaf: LeafLoadBalancer; instance: ServiceInstance }>();
  readonly #feed = new EndpointFeed();
  /** Ids of instances whose leaf is not READY: the balancer avoids them. */
  readonly #notReady = new Set<string>();
  /** Ids in TRANSIENT_FAILURE: even affinity picks avoid them. */
  readonly #failed = new Set<string>();
  readonly #readyById = new Map<string, LeafLoadBalancer>();
  #balancer: Balancer | undefined;
  #config: SwitchyardLbConfig | undefined;
  #paused = false;
  #lastError: string | null = null;
  service = '';

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper;
    this.#childHelper = experimental.createChildChannelControlHelper(helper, {
      updateState: (_state, _picker, error) => {
        if (error) this.#lastError = error;
        this.#recompute();
      },
    });
    livePolicies.add(this);
  }

  get balancer(): Balancer | undefined {
    return this.#balancer;
  }

  updateAddressList(
    endpoints: experimental.StatusOr<Endpoint[]>,
    lbConfig: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    note: string,
  ): boolean {
    if (!(lbConfig instanceof SwitchyardLbConfig)) return false;
    if (!endpoints.ok) {
      if (this.#children.size === 0)
        this.#helper.updateState(
          connectivityState.TRANSIENT_FAILURE,
          new experimental.UnavailablePicker(endpoints.error),
          endpoints.error.details,
        );
      return true;
    }
    const resolved = options[INSTANCES_ATTRIBUTE] as readonly ServiceInstance[] | undefined;
    const byKey = new Map<string, ServiceInstance>();
    for (const i of resolved ?? []) byKey.set(`${i.address}:${i.port}`, i);
    if (!this.#balancer || this.#config?.pickerName !== lbConfig.pickerName) {
      void this.#balancer?.close();
      this.#balancer = undefined;
      this.service = resolved?.[0]?.service ?? 'grpc';
      try {
        this.#balancer = this.#createBalancer(lbConfig);
      } catch (error) {
        // Bad breaker/ejection options: fail the channel's calls with the message, not the process.
        const details = error instanceof Error ? error.message : String(error);
        this.#helper.updateState(
          connectivityState.TRANSIENT_FAILURE,
          new experimental.UnavailablePicker({ details }),
          details,
        );
        return true;
      }
    }
    this.#config = lbConfig;
    this.#paused = true;
    const keep = new Set<string>();
    const instances: ServiceInstance[] = [];
    for (const e of endpoints.value) {
      const key = keyOf(e);
      if (keep.has(key)) continue;
      keep.add(key);
      const a = e.addresses[0] as { host?: string; port?: number } | undefined;
      const instance: ServiceInstance = byKey.get(key) ?? {
        id: key,
        service: this.service,
        address: a?.host ?? key,
        port: a?.port ?? 0,
        tags: [],
        metadata: {},
        weight: 1,
        health: 'passing',
      };
      instances.push(instance);
      const child = this.#children.get(key);
      if (child) {
        child.instance = instance;
        child.leaf.updateEndpoint(e, options);
      } else {
        const leaf = new experimental.LeafLoadBalancer(e, this.#childHelper, options, note);
        this.#children.set(key, { leaf, instance });
        leaf.startConnecting();
      }
    }
    for (const [key, child] of this.#children) {
      if (!keep.has(key)) {
        child.leaf.destroy();
        this.#children.delete(key);
      }
    }
    this.#feed.push(instances);
    this.#paused = false;
    if (instances.length === 0) {
      const details = `no endpoints resolved (${note})`;
      this.#helper.updateState(
        connectivityState.TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ details }),
        details,
      );
      return true;
    }
    this.#recompute();
    return true;
  }

  #createBalancer(lbConfig: SwitchyardLbConfig): Balancer {
    const balancer = createBalancer({
      discovery: this.#feed,
      service: this.service,
      picker: lbConfig.picker(),
      // The channel has its own retry policy; no second budget here.
      retryBudget: false,
      ...(lbConfig.json.breaker !== undefined ? { breaker: lbConfig.json.breaker } : {}),
      ...(lbConfig.json.outlierDetection !== undefined
        ? { outlierDetection: lbConfig.json.outlierDetection }
        : {}),
    });
    balancer.on('balancer:breaker-changed', () => this.#recompute());
    balancer.on('balancer:returned', () => this.#recompute());
    // A QUEUEd pick waits for a new picker: give one when the balancer catches up with the feed.
    balancer.on('balancer:instances-changed', () => this.#recompute());
    return balancer;
  }

  #recompute(): void {
    if (this.#paused || !this.#balancer || !this.#config) return;
    this.#notReady.clear();
    this.#failed.clear();
    this.#readyById.clear();
    let connecting = 0;
    for (const { leaf, instance } of this.#children.values()) {
      const st = leaf.getConnectivityState();
      if (st === connectivityState.READY) this.#readyById.set(instance.id, leaf);
      else {
        this.#notReady.add(instance.id);
        if (st === connectivityState.CONNECTING) connecting++;
        if (st === connectivityState.TRANSIENT_FAILURE) this.#failed.add(instance.id);
        if (st === connectivityState.IDLE) leaf.exitIdle();
      }
    }
    if (this.#readyById.size > 0) {
      this.#helper.updateState(
        connectivityState.READY,
        new SwitchyardPicker(this.#balancer, this.#readyById, this.#notReady, this.#failed, this.#config),
        null,
      );
    } else if (connecting > 0 || this.#children.size === 0) {
      this.#helper.updateState(connectivityState.CONNECTING, new experimental.QueuePicker(this), null);
    } else {
      const details = `${POLICY}: no connection established. Last error: ${this.#lastError}`;
      this.#helper.updateState(
        connectivityState.TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ details }),
        details,
      );
    }
  }

  exitIdle(): void {
    for (const { leaf } of this.#children.values()) leaf.exitIdle();
  }

  resetBackoff(): void {}

  destroy(): void {
    for (const { leaf } of this.#children.values()) leaf.destroy();
    this.#children.clear();
    void this.#balancer?.close();
    this.#balancer = undefined;
    livePolicies.delete(this);
  }

  getTypeName(): string {
    return POLICY;
  }
}

class SwitchyardPicker implements experimental.Picker {
  readonly #balancer: Balancer;
  readonly #ready: ReadonlyMap<string, LeafLoadBalancer>;
  readonly #notReady: ReadonlySet<string>;
  readonly #failed: ReadonlySet<string>;
  readonly #hashMetadata: string | undefined;
  readonly #affinity: boolean;

  constructor(
    balancer: Balancer,
    ready: ReadonlyMap<string, LeafLoadBalancer>,
    notReady: ReadonlySet<string>,
    failed: ReadonlySet<string>,
    config: SwitchyardLbConfig,
  ) {
    this.#balancer = balancer;
    this.#ready = new Map(ready);
    this.#notReady = new Set(notReady);
    this.#failed = new Set(failed);
    this.#hashMetadata = config.hashMetadata;
    this.#affinity = config.pickerName === 'ring_hash' || config.pickerName === 'maglev';
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    let key: string | undefined;
    if (this.#hashMetadata) {
      const v = args.metadata.get(this.#hashMetadata)[0];
      if (v !== undefined) key = typeof v === 'string' ? v : v.toString('utf8');
    }
    let handle: ReturnType<Balancer['pick']>;
    try {
      // Affinity picks wait for a connecting owner (as gRPC's ring_hash does) and skip only failed ones.
      const avoid = key !== undefined && this.#affinity ? this.#failed : this.#notReady;
      handle = this.#balancer.pick(key === undefined ? undefined : { key }, avoid);
    } catch (error) {
      const details = error instanceof Error ? error.message : String(error);
      return {
        pickResultType: experimental.PickResultType.TRANSIENT_FAILURE,
        subchannel: null,
        status: { code: status.UNAVAILABLE, details, metadata: new Metadata() },
        onCallStarted: null,
        onCallEnded: null,
      };
    }
    const leaf = this.#ready.get(handle.instance.id);
    if (!leaf) {
      // The balancer has not seen the newest endpoint list yet, or only non-READY instances are eligible.
      handle.cancel();
      return {
        pickResultType: experimental.PickResultType.QUEUE,
        subchannel: null,
        status: null,
        onCallStarted: null,
        onCallEnded: null,
      };
    }
    const result = leaf.getPicker().pick(args);
    if (result.pickResultType !== experimental.PickResultType.COMPLETE) {
      handle.cancel();
      return result;
    }
    const started = performance.now();
    const inner = result.onCallEnded;
    return {
      ...result,
      onCallEnded: (code, details, metadata) => {
        inner?.(code, details, metadata);
        handle.report(!FAILURE.has(code), performance.now() - started);
      },
    };
  }
}
