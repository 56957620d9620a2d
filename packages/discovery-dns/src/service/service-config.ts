import { readFileSync } from 'node:fs';
import { isSwitchyardError, SwitchyardError } from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import yaml from 'js-yaml';
import { PKG } from '../package-name.js';

/** The process configuration (seed 004): a YAML file, then `SWITCHYARD_<SECTION>_<KEY>` variables. */
export interface ServiceConfig {
  dns: {
    zone: string;
    host: string;
    port: number;
    ttl: number;
    negativeTtl: number;
    upstreams: string[];
    healthy: ('passing' | 'warning' | 'critical' | 'maintenance')[];
  };
  http: { enabled: boolean; host: string; port: number; ttl: number };
  registry: { backend: 'memory' };
}

const SCHEMA = {
  dns: opt
    .object({
      zone: opt.string({ maxLength: 200 }).required(),
      host: opt.string({ maxLength: 64 }).default('127.0.0.1'),
      port: opt.integer(0, 65_535).default(5300),
      ttl: opt.duration({ allowZero: true }).default(5_000),
      negativeTtl: opt.duration({ allowZero: true }).default(5_000),
      upstreams: opt.array(opt.string({ maxLength: 64 })).default([]),
      healthy: opt
        .array(opt.oneOf(['passing', 'warning', 'critical', 'maintenance'] as const), { min: 1 })
        .default(['passing']),
    })
    .required(),
  http: opt
    .object({
      enabled: opt.boolean().default(true),
      host: opt.string({ maxLength: 64 }).default('127.0.0.1'),
      port: opt.integer(0, 65_535).default(8053),
      ttl: opt.duration({ min: 1_000 }).default(10_000),
    })
    .default({ enabled: true, host: '127.0.0.1', port: 8053, ttl: 10_000 }),
  registry: opt
    .object({ backend: opt.oneOf(['memory'] as const).default('memory') })
    .default({ backend: 'memory' }),
};

/** `SWITCHYARD_DNS_NEGATIVE_TTL` → dns.negativeTtl: how each key is spelled in the environment. */
const envName = (section: string, key: string) =>
  `SWITCHYARD_${section.toUpperCase()}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

const ENV_KEYS: Record<string, Record<string, 'string' | 'number' | 'list' | 'boolean'>> = {
  dns: {
    zone: 'string',
    host: 'string',
    port: 'number',
    ttl: 'number',
    negativeTtl: 'number',
    upstreams: 'list',
    healthy: 'list',
  },
  http: { enabled: 'boolean', host: 'string', port: 'number', ttl: 'number' },
  registry: { backend: 'string' },
};

/** Reads, merges and validates the configuration; errors are `INVALID_ARGUMENT` naming the field and its source. */
export function loadServiceConfig(
  options: { file?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): ServiceConfig {
  const env = options.env ?? process.env;
  let raw: Record<string, Record<string, unknown>> = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      throw new SwitchyardError('INVALID_ARGUMENT', `[${PKG}] config file ${options.file} cannot be read`, {
        field: 'config',
        cause: e,
      });
    }
    let parsed: unknown;
    try {
      parsed = yaml.load(text) ?? {};
    } catch (e) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] config file ${options.file} is not valid YAML: ${(e as Error).message}`,
        {
          field: 'config',
          cause: e,
        },
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] config file ${options.file} must hold a mapping`,
        { field: 'config' },
      );
    }
    raw = structuredClone(parsed) as Record<string, Record<string, unknown>>;
  }
  const fromEnv = new Map<string, string>();
  for (const [section, keys] of Object.entries(ENV_KEYS)) {
    for (const [key, kind] of Object.entries(keys)) {
      const name = envName(section, key);
      const value = env[name];
      if (value === undefined || value === '') continue;
      raw[section] ??= {};
      const s = raw[section] as Record<string, unknown>;
      s[key] =
        kind === 'number'
          ? Number(value)
          : kind === 'list'
            ? value
                .split(',')
                .map((v) => v.trim())
                .filter(Boolean)
            : kind === 'boolean'
              ? value === 'true' || value === '1'
                ? true
                : value === 'false' || value === '0'
                  ? false
                  : value
              : value;
      fromEnv.set(`${section}.${key}`, name);
    }
  }
  try {
    return parseOptions(PKG, raw, SCHEMA) as ServiceConfig;
  } catch (e) {
    if (isSwitchyardError(e, 'INVALID_ARGUMENT') && e.field) {
      const source =
        fromEnv.get(e.field.replace(/\[\d+\]$/, '')) ?? (options.file ? options.file : undefined);
      if (source)
        throw new SwitchyardError('INVALID_ARGUMENT', `${e.message} (from ${source})`, {
          field: e.field,
          cause: e,
        });
    }
    throw e;
  }
}
