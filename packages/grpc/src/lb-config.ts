import type { experimental } from '@grpc/grpc-js';
import type { PickerBuilder } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import {
  type CircuitBreakerOptions,
  leastRequestPicker,
  maglevPicker,
  type OutlierDetectionOptions,
  peakEwmaPicker,
  randomPicker,
  ringHashPicker,
  roundRobinPicker,
} from '@switchyard/loadbalancer';
import { PKG, POLICY } from './constants.js';

const PICKERS: Record<string, () => PickerBuilder> = {
  least_request: () => leastRequestPicker(),
  round_robin: () => roundRobinPicker(),
  peak_ewma: () => peakEwmaPicker(),
  ring_hash: () => ringHashPicker(),
  maglev: () => maglevPicker(),
  random: () => randomPicker(),
};

export type SwitchyardPickerName = keyof typeof PICKERS;

/** The `switchyard` entry of a service config's `loadBalancingConfig` (JSON). */
export interface SwitchyardLbJson {
  /** `least_request` (default), `round_robin`, `peak_ewma`, `ring_hash`, `maglev`, `random`. */
  picker?: string;
  /** Metadata key whose value is the request key (ring hash / maglev affinity). */
  hashMetadata?: string;
  /** Per-instance breaker options, or false. */
  breaker?: CircuitBreakerOptions | false;
  /** Outlier ejection options, or false. */
  outlierDetection?: OutlierDetectionOptions | false;
}

const KEYS = new Set(['picker', 'hashMetadata', 'breaker', 'outlierDetection']);

export class SwitchyardLbConfig implements experimental.TypedLoadBalancingConfig {
  readonly json: SwitchyardLbJson;
  readonly pickerName: string;
  readonly hashMetadata: string | undefined;

  constructor(json: SwitchyardLbJson = {}) {
    if (typeof json !== 'object' || json === null) throw invalidArgument(PKG, POLICY, 'must be an object');
    for (const k of Object.keys(json))
      if (!KEYS.has(k))
        throw invalidArgument(PKG, `${POLICY}.${k}`, `is not an option (${[...KEYS].join(', ')})`);
    const picker = json.picker ?? 'least_request';
    if (!(picker in PICKERS))
      throw invalidArgument(
        PKG,
        `${POLICY}.picker`,
        `must be one of ${Object.keys(PICKERS).join(', ')}, got ${JSON.stringify(picker)}`,
      );
    if (
      json.hashMetadata !== undefined &&
      (typeof json.hashMetadata !== 'string' || !/^[a-z0-9_.-]{1,64}$/.test(json.hashMetadata))
    )
      throw invalidArgument(PKG, `${POLICY}.hashMetadata`, 'must be a lower-case metadata key');
    for (const k of ['breaker', 'outlierDetection'] as const) {
      const v = json[k];
      // Field-level checks happen when the policy builds its balancer (same option parser, same messages).
      if (v !== undefined && v !== false && (typeof v !== 'object' || v === null || Array.isArray(v)))
        throw invalidArgument(PKG, `${POLICY}.${k}`, 'must be an options object or false');
    }
    this.json = json;
    this.pickerName = picker;
    this.hashMetadata = json.hashMetadata;
  }

  picker(): PickerBuilder {
    return PICKERS[this.pickerName]!();
  }

  getLoadBalancerName(): string {
    return POLICY;
  }

  toJsonObject(): object {
    return { [POLICY]: this.json };
  }

  static createFromJson(obj: unknown): SwitchyardLbConfig {
    return new SwitchyardLbConfig(obj as SwitchyardLbJson);
  }
}
