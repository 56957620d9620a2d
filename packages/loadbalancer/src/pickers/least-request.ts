import type { PickerBuilder, ServiceInstance } from '@switchyard/core';
import { createP2cPick, validateChoices } from '../weights/p2c-sampler.js';
import { prepareSet } from '../weights/prepared-set.js';
import { checkPickerConfig } from './picker-config.js';

export interface LeastRequestOptions {
  /** Candidates drawn per pick (power of d choices), 2..10. Default 2. */
  choices?: number;
}

/**
 * Least request with power-of-two choices (Envoy LEAST_REQUEST, gRPC A48): draw two candidates by
 * weight and keep the one with fewer in-flight requests per unit of weight (`loadOf` / weight); on
 * a tie (every idle host ties at 0) the first draw wins, so an idle fleet gets exactly the weighted
 * shares. (Scoring `(load + 1) / weight` as before counted the weight twice: drawn by weight, then
 * preferred by weight, a weight-4 host took 30 % where its share is 17 %.)
 */
export function leastRequestPicker<T extends ServiceInstance = ServiceInstance>(
  config: LeastRequestOptions = {},
): PickerBuilder<T> {
  checkPickerConfig('leastRequest', config);
  const choices = validateChoices('leastRequest.choices', config.choices ?? 2);
  return (instances, options) => {
    const set = prepareSet(instances, options);
    const loadOf = options?.loadOf;
    const { weights } = set;
    const pick = createP2cPick(set, choices, (i) =>
      loadOf ? loadOf(instances[i] as T, i) / (weights[i] as number) : 0,
    );
    return { name: 'least-request', size: instances.length, pick };
  };
}
