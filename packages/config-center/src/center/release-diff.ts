import { isDeepStrictEqual } from 'node:util';

/** What changed between two sets of items. */
export interface ItemsDiff {
  added: Record<string, unknown>;
  removed: Record<string, unknown>;
  changed: Record<string, { from: unknown; to: unknown }>;
}

export function diffItems(from: Record<string, unknown>, to: Record<string, unknown>): ItemsDiff {
  const diff: ItemsDiff = { added: {}, removed: {}, changed: {} };
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) diff.added[k] = v;
    else if (!isDeepStrictEqual(from[k], v)) diff.changed[k] = { from: from[k], to: v };
  }
  for (const [k, v] of Object.entries(from)) if (!(k in to)) diff.removed[k] = v;
  return diff;
}

export function isEmptyDiff(d: ItemsDiff): boolean {
  return (
    Object.keys(d.added).length === 0 &&
    Object.keys(d.removed).length === 0 &&
    Object.keys(d.changed).length === 0
  );
}
