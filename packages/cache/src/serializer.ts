/** How values become the strings stores hold. Each value is serialised once per write. */
export interface Serializer {
  serialize(value: unknown): string;
  deserialize(text: string): unknown;
}

/** The default: `JSON.stringify` / `JSON.parse` (so `Date` reads back as a string, as in every JSON cache). */
export const jsonSerializer: Serializer = Object.freeze({
  serialize: (value: unknown) => JSON.stringify(value),
  deserialize: (text: string) => JSON.parse(text) as unknown,
});

export function isSerializer(value: unknown): boolean {
  const s = value as Partial<Serializer> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.serialize === 'function' &&
    typeof s.deserialize === 'function'
  );
}
