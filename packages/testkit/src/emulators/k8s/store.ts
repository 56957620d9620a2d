import { randomUUID } from 'node:crypto';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change in the store's history, as etcd's watch would report it (with the previous value). */
export interface StoreEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly resource: string;
  /** `namespace/name`: the order lists are served in (etcd key order). */
  readonly key: string;
  /** The object after the change (for DELETED: its last state, stamped with the deletion's version). */
  readonly object: KubeObject;
  readonly prev: KubeObject | undefined;
}

export const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

/**
 * The emulated etcd behind the apiserver: one global, strictly increasing resourceVersion (decimal
 * strings, never reused), the current objects per resource, and a bounded history of changes with
 * their previous values. Lists at an old version undo the history; versions older than the
 * compaction point are gone (`410 Gone` upstream).
 */
export class ObjectStore {
  #rv: number;
  /** Changes at or below this version have been compacted away. */
  #compacted: number;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  #log: StoreEvent[] = [];
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  historyLimit: number;

  constructor(options: { historyLimit?: number; firstVersion?: number } = {}) {
    this.#rv = (options.firstVersion ?? 1) - 1;
    this.#compacted = this.#rv;
    this.historyLimit = options.historyLimit ?? 10_000;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** The newest compacted version: a watch or an exact list from below it is expired. */
  get compactedVersion(): number {
    return this.#compacted;
  }

  #bucket(resource: string): Map<string, KubeObject> {
    let b = this.#objects.get(resource);
    if (!b) {
      b = new Map();
      this.#objects.set(resource, b);
    }
    return b;
  }

  get(resource: string, key: string): KubeObject | undefined {
    return this.#objects.get(resource)?.get(key);
  }

  /** Current objects of a resource in key order. */
  current(resource: string): KubeObject[] {
    const b = this.#objects.get(resource);
    if (!b) return [];
    return [...b.entries()].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)).map(([, o]) => o);
  }

  /** Objects of a resource as they were at `rv`, in key order; `undefined` when `rv` is compacted. */
  at(resource: string, rv: number): KubeObject[] | undefined {
    if (rv >= this.#rv) return this.current(resource);
    if (rv < this.#compacted) return undefined;
    const state = new Map(this.#objects.get(resource) ?? []);
    for (let i = this.#log.length - 1; i >= 0 && this.#log[i]!.rv > rv; i--) {
      const e = this.#log[i]!;
      if (e.resource !== resource) continue;
      if (e.prev === undefined) state.delete(e.key);
      else state.set(e.key, e.prev);
    }
    return [...state.entries()].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)).map(([, o]) => o);
  }

  /** Changes after `rv` (all resources); `undefined` when some of them were compacted. */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.#compacted) return undefined;
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#log[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.#log.slice(lo);
  }

  /** Creates, replaces or deletes an object, stamping a new resourceVersion. */
  write(resource: string, type: EventType, input: KubeObject): StoreEvent {
    const bucket = this.#bucket(resource);
    const key = objectKey(input.metadata.namespace, input.metadata.name);
    const prev = bucket.get(key);
    const rv = ++this.#rv;
    let object: KubeObject;
    if (type === 'DELETED') {
      if (!prev) throw new Error(`delete of a missing object ${key}`);
      object = stamp(prev, rv);
      bucket.delete(key);
    } else {
      const meta: ObjectMeta = {
        ...input.metadata,
        uid: prev?.metadata.uid ?? input.metadata.uid ?? randomUUID(),
        creationTimestamp:
          prev?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        generation: (prev?.metadata.generation ?? 0) + 1,
        resourceVersion: String(rv),
      };
      const { kind: _k, apiVersion: _a, ...rest } = input;
      object = deepFreeze(structuredClone({ ...rest, metadata: meta }));
      bucket.set(key, object);
    }
    const event: StoreEvent = Object.freeze({ rv, type, resource, key, object, prev });
    this.#log.push(event);
    if (this.#log.length > this.historyLimit)
      this.compact(this.#log[this.#log.length - this.historyLimit - 1]!.rv);
    for (const l of [...this.#listeners]) l(event);
    return event;
  }

  /** Forgets the history up to and including `rv` (default: all of it, like etcd's compaction). */
  compact(rv: number = this.#rv): void {
    const upTo = Math.min(rv, this.#rv);
    if (upTo <= this.#compacted) return;
    this.#compacted = upTo;
    this.#log = this.#log.filter((e) => e.rv > upTo);
  }

  /**
   * Starts a new history (an etcd restored from a backup, or a new cluster behind the same
   * address): every object is re-stamped with versions from `firstVersion` on, and the old
   * history is gone. A lower `firstVersion` makes versions go backwards.
   */
  renumber(firstVersion: number): void {
    this.#rv = firstVersion - 1;
    this.#log = [];
    for (const bucket of this.#objects.values()) {
      for (const [key, o] of [...bucket.entries()].sort(([a], [c]) => (a < c ? -1 : 1)))
        bucket.set(key, stamp(o, ++this.#rv));
    }
    this.#compacted = this.#rv;
  }

  onEvent(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function stamp(o: KubeObject, rv: number): KubeObject {
  return deepFreeze({ ...o, metadata: { ...o.metadata, resourceVersion: String(rv) } });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
