import { type InstanceInput, normalizeInstance, type ServiceInstance } from '@switchyard/core';

export const PKG = 'discovery-redis';

/**
 * The JSON an instance is stored and streamed as. Service and id live in the key and the hash
 * field, so they are not repeated. The field order is fixed: a heartbeat compares the stored value
 * with the encoding of the registration's current instance, byte for byte.
 */
export function encodeInstance(instance: ServiceInstance): string {
  const { address, port, tags, metadata, weight, zone, region, health } = instance;
  return JSON.stringify({ address, port, tags, metadata, weight, zone, region, health });
}

/** The stored value of a record: the owner token (hex, no `|`) and the instance JSON. */
export function recordValue(token: string, json: string): string {
  return `${token}|${json}`;
}

/**
 * Decodes an instance read back from Redis. A value that is not valid JSON or fails validation
 * yields `undefined` (readers skip it; a stream reader treats it as a removal).
 */
export function decodeInstance(service: string, id: string, json: string): ServiceInstance | undefined {
  try {
    const raw: unknown = JSON.parse(json);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
    return normalizeInstance(PKG, { ...(raw as Partial<InstanceInput>), service, id } as InstanceInput);
  } catch {
    return undefined;
  }
}

/** Decodes a stored record value (`<token>|<json>`). */
export function decodeRecord(service: string, id: string, value: string): ServiceInstance | undefined {
  const bar = value.indexOf('|');
  return bar < 0 ? undefined : decodeInstance(service, id, value.slice(bar + 1));
}
