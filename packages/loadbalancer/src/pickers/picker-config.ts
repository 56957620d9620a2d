import { invalidArgument } from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import { PKG } from '../weights/prepared-set.js';

/** Any value: the picker's own range check follows (types and unknown keys are checked here). */
const passNumber = opt.custom((v, at) => {
  if (typeof v !== 'number') throw invalidArgument(at.pkg, at.field, `must be a number, got ${typeof v}`);
  return v;
});
const metadataKey = opt.string({ maxLength: 128 });

const SCHEMAS = {
  leastRequest: { choices: passNumber },
  peakEwma: { choices: passNumber },
  ringHash: { vnodes: passNumber, maxPoints: passNumber, hashKeyMetadata: metadataKey },
  boundedLoad: {
    vnodes: passNumber,
    maxPoints: passNumber,
    hashKeyMetadata: metadataKey,
    epsilon: passNumber,
  },
  maglev: { tableSize: passNumber, hashKeyMetadata: metadataKey },
  rendezvous: { hashKeyMetadata: metadataKey },
  jumpHash: { shardMetadata: metadataKey, hashKeyMetadata: metadataKey },
} as const;

/**
 * Checks a picker factory's config object: a plain object (or undefined), no unknown key (with the
 * nearest valid name), metadata keys non-empty strings, numbers numbers. Errors name
 * `<picker>.<option>` (`maglev.hashKeyMetadata`).
 */
export function checkPickerConfig(picker: keyof typeof SCHEMAS, config: unknown): void {
  parseOptions(PKG, config, SCHEMAS[picker], picker);
}
