import { invalidArgument } from '../errors.js';
import { type Backoff, type BackoffOptions, fullJitterBackoff } from '../primitives/backoff.js';
import type { Clock } from '../primitives/clock.js';
import {
  assertBoolean,
  assertClock,
  assertDuration,
  assertFunction,
  assertInteger,
  assertNonEmptyString,
  assertNumberInRange,
  assertOneOf,
  assertPlainObject,
  assertSignal,
  assertUrl,
  assertWait,
  describe,
} from '../validation.js';
import { nearestName } from './nearest-name.js';

/** Where a value sits: the package reporting it and the option path (`watchBackoff.base`). */
export interface OptionPath {
  readonly pkg: string;
  readonly field: string;
}

type Check<T> = (value: unknown, at: OptionPath) => T;

/**
 * One option: how to check a given value, and what an omitted one becomes. Built with the `opt`
 * helpers; `parseOptions` runs a whole schema and rejects unknown keys.
 */
export class Option<T> {
  readonly #check: Check<unknown>;
  readonly #fallback: ((at: OptionPath) => unknown) | undefined;

  private constructor(check: Check<unknown>, fallback: ((at: OptionPath) => unknown) | undefined) {
    this.#check = check;
    this.#fallback = fallback;
  }

  /** An optional option checked by `check` when given (omitted → `undefined`). */
  static of<T>(check: Check<T>): Option<T | undefined> {
    return new Option<T | undefined>(check, undefined);
  }

  parse(value: unknown, at: OptionPath): T {
    if (value === undefined) return this.#fallback?.(at) as T;
    return this.#check(value, at) as T;
  }

  /** The value used when the option is omitted (not re-checked). */
  default<D extends Exclude<T, undefined>>(value: D | (() => D)): Option<Exclude<T, undefined>> {
    const make = typeof value === 'function' ? (value as () => D) : () => value;
    return new Option<Exclude<T, undefined>>(this.#check, make);
  }

  /** Omitting the option is an error. */
  required(): Option<Exclude<T, undefined>> {
    return new Option<Exclude<T, undefined>>(this.#check, (at) => {
      throw invalidArgument(at.pkg, at.field, 'is required');
    });
  }

