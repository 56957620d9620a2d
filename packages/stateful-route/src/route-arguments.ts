import { assertInstanceId, assertKey, assertServiceName, invalidArgument } from '@switchyard/core';
import { PKG, ROUTING_STATES, type RoutingState } from './route-model.js';

/** Validation of call arguments: `INVALID_ARGUMENT` naming the field. */
/** Names already validated (namespaces and services are few; the hot path skips the regex). */
const seenNames = new Set<string>();
function nameArg(field: string, v: unknown): string {
  if (typeof v === 'string' && seenNames.has(v)) return v;
  const s = assertServiceName(PKG, field, v);
  if (seenNames.size < 10_000) seenNames.add(s);
  return s;
}
export const namespaceArg = (v: unknown): string => nameArg('namespace', v);
export const serviceArg = (v: unknown): string => nameArg('service', v);
export const uidArg = (v: unknown, field = 'uid'): string =>
  typeof v === 'string' && v.length > 0 && v.length <= 512 && !v.includes('\u0000')
    ? v
    : assertKey(PKG, field, v, 512);
export const podArg = (v: unknown, field = 'pod'): string => assertInstanceId(PKG, field, v);

export function uidsArg(v: unknown): string[] {
  if (!Array.isArray(v)) throw invalidArgument(PKG, 'uids', 'must be an array of user ids');
  return v.map((u, i) => uidArg(u, `uids[${i}]`));
}

export function persistSecondsArg(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw invalidArgument(PKG, 'persistSeconds', `must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

export function loadArg(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    throw invalidArgument(PKG, 'load', `must be a number in [0, 100], got ${String(v)}`);
  }
  return v;
}

export function stateArg(v: unknown): RoutingState {
  if (!ROUTING_STATES.includes(v as RoutingState)) {
    throw invalidArgument(PKG, 'state', `must be one of ${ROUTING_STATES.join(', ')}, got ${String(v)}`);
  }
  return v as RoutingState;
}
