import { instancesEqual, publishDiagnostic, type ServiceInstance } from '@switchyard/core';
import { PKG } from './options.js';
import {
  type EndpointSliceLike,
  type MappingOptions,
  mergeInstances,
  SERVICE_NAME_LABEL,
  sliceInstances,
} from './slice-mapping.js';

interface SliceEntry {
  /** `namespace/name` of the Service it belongs to (undefined: no service-name label). */
  readonly service: string | undefined;
  readonly instances: readonly ServiceInstance[];
}

interface Meta {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
  };
}

export interface ServiceFilter {
  /** Sent to the API with the Service watch. */
  labelSelector: string | undefined;
  /** Each must be present on the Service with this exact value. */
  annotations: Readonly<Record<string, string>> | undefined;
}

const keyOf = (o: Meta) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * The shared cache of one scope (a namespace, or all): EndpointSlices grouped by their Service,
 * mapped to instances when they arrive, merged per Service on read; with a Service filter, the
 * Services that pass it. Every write returns the Service keys whose instances may have changed.
 */
export class ScopeCache {
  readonly #mapping: MappingOptions;
  readonly #nameOf: (namespace: string, name: string) => string;
  readonly #filter: ServiceFilter | undefined;
  readonly #slices = new Map<string, SliceEntry>();
  readonly #byService = new Map<string, Set<string>>();
  readonly #merged = new Map<string, ServiceInstance[]>();
  /** Services passing the filter (only with a filter). */
  readonly #visible = new Set<string>();

  constructor(
    mapping: MappingOptions,
    nameOf: (namespace: string, name: string) => string,
    filter?: ServiceFilter,
  ) {
    this.#mapping = mapping;
    this.#nameOf = nameOf;
    this.#filter = filter;
  }

  get sliceCount(): number {
    return this.#slices.size;
  }

  #entry(slice: EndpointSliceLike & Meta): SliceEntry {
    const namespace = slice.metadata?.namespace ?? '';
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svc) return { service: undefined, instances: [] };
    const service = this.#nameOf(namespace, svc);
    const mapped = sliceInstances(service, slice, this.#mapping);
    if (mapped.problem) {
      publishDiagnostic(
        'k8s:unmapped',
        { service, slice: slice.metadata?.name, problem: mapped.problem },
        PKG,
      );
    }
    return {
      service: `${namespace}/${svc}`,
      instances: mapped.instances,
    };
  }

  #put(key: string, entry: SliceEntry | undefined, changed: Set<string>): void {
    const old = this.#slices.get(key);
    if (old?.service) {
      this.#byService.get(old.service)?.delete(key);
      if (this.#byService.get(old.service)?.size === 0) this.#byService.delete(old.service);
      this.#merged.delete(old.service);
      changed.add(old.service);
    }
    if (entry === undefined) {
      this.#slices.delete(key);
      return;
    }
    this.#slices.set(key, entry);
    if (entry.service) {
      let set = this.#byService.get(entry.service);
      if (!set) {
        set = new Set();
        this.#byService.set(entry.service, set);
      }
      set.add(key);
      this.#merged.delete(entry.service);
      changed.add(entry.service);
    }
  }

  applySlice(type: 'ADDED' | 'MODIFIED' | 'DELETED', slice: EndpointSliceLike & Meta): Set<string> {
    const changed = new Set<string>();
    this.#put(keyOf(slice), type === 'DELETED' ? undefined : this.#entry(slice), changed);
    return changed;
  }

  /** Replaces every slice; returns the changed services and how many slices differed (the watch missed them). */
  replaceSlices(items: readonly (EndpointSliceLike & Meta)[]): { changed: Set<string>; differing: number } {
    const changed = new Set<string>();
    let differing = 0;
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.#slices.get(key);
      // Compare what the slice means, not its resourceVersion: after a restore onto a new history
      // the same version can name different content.
      const entry = this.#entry(item);
      if (old && sameEntry(old, entry)) continue;
      differing++;
      this.#put(key, entry, changed);
    }
    for (const key of [...this.#slices.keys()]) {
      if (seen.has(key)) continue;
      differing++;
      this.#put(key, undefined, changed);
    }
    return { changed, differing };
  }

  #passes(svc: Meta): boolean {
    const want = this.#filter?.annotations;
    if (!want) return true;
    const have = svc.metadata?.annotations ?? {};
    return Object.entries(want).every(([k, v]) => have[k] === v);
  }

  applyService(type: 'ADDED' | 'MODIFIED' | 'DELETED', svc: Meta): Set<string> {
    const key = keyOf(svc);
    const before = this.#visible.has(key);
    const after = type !== 'DELETED' && this.#passes(svc);
    if (after) this.#visible.add(key);
    else this.#visible.delete(key);
    return before === after ? new Set() : new Set([key]);
  }

  replaceServices(items: readonly Meta[]): Set<string> {
    const next = new Set(items.filter((s) => this.#passes(s)).map(keyOf));
    const changed = new Set<string>();
    for (const k of next) if (!this.#visible.has(k)) changed.add(k);
    for (const k of this.#visible) if (!next.has(k)) changed.add(k);
    this.#visible.clear();
    for (const k of next) this.#visible.add(k);
    return changed;
  }

  #isVisible(key: string): boolean {
    return this.#filter === undefined || this.#visible.has(key);
  }

  /** The merged instances of a Service (`namespace/name`). */
  instances(key: string): readonly ServiceInstance[] {
    if (!this.#isVisible(key)) return [];
    let merged = this.#merged.get(key);
    if (!merged) {
      const lists = [...(this.#byService.get(key) ?? [])].map((k) => this.#slices.get(k)?.instances ?? []);
      merged = mergeInstances(lists, this.#mapping.draining);
      this.#merged.set(key, merged);
    }
    return merged;
  }

  /** Services (`namespace/name`) with at least one instance. */
  serviceKeys(): string[] {
    return [...this.#byService.keys()].filter((k) => this.instances(k).length > 0);
  }
}

function sameEntry(a: SliceEntry, b: SliceEntry): boolean {
  if (a.service !== b.service || a.instances.length !== b.instances.length) return false;
  for (let i = 0; i < a.instances.length; i++)
    if (!instancesEqual(a.instances[i]!, b.instances[i]!)) return false;
  return true;
}
