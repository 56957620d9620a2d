import { invalidArgument } from '@switchyard/core';
import { opt } from '@switchyard/core/driver';
import { deregisterAfterOption } from './options.js';

/** An extra check the agent runs for an instance, besides the heartbeat TTL check. */
export interface CheckSpec {
  /** `http(s)://…` URL probed every `interval` (2xx passing, 429 warning, else critical). */
  http?: string;
  /** HTTP method for `http` (default GET). */
  method?: string;
  header?: Record<string, string[]>;
  /** `host:port` probed with a TCP connect every `interval`. */
  tcp?: string;
  /** Probe interval, ms (required, at least 1 000: Consul raises shorter ones to 1 s). */
  interval: number;
  /** Probe timeout, ms (default Consul's 10 s). */
  timeout?: number;
  /** Reap the instance after this check is critical this long, ms: 0 or ≥ 60 000. */
  deregisterCriticalServiceAfter?: number;
  name?: string;
  /**
   * Status until the first probe (default `critical`, Consul's). The agent waits a random stagger
   * of up to one `interval` before probing, so with the default an instance is invisible for up
   * to that long after `register`.
   */
  status?: 'passing' | 'warning' | 'critical';
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const CHECK_SCHEMA = {
  http: opt.url(['http:', 'https:']),
  method: opt.string({ maxLength: 16, pattern: /^[A-Z]+$/, hint: 'an upper-case HTTP method like GET' }),
  header: opt.custom((v, at) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw invalidArgument(at.pkg, at.field, 'must be an object of header name → string[]');
    for (const [k, values] of Object.entries(v)) {
      if (!HEADER_NAME.test(k) || !Array.isArray(values) || !values.every((x) => typeof x === 'string'))
        throw invalidArgument(at.pkg, `${at.field}.${k}`, 'must be a header name with an array of strings');
    }
    return v as Record<string, string[]>;
  }),
  tcp: opt.string({
    maxLength: 261,
    pattern: /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/,
    hint: 'host:port',
  }),
  interval: opt.duration({ min: 1000 }).required(),
  timeout: opt.duration(),
  deregisterCriticalServiceAfter: deregisterAfterOption(),
  name: opt.string({ maxLength: 256 }),
  status: opt.oneOf(['passing', 'warning', 'critical'] as const),
};

/** The per-`register` options of this backend (the kit adds `ttl` and `signal`). */
export const REGISTER_OPTIONS = {
  checks: opt.array(
    opt.object(CHECK_SCHEMA).refine((c, at) => {
      if ((c.http === undefined) === (c.tcp === undefined))
        throw invalidArgument(at.pkg, at.field, 'needs exactly one of http or tcp');
      if (c.tcp !== undefined && (c.method !== undefined || c.header !== undefined))
        throw invalidArgument(at.pkg, at.field, 'method and header apply to http checks only');
    }),
    { max: 32 },
  ),
  deregisterCriticalServiceAfter: deregisterAfterOption(),
};

export interface ConsulRegisterExtra {
  checks: CheckSpec[] | undefined;
  deregisterCriticalServiceAfter: number | undefined;
}
