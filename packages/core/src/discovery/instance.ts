import type {
  InstanceDiff,
  InstanceFilter,
  InstanceHealth,
  InstanceInput,
  ServiceInstance,
} from '../contracts/discovery.js';
import { invalidArgument } from '../errors.js';
import { nearestName } from '../options/nearest-name.js';
import {
  assertAddress,
  assertInstanceId,
  assertNonEmptyString,
  assertOneOf,
  assertPort,
  assertServiceName,
  assertStringArray,
  assertStringRecord,
  assertWeight,
  describe,
} from '../validation.js';

export const INSTANCE_HEALTH: readonly InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];

/** Validates a registration input and fills defaults. Throws `INVALID_ARGUMENT` naming `instance.<field>`. */
export function normalizeInstance(pkg: string, input: InstanceInput): ServiceInstance {
  if (typeof input !== 'object' || input === null)
    throw invalidArgument(pkg, 'instance', 'must be an object');
  const instance: ServiceInstance = {
    id: assertInstanceId(pkg, 'instance.id', input.id),
    service: assertServiceName(pkg, 'instance.service', input.service),
    address: assertAddress(pkg, 'instance.address', input.address),
    port: assertPort(pkg, 'instance.port', input.port),
    tags: Object.freeze([
      ...(input.tags === undefined ? [] : assertStringArray(pkg, 'instance.tags', input.tags)),
    ]),
    metadata: Object.freeze({
      ...(input.metadata === undefined ? {} : assertStringRecord(pkg, 'instance.metadata', input.metadata)),
    }),
    weight: input.weight === undefined ? 1 : assertWeight(pkg, 'instance.weight', input.weight),
    zone: input.zone === undefined ? undefined : assertNonEmptyString(pkg, 'instance.zone', input.zone, 253),
    region:
      input.region === undefined
        ? undefined
        : assertNonEmptyString(pkg, 'instance.region', input.region, 253),
    health:
      input.health === undefined
        ? 'passing'
        : assertOneOf(pkg, 'instance.health', input.health, INSTANCE_HEALTH),
  };
  return Object.freeze(instance);
}

/** Field-by-field equality of two instances (tag order matters, metadata order does not). */
export function instancesEqual(a: ServiceInstance, b: ServiceInstance): boolean {
  if (
    a.id !== b.id ||
    a.service !== b.service ||
    a.address !== b.address ||
    a.port !== b.port ||
    a.weight !== b.weight ||
    a.zone !== b.zone ||
    a.region !== b.region ||
    a.health !== b.health ||
    a.tags.length !== b.tags.length
  ) {
    return false;
  }
  for (let i = 0; i < a.tags.length; i++) if (a.tags[i] !== b.tags[i]) return false;
  const ak = Object.keys(a.metadata);
  if (ak.length !== Object.keys(b.metadata).length) return false;
  for (const k of ak) if (a.metadata[k] !== b.metadata[k]) return false;
  return true;
}

/** Diff of two instance lists keyed by `id`. Output lists are sorted by id. */
export function diffInstances(
  before: readonly ServiceInstance[],
  after: readonly ServiceInstance[],
): InstanceDiff {
  const prev = new Map(before.map((i) => [i.id, i]));
  const added: ServiceInstance[] = [];
  const updated: ServiceInstance[] = [];
  for (const inst of after) {
    const old = prev.get(inst.id);
    if (!old) added.push(inst);
    else {
      prev.delete(inst.id);
      if (!instancesEqual(old, inst)) updated.push(inst);
    }
  }
  const removed = [...prev.values()];
  const byId = (x: ServiceInstance, y: ServiceInstance) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  return { added: added.sort(byId), removed: removed.sort(byId), updated: updated.sort(byId) };
}

export function isEmptyDiff(diff: InstanceDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.updated.length === 0;
}

/** True if `instance` passes `filter` (health defaults to passing only). */
export function matchesFilter(instance: ServiceInstance, filter: InstanceFilter | undefined): boolean {
  const health = filter?.health ?? DEFAULT_HEALTH;
  if (!health.includes(instance.health)) return false;
  if (!filter) return true;
  if (filter.zone !== undefined && instance.zone !== filter.zone) return false;
  if (filter.region !== undefined && instance.region !== filter.region) return false;
  if (filter.tags) for (const t of filter.tags) if (!instance.tags.includes(t)) return false;
  if (filter.metadata)
    for (const [k, v] of Object.entries(filter.metadata)) if (instance.metadata[k] !== v) return false;
  return true;
}

