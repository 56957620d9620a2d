import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { createP2cPick, validateChoices } from '../weights/p2c-sampler.js';
import { prepareSet } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface PeakEwmaOptions {
  /** Candidates drawn per pick, 2..10. Default 2. */
  choices?: number;
}

/** Cost of an endpoint with requests in flight but no latency sample yet (Finagle's penalty). */
const PENALTY = 1e6;

/**
 * Finagle/Linkerd P2C + peak EWMA: cost = peakEwmaLatency × (inFlight / weight + 1 / meanWeight),
 * lower wins, candidates drawn by weight, the first draw winning ties. With equal weights this is
 * Finagle's latency × (inFlight + 1); with unequal ones, hosts loaded in proportion to their weight
 * cost the same, so shares follow weights (dividing the whole cost by the weight counted it twice).
 * Latency comes from `latencyOf` (the balancer's shared endpoint stats keep the decaying peak EWMA),
 * load from `loadOf`. An endpoint with no sample yet costs 0 when idle and a large penalty when busy.
 */
export function peakEwmaPicker<T extends ServiceInstance = ServiceInstance>(
  config: PeakEwmaOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('peakEwma', config);
  const choices = validateChoices('peakEwma.choices', config.choices ?? 2);
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const loadOf = options?.loadOf;
    const latencyOf = options?.latencyOf;
    const { weights } = set;
    const unit = set.positive > 0 ? set.positive / set.totalWeight : 1;
    const pick = createP2cPick(set, choices, (i) => {
      const inst = instances[i] as T;
      const load = loadOf ? loadOf(inst, i) : 0;
      const latency = latencyOf ? latencyOf(inst, i) : 0;
      const w = weights[i] as number;
      return latency > 0 ? latency * (load / w + unit) : load === 0 ? 0 : (PENALTY + load) / w;
    });
    return { name: 'peak-ewma', size: instances.length, pick };
  };
}
