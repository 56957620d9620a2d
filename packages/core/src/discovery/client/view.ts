import type { InstanceHealth, ServiceInstance } from '../../contracts/discovery.js';
import type { ClientInstanceFilter } from './types.js';

const DEFAULT_HEALTH: readonly InstanceHealth[] = ['passing'];

export interface View {
  readonly instances: readonly ServiceInstance[];
  /** The mass-failure guard engaged: unhealthy instances were returned too. */
  readonly panic: boolean;
  /** Instances passing the health filter. */
  readonly healthy: number;
  /** Instances the guard counts (every health but `maintenance`, unless asked for). */
  readonly total: number;
}

/**
 * Applies a filter to instances already cleared by the traffic rules, with the mass-failure guard:
 * if fewer than `threshold` of the eligible instances pass the health filter, every eligible one is
 * returned and `panic` is set. Maintenance is operator intent, not failure: it is neither counted nor
 * returned in panic mode unless the filter asks for it.
 */
export function computeView(
  instances: readonly ServiceInstance[],
  filter: ClientInstanceFilter | undefined,
  threshold: number,
): View {
  const health = filter?.health ?? DEFAULT_HEALTH;
  const selected: ServiceInstance[] = [];
  const eligible: ServiceInstance[] = [];
  for (const inst of instances) {
    if (!matchesShape(inst, filter)) continue;
    const wanted = health.includes(inst.health);
    if (wanted) selected.push(inst);
    if (wanted || inst.health !== 'maintenance') eligible.push(inst);
  }
  const total = eligible.length;
  const healthy = selected.length;
  if (threshold > 0 && total > 0 && healthy < threshold * total) {
    return { instances: eligible, panic: true, healthy, total };
  }
  return { instances: selected, panic: false, healthy, total };
}

/** Every non-health field of the filter. */
function matchesShape(instance: ServiceInstance, filter: ClientInstanceFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.zone !== undefined && instance.zone !== filter.zone) return false;
  if (filter.region !== undefined && instance.region !== filter.region) return false;
  if (filter.tags) for (const t of filter.tags) if (!instance.tags.includes(t)) return false;
  if (filter.metadata) {
    for (const [k, v] of Object.entries(filter.metadata)) if (instance.metadata[k] !== v) return false;
  }
  if (filter.where && !filter.where(instance)) return false;
  return true;
}
