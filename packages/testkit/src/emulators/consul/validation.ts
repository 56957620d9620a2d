import { HttpError } from './http-error.js';

/** agent/structs: the limits Consul puts on service `Meta`. */
export const META_LIMITS = Object.freeze({
  pairs: 64,
  keyLength: 128,
  valueLength: 512,
  reservedPrefix: 'consul-',
});

const META_KEY = /^[a-zA-Z0-9_-]+$/;

/**
 * `structs.ValidateServiceMetadata` as the agent's register endpoint runs it: at most 64 pairs,
 * keys of 1–128 `[a-zA-Z0-9_-]` not starting with `consul-`, values of at most 512 characters.
 * A violation is a 400 `Invalid Service Meta: …`.
 */
export function validateServiceMeta(meta: unknown): void {
  if (meta === undefined || meta === null) return;
  if (typeof meta !== 'object' || Array.isArray(meta))
    throw new HttpError(400, 'Request decode failed: Meta must be an object');
  const entries = Object.entries(meta as Record<string, unknown>);
  if (entries.length > META_LIMITS.pairs) {
    throw new HttpError(
      400,
      `Invalid Service Meta: Node metadata cannot contain more than ${META_LIMITS.pairs} key/value pairs`,
    );
  }
  for (const [key, value] of entries) {
    if (typeof value !== 'string')
      throw new HttpError(400, `Request decode failed: Meta.${key} must be a string`);
    const problem = metaPairProblem(key, value);
    if (problem) {
      throw new HttpError(
        400,
        `Invalid Service Meta: Couldn't load metadata pair('${key}', '${value}'): ${problem}`,
      );
    }
  }
}

function metaPairProblem(key: string, value: string): string | undefined {
  if (key === '') return 'Key cannot be blank';
  if (!META_KEY.test(key)) return 'Key contains invalid characters';
  if (key.length > META_LIMITS.keyLength)
    return `Key is too long (limit: ${META_LIMITS.keyLength} characters)`;
  if (key.startsWith(META_LIMITS.reservedPrefix))
    return `Key prefix '${META_LIMITS.reservedPrefix}' is reserved for internal use`;
  if (value.length > META_LIMITS.valueLength)
    return `Value is too long (limit: ${META_LIMITS.valueLength} characters)`;
  return undefined;
}
