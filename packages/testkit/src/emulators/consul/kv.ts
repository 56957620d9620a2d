import { HttpError } from './http-error.js';
import type { ConsulState, KvEntry } from './state.js';

export interface KvReadResult {
  status: number;
  index: number;
  body: unknown;
  raw?: Buffer | undefined;
}

/** `/v1/kv/:key` GET: single key, `recurse`, `keys` (+`separator`), `raw`. 404 when nothing matches. */
export function kvRead(state: ConsulState, key: string, q: URLSearchParams): KvReadResult {
  if (q.has('keys')) {
    const sep = q.get('separator') ?? '';
    const names = new Set<string>();
    for (const k of state.kv.keys()) {
      if (!k.startsWith(key)) continue;
      const rest = k.slice(key.length);
      const cut = sep ? rest.indexOf(sep) : -1;
      names.add(cut >= 0 ? key + rest.slice(0, cut + sep.length) : k);
    }
    const index = prefixIndex(state, key);
    if (names.size === 0) return { status: 404, index, body: undefined };
    return { status: 200, index, body: [...names].sort() };
  }
  if (q.has('recurse')) {
    const entries = [...state.kv.values()]
      .filter((e) => e.Key.startsWith(key))
      .sort((a, b) => (a.Key < b.Key ? -1 : 1));
    const index = prefixIndex(state, key);
    if (entries.length === 0) return { status: 404, index, body: undefined };
    return { status: 200, index, body: entries.map(entryJson) };
  }
  const e = state.kv.get(key);
  if (!e) return { status: 404, index: state.tombstones.get(key) ?? state.kvIndex, body: undefined };
  if (q.has('raw'))
    return { status: 200, index: e.ModifyIndex, body: undefined, raw: e.Value ?? Buffer.alloc(0) };
  return { status: 200, index: e.ModifyIndex, body: [entryJson(e)] };
}

/** `/v1/kv/:key` PUT with `flags`, `cas`, `acquire`, `release`. Returns Consul's `true`/`false`. */
export function kvWrite(state: ConsulState, key: string, q: URLSearchParams, value: Buffer): boolean {
  if (!key) throw new HttpError(400, 'Missing key name');
  const existing = state.kv.get(key);
  const flags = q.has('flags') ? Number(q.get('flags')) : (existing?.Flags ?? 0);
  if (!Number.isInteger(flags) || flags < 0) throw new HttpError(400, 'Invalid flags');
  if (q.has('cas')) {
    const cas = Number(q.get('cas'));
    if (!Number.isInteger(cas) || cas < 0) throw new HttpError(400, 'Invalid cas index');
    if (cas === 0 ? existing !== undefined : existing?.ModifyIndex !== cas) return false;
  }
  const acquire = q.get('acquire');
  const release = q.get('release');
  let session = existing?.Session;
  let lockIndex = existing?.LockIndex ?? 0;
  if (acquire !== null) {
    if (!state.sessions.has(acquire)) throw new HttpError(500, `invalid session "${acquire}"`);
    if (session !== undefined && session !== acquire) return false;
    if (session !== acquire) {
      const until = state.lockDelays.get(key);
      if (until !== undefined && until > Date.now()) return false;
      lockIndex++;
    }
    session = acquire;
  } else if (release !== null) {
    if (session !== release) return false;
    session = undefined;
  }
  const idx = state.nextIndex();
  state.kv.set(key, {
    Key: key,
    Flags: flags,
    Value: value.length > 0 ? value : null,
    Session: session,
    LockIndex: lockIndex,
    CreateIndex: existing?.CreateIndex ?? idx,
    ModifyIndex: idx,
  });
  state.tombstones.delete(key);
  state.kvIndex = idx;
  state.changed();
  return true;
}

/** `/v1/kv/:key` DELETE with `recurse` or `cas`. */
export function kvDelete(state: ConsulState, key: string, q: URLSearchParams): boolean {
  const keys = q.has('recurse') ? [...state.kv.keys()].filter((k) => k.startsWith(key)) : [key];
  if (q.has('cas') && !q.has('recurse')) {
    const cas = Number(q.get('cas'));
    const e = state.kv.get(key);
    if (!e || e.ModifyIndex !== cas) return !e && cas === 0;
  }
  const present = keys.filter((k) => state.kv.has(k));
  if (present.length === 0) return true;
  deleteKeys(state, present);
  state.changed();
  return true;
}

/** Deletes keys at one new index and leaves tombstones (used by session `delete` behaviour too). */
export function deleteKeys(state: ConsulState, keys: string[]): void {
  const idx = state.nextIndex();
  for (const k of keys) {
    state.kv.delete(k);
    state.tombstones.set(k, idx);
  }
  state.kvIndex = idx;
}

function prefixIndex(state: ConsulState, prefix: string): number {
  let max = 0;
  for (const e of state.kv.values()) if (e.Key.startsWith(prefix) && e.ModifyIndex > max) max = e.ModifyIndex;
  for (const [k, idx] of state.tombstones) if (k.startsWith(prefix) && idx > max) max = idx;
  return max || state.kvIndex;
}

function entryJson(e: KvEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: e.Value === null ? null : e.Value.toString('base64'),
    CreateIndex: e.CreateIndex,
    ModifyIndex: e.ModifyIndex,
  };
  if (e.Session !== undefined) out.Session = e.Session;
  return out;
}
