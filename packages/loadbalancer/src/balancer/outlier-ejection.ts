import type { EndpointState, ResolvedOutlierOptions } from './endpoint-state.js';

/**
 * Outlier ejection (Envoy `consecutive_5xx` style): after `consecutiveFailures` failures in a row an
 * endpoint is ejected for base × times-ejected (capped), unless the ejected share would exceed
 * `maxEjectionPercent` (at least one endpoint may always be ejected). A success resets the streak;
 * a long healthy period after returning resets the multiplier. Returns the ejection time when
 * this outcome ejected the endpoint.
 */
export function recordOutlierOutcome(
  s: EndpointState,
  ok: boolean,
  now: number,
  od: ResolvedOutlierOptions,
  peers: Iterable<EndpointState>,
  total: number,
): number | undefined {
  if (ok) {
    s.consecutiveFailures = 0;
    if (s.ejections > 0 && now - s.returnedAt > od.maxEjectionTime) s.ejections = 0;
    return undefined;
  }
  s.consecutiveFailures++;
  if (s.consecutiveFailures < od.consecutiveFailures || s.isEjected()) return undefined;
  let ejected = 0;
  for (const e of peers) if (e.isEjected()) ejected++;
  if (ejected >= Math.max(1, Math.floor((od.maxEjectionPercent / 100) * total))) return undefined;
  s.ejections++;
  const duration = Math.min(od.baseEjectionTime * s.ejections, od.maxEjectionTime);
  s.ejectedUntil = now + duration;
  s.consecutiveFailures = 0;
  return duration;
}
