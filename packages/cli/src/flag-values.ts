import { usageError } from './exit-codes.js';

/** An integer flag (`--interval`, `--count`, `--port`…): a usage error naming the flag otherwise. */
export function integerFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw usageError(flag, `must be an integer in [${min}, ${max}] (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** Repeated `--meta k=v` flags as a record. */
export function keyValueFlags(flag: string, values: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0) throw usageError(flag, `expected key=value (got ${JSON.stringify(v)})`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/** Collects a repeatable option into an array (commander's argParser). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