  /** An extra check run on a given (not defaulted) value after the base check. */
  refine(extra: (value: Exclude<T, undefined>, at: OptionPath) => void): Option<T> {
    const base = this.#check;
    return new Option<T>((value, at) => {
      const checked = base(value, at) as Exclude<T, undefined>;
      extra(checked, at);
      return checked;
    }, this.#fallback);
  }
}

export type OptionSchema = Readonly<Record<string, Option<unknown>>>;
export type ParsedOptions<S extends OptionSchema> = {
  -readonly [K in keyof S]: S[K] extends Option<infer T> ? T : never;
};

/**
 * Checks an options object against a schema: every known option is checked (and defaulted), every
 * unknown key is rejected with `INVALID_ARGUMENT` naming it and suggesting the nearest known name.
 * `undefined` counts as `{}`; a value that is not a plain object is rejected.
 */
export function parseOptions<S extends OptionSchema>(
  pkg: string,
  input: unknown,
  schema: S,
  path = '',
): ParsedOptions<S> {
  const label = path === '' ? 'options' : path;
  const source = input === undefined ? {} : assertPlainObject(pkg, label, input);
  const known = Object.keys(schema);
  for (const key of Object.keys(source)) {
    if (Object.hasOwn(schema, key)) continue;
    const near = nearestName(key, known);
    const field = path === '' ? key : `${path}.${key}`;
    throw invalidArgument(
      pkg,
      field,
      `is not a known option${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const field = path === '' ? key : `${path}.${key}`;
    out[key] = schema[key]!.parse((source as Record<string, unknown>)[key], { pkg, field });
  }
  return out as ParsedOptions<S>;
}

/** Rejects options that exclude each other (`client` with `url`) and requires one of them when asked. */
export function exclusiveOptions(
  pkg: string,
  options: Record<string, unknown>,
  keys: readonly string[],
  { required = false }: { required?: boolean } = {},
): string | undefined {
  const given = keys.filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    throw invalidArgument(pkg, given[1]!, `must not be given together with ${given[0]}`);
  }
  if (required && given.length === 0) {
    // Named after the last key (the connection string: `url`, `hosts`), the one most users give.
    const last = keys[keys.length - 1]!;
    throw invalidArgument(pkg, last, `is required (or ${keys.slice(0, -1).join(' or ')})`);
  }
  return given[0];
}

/** Option builders. Each returns an optional `Option`; chain `.default(v)` or `.required()`. */
/** `[http(s)://]host:port`: a hostname, IPv4 or bracketed IPv6 address and a port. */
const ENDPOINT = /^(https?:\/\/)?[A-Za-z0-9.[\]:_-]+:\d{1,5}$/;

export const opt = {
  /** Milliseconds: finite, > 0 (or >= 0 with `allowZero`), within `min`..`max` (default max 30 days). */
  duration(bounds: { min?: number; max?: number; allowZero?: boolean } = {}): Option<number | undefined> {
    return Option.of((v, p) => assertDuration(p.pkg, p.field, v, bounds));
  },
  /** A wait bound: >= 0 ms or `Infinity`. */
  wait(): Option<number | undefined> {
    return Option.of((v, p) => assertWait(p.pkg, p.field, v));
  },
  integer(min: number, max = Number.MAX_SAFE_INTEGER): Option<number | undefined> {
    return Option.of((v, p) => assertInteger(p.pkg, p.field, v, min, max));
  },
  number(min: number, max: number): Option<number | undefined> {
    return Option.of((v, p) => assertNumberInRange(p.pkg, p.field, v, min, max));
  },
  boolean(): Option<boolean | undefined> {
    return Option.of((v, p) => assertBoolean(p.pkg, p.field, v));
  },
  string(limits: { maxLength?: number; pattern?: RegExp; hint?: string } = {}): Option<string | undefined> {
    return Option.of((v, p) => {
      const s = assertNonEmptyString(p.pkg, p.field, v, limits.maxLength);
      if (limits.pattern && !limits.pattern.test(s)) {
        throw invalidArgument(
          p.pkg,
          p.field,
          `must be ${limits.hint ?? `like ${limits.pattern}`}, got ${describe(s)}`,
        );
      }
      return s;
    });
  },
  oneOf<const T extends string>(values: readonly T[]): Option<T | undefined> {
    return Option.of((v, p) => assertOneOf(p.pkg, p.field, v, values));
  },
  func<F extends (...args: never[]) => unknown>(): Option<F | undefined> {
    return Option.of((v, p) => assertFunction<F>(p.pkg, p.field, v));
  },
  clock(): Option<Clock | undefined> {
    return Option.of((v, p) => assertClock(p.pkg, p.field, v));
  },
  signal(): Option<AbortSignal | undefined> {
    return Option.of((v, p) => assertSignal(p.pkg, p.field, v) as AbortSignal);
  },
  /** A URL string whose protocol is one of `protocols` (e.g. `['redis:', 'rediss:']`). */
  url(protocols: readonly string[]): Option<string | undefined> {
    return Option.of((v, p) => assertUrl(p.pkg, p.field, v, protocols));
  },
  /**
   * Server endpoints: one `host:port` (optionally `http://` / `https://`) string or a non-empty array
   * of them, e.g. etcd `hosts`. Always parsed to an array; a bad item is named by index.
   */
  endpoints(example = 'http://127.0.0.1:2379'): Option<string[] | undefined> {
    return Option.of((v, p) => {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || list.length === 0) {
        throw invalidArgument(p.pkg, p.field, 'must be an endpoint string or a non-empty array of them');
      }
      return list.map((h, i) => {
        if (typeof h !== 'string' || !ENDPOINT.test(h)) {
          throw invalidArgument(
            p.pkg,
            `${p.field}[${i}]`,
            `must be an endpoint like ${example}, got ${describe(h)}`,
          );
        }
        return h;
      });
    });
  },
  /** A nested options object with its own schema (paths read `parent.child`). */
  object<S extends OptionSchema>(schema: S): Option<ParsedOptions<S> | undefined> {
    return Option.of((v, p) => parseOptions(p.pkg, v, schema, p.field));
  },
  /** A plain object passed through unchecked (options of a client library, e.g. `redisOptions`). */
  bag<T extends object = Record<string, unknown>>(): Option<T | undefined> {
    return Option.of((v, p) => assertPlainObject(p.pkg, p.field, v) as T);
  },
  /** An object accepted by `test` (an injected client, a store), described for the error message. */
  instance<T>(test: (value: unknown) => boolean, description: string): Option<T | undefined> {
    return Option.of((v, p) => {
      if (!test(v)) throw invalidArgument(p.pkg, p.field, `must be ${description}, got ${describe(v)}`);
      return v as T;
    });
  },
  array<T>(
    item: Option<T>,
    limits: { min?: number; max?: number } = {},
  ): Option<Exclude<T, undefined>[] | undefined> {
    return Option.of((v, p) => {
      if (!Array.isArray(v)) throw invalidArgument(p.pkg, p.field, `must be an array, got ${describe(v)}`);
      if (limits.min !== undefined && v.length < limits.min) {
        throw invalidArgument(p.pkg, p.field, `must have at least ${limits.min} item(s), got ${v.length}`);
      }
      if (limits.max !== undefined && v.length > limits.max) {
        throw invalidArgument(p.pkg, p.field, `must have at most ${limits.max} items, got ${v.length}`);
      }
      return v.map((x, i) => {
        const field = `${p.field}[${i}]`;
        if (x === undefined) throw invalidArgument(p.pkg, field, 'must not be undefined');
        return item.parse(x, { pkg: p.pkg, field }) as Exclude<T, undefined>;
      });
    });
  },
  /** Core's full-jitter backoff, from `{ base, max, factor, random }` with per-use defaults. */
  backoff(defaults: BackoffOptions = {}): Option<Backoff> {
    const schema = {
      base: opt.duration().default(defaults.base ?? 100),
      max: opt.duration().default(defaults.max ?? 30_000),
      factor: opt.number(1, 100).default(defaults.factor ?? 2),
      random: opt.func<() => number>(),
    };
    return Option.of((v, p) => {
      const o = parseOptions(p.pkg, v, schema, p.field);
      if (o.max < o.base)
        throw invalidArgument(p.pkg, `${p.field}.max`, `must be >= base (${o.base} ms), got ${o.max}`);
      return fullJitterBackoff({ ...o, random: o.random ?? defaults.random });
    }).default(() => fullJitterBackoff(defaults));
  },
  /** Anything, checked by `check` (throw `invalidArgument(at.pkg, at.field, …)` on a bad value). */
  custom<T>(check: (value: unknown, at: OptionPath) => T): Option<T | undefined> {
    return Option.of(check);
  },
};
