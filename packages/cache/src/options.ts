import { assertDuration, assertNonEmptyString, invalidArgument } from '@switchyard/core';
import { type OptionPath, opt } from '@switchyard/core/driver';

/** A TTL: ms > 0, or `Infinity` for no expiry. */
export const ttlOption = () =>
  opt.custom((v, at: OptionPath) =>
    v === Number.POSITIVE_INFINITY ? v : assertDuration(at.pkg, at.field, v),
  );

/** A grace period: ms >= 0, or `Infinity`. */
export const graceOption = () =>
  opt.custom((v, at: OptionPath) =>
    v === Number.POSITIVE_INFINITY ? v : assertDuration(at.pkg, at.field, v, { allowZero: true }),
  );

export function assertTag(pkg: string, field: string, v: unknown): string {
  const s = assertNonEmptyString(pkg, field, v, 256);
  if (s.includes(',') || s.includes('|') || s.includes('\u0000'))
    throw invalidArgument(pkg, field, 'must not contain "," "|" or NUL');
  return s;
}

export const tagsOption = () =>
  opt.custom((v, at: OptionPath) => {
    if (!Array.isArray(v)) throw invalidArgument(at.pkg, at.field, 'must be an array of tag strings');
    return v.map((t, i) => assertTag(at.pkg, `${at.field}[${i}]`, t));
  });

export const WRITE_SCHEMA = {
  ttl: ttlOption(),
  grace: graceOption(),
  tags: tagsOption(),
  signal: opt.signal(),
};

export const GET_OR_SET_SCHEMA = {
  ...WRITE_SCHEMA,
  softTimeout: opt.duration({ allowZero: true }),
  hardTimeout: opt.wait(),
  negativeTtl: opt.duration(),
  earlyRefresh: opt.number(0, 100),
  lock: opt.boolean(),
};

export const GET_SCHEMA = { allowStale: opt.boolean(), signal: opt.signal() };
export const SIGNAL_SCHEMA = { signal: opt.signal() };

export const WARM_SCHEMA = {
  ttl: ttlOption(),
  grace: graceOption(),
  tags: tagsOption(),
  concurrency: opt.integer(1, 1024).default(8),
  force: opt.boolean().default(false),
  signal: opt.signal(),
};

export const NAMESPACE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
