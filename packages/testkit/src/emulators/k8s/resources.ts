import type { StatusCause } from './status.js';
import type { KubeObject } from './store.js';

/** A resource type the emulator serves, with the field labels its field selectors accept. */
export interface ResourceType {
  /** URL segment, e.g. `endpointslices`. */
  readonly plural: string;
  /** API group (`''` for the core group). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly fieldLabels: readonly string[];
  fields(object: KubeObject): Record<string, string>;
  validate(object: KubeObject): StatusCause[];
}

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];

function metaFields(o: KubeObject): Record<string, string> {
  return { 'metadata.name': o.metadata.name, 'metadata.namespace': o.metadata.namespace ?? '' };
}

function validateName(o: KubeObject): StatusCause[] {
  const name = o.metadata?.name;
  if (typeof name !== 'string' || name === '')
    return [
      {
        field: 'metadata.name',
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
      },
    ];
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return [
      {
        field: 'metadata.name',
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
      },
    ];
  }
  return [];
}

/** `discovery.k8s.io/v1` EndpointSlice, validated like `pkg/apis/discovery/validation` (the parts clients rely on). */
export const ENDPOINT_SLICES: ResourceType = {
  plural: 'endpointslices',
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  listKind: 'EndpointSliceList',
  fieldLabels: ['metadata.name', 'metadata.namespace'],
  fields: metaFields,
  validate(o) {
    const causes = validateName(o);
    const addressType = o.addressType;
    if (typeof addressType !== 'string' || !ADDRESS_TYPES.includes(addressType)) {
      causes.push({
        field: 'addressType',
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(addressType)}: supported values: "FQDN", "IPv4", "IPv6"`,
      });
    }
    const endpoints = o.endpoints;
    if (endpoints !== undefined && endpoints !== null) {
      if (!Array.isArray(endpoints))
        causes.push({ field: 'endpoints', reason: 'FieldValueInvalid', message: 'must be a list' });
      else {
        if (endpoints.length > 1000)
          causes.push({
            field: 'endpoints',
            reason: 'FieldValueTooMany',
            message: `Too many: ${endpoints.length}: must have at most 1000 items`,
          });
        endpoints.forEach((e: { addresses?: unknown }, i: number) => {
          const a = e?.addresses;
          if (!Array.isArray(a) || a.length === 0 || a.length > 100) {
            causes.push({
              field: `endpoints[${i}].addresses`,
              reason: 'FieldValueRequired',
              message: 'must contain at least 1 and at most 100 addresses',
            });
          }
        });
      }
    }
    const ports = o.ports;
    if (Array.isArray(ports)) {
      if (ports.length > 100)
        causes.push({ field: 'ports', reason: 'FieldValueTooMany', message: 'must have at most 100 items' });
      const names = new Set<string>();
      ports.forEach((p: { name?: string }, i: number) => {
        const n = p?.name ?? '';
        if (names.has(n))
          causes.push({
            field: `ports[${i}].name`,
            reason: 'FieldValueDuplicate',
            message: `Duplicate value: "${n}"`,
          });
        names.add(n);
      });
    }
    return causes;
  },
};

/** Core `v1` Service (only what the Service filter of a discovery client needs: labels and annotations). */
export const SERVICES: ResourceType = {
  plural: 'services',
  group: '',
  version: 'v1',
  kind: 'Service',
  listKind: 'ServiceList',
  fieldLabels: ['metadata.name', 'metadata.namespace', 'spec.clusterIP', 'spec.type'],
  fields(o) {
    const spec = (o.spec ?? {}) as { clusterIP?: string; type?: string };
    return {
      ...metaFields(o),
      'spec.clusterIP': spec.clusterIP ?? '',
      'spec.type': spec.type ?? 'ClusterIP',
    };
  },
  validate: validateName,
};

export const RESOURCE_TYPES: readonly ResourceType[] = [ENDPOINT_SLICES, SERVICES];

/** Finds the type for a kind (`EndpointSlice`) or a plural (`endpointslices`). */
export function resourceType(kindOrPlural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.kind === kindOrPlural || t.plural === kindOrPlural);
}
