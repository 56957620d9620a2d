import type { PickerBuilder } from '@switchyard/core';
import {
  boundedLoadPicker,
  jumpHashPicker,
  leastRequestPicker,
  maglevPicker,
  peakEwmaPicker,
  randomPicker,
  rendezvousPicker,
  ringHashPicker,
  roundRobinPicker,
  smoothWeightedRoundRobinPicker,
  weightedRandomPicker,
} from '../src/index.js';

/** Every hash-based picker, by name (a fresh builder per call). */
export const HASH_PICKERS: [string, () => PickerBuilder][] = [
  ['ring-hash', () => ringHashPicker()],
  ['maglev', () => maglevPicker()],
  ['rendezvous', () => rendezvousPicker()],
  ['jump-hash', () => jumpHashPicker()],
  ['bounded-load', () => boundedLoadPicker()],
];

/** Every picker the package ships, by name. */
export const ALL_PICKERS: [string, () => PickerBuilder][] = [
  ['round-robin', () => roundRobinPicker()],
  ['smooth-weighted-round-robin', () => smoothWeightedRoundRobinPicker()],
  ['random', () => randomPicker()],
  ['weighted-random', () => weightedRandomPicker()],
  ['least-request', () => leastRequestPicker()],
  ['peak-ewma', () => peakEwmaPicker()],
  ...HASH_PICKERS,
];
