/**
 * Key layout: every contender for `key` writes `<prefix>/<encoded key>/<lease id hex>-<seq>` on its
 * session lease. The user key is URI-encoded so `a` and `a/b` never share a directory.
 */

/** The directory (with trailing slash) holding every contender key of `key`. */
export function lockDir(prefix: string, key: string): string {
  return `${prefix}/${encodeURIComponent(key)}/`;
}

/** The contender key for one acquire attempt. */
export function contenderKey(dir: string, leaseHex: string, seq: number): string {
  return `${dir}${leaseHex}-${seq.toString(36)}`;
}

/** Splits a stored contender key back into its user key; `undefined` if it is not one of ours. */
export function parseContenderKey(prefix: string, stored: string): { key: string; dir: string } | undefined {
  if (!stored.startsWith(`${prefix}/`)) return undefined;
  const rest = stored.slice(prefix.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0 || rest.indexOf('/', slash + 1) !== -1) return undefined;
  try {
    const key = decodeURIComponent(rest.slice(0, slash));
    return { key, dir: lockDir(prefix, key) };
  } catch {
    return undefined;
  }
}
