/**
 * The Standard Schema v1 interface (standardschema.dev), copied so that no validator library is a
 * dependency: zod ≥ 3.24, valibot ≥ 1, arktype ≥ 2 objects all carry `~standard`.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The output type of a schema. */
export type InferOutput<S> = S extends StandardSchemaV1<unknown, infer O> ? O : Record<string, unknown>;

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const std = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return typeof std === 'object' && std !== null && typeof std.validate === 'function';
}

/** Runs a schema; resolves the parsed value or the issues as `path: message` strings. */
export async function validateWith(
  schema: StandardSchemaV1 | undefined,
  value: unknown,
): Promise<{ ok: true; value: unknown } | { ok: false; issues: string[] }> {
  if (!schema) return { ok: true, value };
  const result = await schema['~standard'].validate(value);
  if (result.issues) {
    return {
      ok: false,
      issues: result.issues.map((i) => {
        const path = (i.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
        return path ? `${path}: ${i.message}` : i.message;
      }),
    };
  }
  return { ok: true, value: result.value };
}