const DEFAULT_HEALTH: readonly InstanceHealth[] = ['passing'];

const FILTER_KEYS = ['health', 'tags', 'metadata', 'zone', 'region'] as const;

/**
 * Validates a filter object: known keys only (`extraKeys` for wrappers such as the client's
 * `where`), each of the right type. Throws `INVALID_ARGUMENT` naming `filter.<field>`.
 */
export function validateFilter(
  pkg: string,
  filter: InstanceFilter | undefined,
  extraKeys: readonly string[] = [],
): InstanceFilter | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw invalidArgument(pkg, 'filter', `must be an object, got ${describe(filter)}`);
  const known = [...FILTER_KEYS, ...extraKeys];
  for (const key of Object.keys(filter)) {
    if (!known.includes(key)) {
      const near = nearestName(key, known);
      throw invalidArgument(
        pkg,
        `filter.${key}`,
        `is not a filter field${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`,
      );
    }
  }
  if (filter.health !== undefined) {
    assertStringArray(pkg, 'filter.health', filter.health).forEach((h, i) =>
      assertOneOf(pkg, `filter.health[${i}]`, h, INSTANCE_HEALTH),
    );
  }
  if (filter.tags !== undefined) assertStringArray(pkg, 'filter.tags', filter.tags);
  if (filter.metadata !== undefined) assertStringRecord(pkg, 'filter.metadata', filter.metadata);
  if (filter.zone !== undefined) assertNonEmptyString(pkg, 'filter.zone', filter.zone, 253);
  if (filter.region !== undefined) assertNonEmptyString(pkg, 'filter.region', filter.region, 253);
  return filter;
}

/** Sorted by id: every backend returns instances in this order so snapshots compare cheaply. */
export function sortInstances(instances: ServiceInstance[]): ServiceInstance[] {
  return instances.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/**
 * Size limits every backend applies to a registration, so an instance that one backend takes is
 * taken by all (Consul's agent limits are the strictest: 64 metadata pairs, 128-character keys of
 * `[A-Za-z0-9_-]`, 512-character values), and so an oversized record is refused up front instead of
 * failing on the wire (etcd's 1.5 MiB request limit, gRPC message size).
 */
export const INSTANCE_LIMITS = Object.freeze({
  metadataEntries: 64,
  metadataKeyLength: 128,
  metadataValueLength: 512,
  tags: 64,
  tagLength: 255,
});

const META_KEY = /^[A-Za-z0-9_-]+$/;

/** Checks a normalised instance against `INSTANCE_LIMITS` (`INVALID_ARGUMENT` naming the field). */
export function assertRegistrable(pkg: string, instance: ServiceInstance): ServiceInstance {
  const meta = Object.entries(instance.metadata);
  if (meta.length > INSTANCE_LIMITS.metadataEntries) {
    throw invalidArgument(
      pkg,
      'instance.metadata',
      `must have at most ${INSTANCE_LIMITS.metadataEntries} entries, got ${meta.length}`,
    );
  }
  for (const [k, v] of meta) {
    if (k.length > INSTANCE_LIMITS.metadataKeyLength || !META_KEY.test(k)) {
      throw invalidArgument(
        pkg,
        `instance.metadata.${k.slice(0, 40)}`,
        `key must be 1-${INSTANCE_LIMITS.metadataKeyLength} characters of letters, digits, "_" and "-"`,
      );
    }
    if (v.length > INSTANCE_LIMITS.metadataValueLength) {
      throw invalidArgument(
        pkg,
        `instance.metadata.${k}`,
        `must be at most ${INSTANCE_LIMITS.metadataValueLength} characters, got ${v.length}`,
      );
    }
  }
  if (instance.tags.length > INSTANCE_LIMITS.tags) {
    throw invalidArgument(
      pkg,
      'instance.tags',
      `must have at most ${INSTANCE_LIMITS.tags} tags, got ${instance.tags.length}`,
    );
  }
  instance.tags.forEach((t, i) => {
    if (t.length === 0 || t.length > INSTANCE_LIMITS.tagLength) {
      throw invalidArgument(
        pkg,
        `instance.tags[${i}]`,
        `must be 1-${INSTANCE_LIMITS.tagLength} characters, got ${t.length}`,
      );
    }
  });
  return instance;
}
