import { type InstanceInput, normalizeInstance, type ServiceInstance } from '@switchyard/core';

/**
 * Key layout and value encoding. An instance lives under `<prefix>/<service>/<id>` as the JSON
 * of its `ServiceInstance` fields. Service names and ids cannot contain `/` (core validation), so
 * the key splits unambiguously.
 */
export class InstanceCodec {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** `<prefix>/` : every service key starts with it. */
  get rootPrefix(): string {
    return `${this.prefix}/`;
  }

  /** `<prefix>/<service>/` : the range of one service (the trailing slash keeps `api` apart from `api2`). */
  servicePrefix(service: string): string {
    return `${this.prefix}/${service}/`;
  }

  key(service: string, id: string): string {
    return `${this.prefix}/${service}/${id}`;
  }

  encode(instance: ServiceInstance): string {
    const { id, service, address, port, tags, metadata, weight, zone, region, health } = instance;
    return JSON.stringify({ id, service, address, port, tags, metadata, weight, zone, region, health });
  }

  /** The `{ service, id }` a key names, or undefined for a key outside the layout. */
  parseKey(key: string): { service: string; id: string } | undefined {
    if (!key.startsWith(this.rootPrefix)) return undefined;
    const rest = key.slice(this.rootPrefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1 || rest.indexOf('/', slash + 1) !== -1) return undefined;
    return { service: rest.slice(0, slash), id: rest.slice(slash + 1) };
  }

  /**
   * Decodes a stored value. Service and id come from the key (the key is the identity); a value
   * that is not valid JSON or fails validation yields undefined and is ignored by readers.
   */
  decode(key: string, value: string): ServiceInstance | undefined {
    const names = this.parseKey(key);
    if (!names) return undefined;
    try {
      const raw: unknown = JSON.parse(value);
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
      return normalizeInstance('discovery-etcd', {
        ...(raw as Partial<InstanceInput>),
        service: names.service,
        id: names.id,
      } as InstanceInput);
    } catch {
      return undefined;
    }
  }
}
