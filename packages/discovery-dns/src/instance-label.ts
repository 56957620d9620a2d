import { createHash } from 'node:crypto';

const PLAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The DNS label of an instance id. An id that already is a lower-case hostname label is used as it
 * is; any other (upper case, `.`, `:`, `@`, too long) becomes a readable stem plus a hash of the id,
 * so two ids never share a label even though DNS compares names case-insensitively.
 */
export function instanceLabel(id: string): string {
  if (PLAIN_LABEL.test(id)) return id;
  const stem = id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return stem ? `${stem}-${hash}` : `i-${hash}`;
}
