/**
 * The in-memory state of one emulated Consul agent (a single-node dev agent: agent, catalog, KV and
 * sessions share one raft-like index that only grows, until `reset()` drops everything the way a
 * restarted dev agent does — the index then goes backwards, which clients must handle).
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

export class ConsulState {
  readonly datacenter: string;
  readonly node: NodeRecord;
  readonly services = new Map<string, ServiceRecord>();
  readonly checks = new Map<string, CheckRecord>();
  readonly kv = new Map<string, KvEntry>();
  /** Deleted keys → index of the delete, so a recursive read's index never goes backwards. */
  readonly tombstones = new Map<string, number>();
  readonly lockDelays = new Map<string, number>();
  readonly sessions = new Map<string, SessionRecord>();
  /** Per service name: last index that changed any of its instances or checks. */
  readonly serviceIndex = new Map<string, number>();
  #index = 0;
  catalogIndex = 0;
  kvIndex = 0;
  sessionIndex = 0;
  readonly #listeners = new Set<() => void>();

  constructor(options: { datacenter: string; nodeName: string; nodeId: string }) {
    this.datacenter = options.datacenter;
    this.node = {
      ID: options.nodeId,
      Node: options.nodeName,
      Address: '127.0.0.1',
      Datacenter: options.datacenter,
      TaggedAddresses: { lan: '127.0.0.1', wan: '127.0.0.1' },
      Meta: { 'consul-network-segment': '' },
      CreateIndex: 0,
      ModifyIndex: 0,
    };
    this.#boot();
  }

  /** Current raft index (always >= 1). */
  get index(): number {
    return this.#index;
  }

  /** Allocates the next index for a write. Call `changed()` after the write. */
  nextIndex(): number {
    return ++this.#index;
  }

  /** Records a change to a service's instances (`catalog`: the service list changed too) or only its checks. */
  touchService(name: string, index: number, catalog = true): void {
    this.serviceIndex.set(name, index);
    if (catalog) this.catalogIndex = index;
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
    for (const c of this.checks.values()) clearTimeout(c.timer);
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    this.services.clear();
    this.checks.clear();
    this.kv.clear();
    this.tombstones.clear();
    this.lockDelays.clear();
    this.sessions.clear();
    this.serviceIndex.clear();
    this.#index = 0;
    this.#boot();
    this.changed();
  }

  /** Stops every timer (emulator shutdown). */
  dispose(): void {
    for (const c of this.checks.values()) clearTimeout(c.timer);
    for (const s of this.sessions.values()) clearTimeout(s.timer);
    this.#listeners.clear();
  }

  #boot(): void {
    // A dev agent registers its node and the built-in "consul" service in its first writes.
    const idx = this.nextIndex();
    this.node.CreateIndex = idx;
    this.node.ModifyIndex = idx;
    const svcIdx = this.nextIndex();
    this.services.set('consul', {
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
