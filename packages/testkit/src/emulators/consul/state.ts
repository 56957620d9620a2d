/**
 * The in-memory state of one emulated Consul datacenter: the servers' catalog (nodes, the services
 * and checks each node's agent registered, the indexes blocking queries read), KV and sessions. They
 * share one raft-like index that only grows, until `reset()` drops everything the way a restarted
 * dev agent does — the index then goes backwards, which clients must handle.
 *
 * Services are unique per node, not per datacenter (Consul's catalog keys them by node + service
 * ID): two agents may each hold a service `web`, and both are instances of it.
 */

export interface ServiceRecord {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  CreateIndex: number;
  ModifyIndex: number;
}

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface CheckRecord {
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  CreateIndex: number;
  ModifyIndex: number;
  /** Emulator bookkeeping (not serialised). */
  ttlMs?: number | undefined;
  /** When the TTL runs out unless refreshed (ms since the epoch); a persistent restart reads it. */
  ttlDeadline?: number | undefined;
  http?: { url: string; method: string; header: Record<string, string[]> } | undefined;
  tcp?: string | undefined;
  intervalMs?: number | undefined;
  timeoutMs?: number | undefined;
  deregisterAfterMs?: number | undefined;
  criticalSince?: number | undefined;
  timer?: NodeJS.Timeout | undefined;
}

export interface KvEntry {
  Key: string;
  Flags: number;
  Value: Buffer | null;
  Session?: string | undefined;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface SessionRecord {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: 'release' | 'delete';
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: { ID: string; Namespace: string }[];
  CreateIndex: number;
  ModifyIndex: number;
  ttlMs?: number | undefined;
  timer?: NodeJS.Timeout | undefined;
}

export interface NodeRecord {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

export const SERF_CHECK = 'serfHealth';

/** One node of the datacenter: its agent's local services and checks. */
export class NodeState {
  readonly node: NodeRecord;
  readonly services = new Map<string, ServiceRecord>();
  readonly checks = new Map<string, CheckRecord>();
  /** The server node runs the built-in `consul` service. */
  readonly server: boolean;

  constructor(node: NodeRecord, server: boolean) {
    this.node = node;
    this.server = server;
  }

  stopTimers(): void {
    for (const c of this.checks.values()) clearTimeout(c.timer);
  }
}

export class ConsulState {
  readonly datacenter: string;
  readonly nodes: readonly NodeState[];
  readonly kv = new Map<string, KvEntry>();
  /** Deleted keys → index of the delete, so a recursive read's index never goes backwards. */
  readonly tombstones = new Map<string, number>();
  readonly lockDelays = new Map<string, number>();
  readonly sessions = new Map<string, SessionRecord>();
  /** Per service name with at least one instance: last index that changed any instance or check of it. */
  readonly serviceIndex = new Map<string, number>();
  #index = 0;
  /** Index of the last change to the services table (register / deregister anywhere). */
  catalogIndex = 0;
  /** Index of the last change to the checks table (a status change, a check added or removed). */
  checksIndex = 0;
  /** Index of the last change to the nodes table. */
  nodesIndex = 0;
  /** Index at which a service name last lost its last instance (Consul's `service_last_extinction`); 0: never. */
  lastExtinction = 0;
  kvIndex = 0;
  sessionIndex = 0;
  readonly #listeners = new Set<() => void>();

  constructor(options: { datacenter: string; nodes: { name: string; id: string }[] }) {
    this.datacenter = options.datacenter;
    this.nodes = options.nodes.map(
      (n, i) =>
        new NodeState(
          {
            ID: n.id,
            Node: n.name,
            Address: '127.0.0.1',
            Datacenter: options.datacenter,
            TaggedAddresses: { lan: '127.0.0.1', wan: '127.0.0.1' },
            Meta: { 'consul-network-segment': '' },
            CreateIndex: 0,
            ModifyIndex: 0,
          },
          i === 0,
        ),
    );
    this.#boot();
  }

  /** The first node (the server the single-node tests talk to). */
  get primary(): NodeState {
    return this.nodes[0] as NodeState;
  }

  /** The first node's record (sessions are created on it). */
  get node(): NodeRecord {
    return this.primary.node;
  }

  /** The first node's checks (sessions bind to them). */
  get checks(): Map<string, CheckRecord> {
    return this.primary.checks;
  }

  /** Current raft index (always >= 1). */
  get index(): number {
    return this.#index;
  }

  /** Allocates the next index for a write. Call `changed()` after the write. */
  nextIndex(): number {
    return ++this.#index;
  }

  /**
   * Records a change to a service's instances (`catalog`: the services table changed too) or only
   * its checks. A service name left with no instance on any node goes extinct: its index entry is
   * dropped and `lastExtinction` moves to this index, as Consul's catalog does.
   */
  touchService(name: string, index: number, catalog = true): void {
    if (catalog) this.catalogIndex = index;
    else this.checksIndex = index;
    if (this.nodes.some((n) => [...n.services.values()].some((s) => s.Service === name))) {
      this.serviceIndex.set(name, index);
    } else if (this.serviceIndex.delete(name)) {
      this.lastExtinction = index;
    }
  }

  /**
   * The index a health or catalog query of `name` reports: the service's own index while it has
   * instances; for a missing service the last extinction of any service, or (none yet) the
   * catalog's highest index — so idle watches on absent services wake whenever any service dies.
   */
  indexOfService(name: string, withChecks: boolean): number {
    const own = this.serviceIndex.get(name);
    if (own !== undefined) return own;
    if (this.lastExtinction > 0) return this.lastExtinction;
    return Math.max(this.nodesIndex, this.catalogIndex, withChecks ? this.checksIndex : 0);
  }

  /** Wakes blocking queries so they re-evaluate their result index. */
  changed(): void {
    for (const l of [...this.#listeners]) l();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets everything and starts the index again from the beginning, like a restarted dev agent. */
  reset(): void {
    for (const n of this.nodes) {
      n.stopTimers();
      n.services.clear();
      n.checks.clear();
    }
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    this.kv.clear();
    this.tombstones.clear();
    this.lockDelays.clear();
    this.sessions.clear();
    this.serviceIndex.clear();
    this.lastExtinction = 0;
    this.catalogIndex = 0;
    this.checksIndex = 0;
    this.nodesIndex = 0;
    this.#index = 0;
    this.#boot();
    this.changed();
  }

  /** Stops every timer (emulator shutdown). */
  dispose(): void {
    for (const n of this.nodes) n.stopTimers();
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    this.#listeners.clear();
  }

  #boot(): void {
    // Each agent registers its node; the server also registers the built-in "consul" service.
    for (const n of this.nodes) {
      const idx = this.nextIndex();
      n.node.CreateIndex = idx;
      n.node.ModifyIndex = idx;
      this.nodesIndex = idx;
    }
    const svcIdx = this.nextIndex();
    this.primary.services.set('consul', {
      ID: 'consul',
      Service: 'consul',
      Tags: [],
      Address: '',
      Port: 8300,
      Meta: { raft_version: '3', serf_protocol_current: '2' },
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      CreateIndex: svcIdx,
      ModifyIndex: svcIdx,
    });
    this.touchService('consul', svcIdx);
    this.kvIndex = svcIdx;
    this.sessionIndex = svcIdx;
  }
}
