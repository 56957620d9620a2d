import type { DistributedLock, LockAdmin, LockInfo } from '@switchyard/core';
import type { ConsoleModule, ConsoleRequest, ConsoleRoute } from '../console-module.js';
import { badRequest, HttpError, notFound } from '../http/http-error.js';
import { AcquireRate, statsView } from './locks/lock-stats-view.js';
import { pageOf } from './paging.js';

/** A lock client with the operator API (every Switchyard lock backend is one). */
export type AdminLock = DistributedLock & LockAdmin;

/** Most held locks read from the backend per request (the page filters and pages them). */
export const LIST_LIMIT = 10_000;
/** How often the live stream re-reads the lock space, ms. */
export const REFRESH_MS = 2_000;

/** A held lock as the page shows it; `token` is the fencing token as a decimal string. */
export interface HeldLockView {
  readonly key: string;
  readonly owner: string;
  readonly token: string;
  /** ms left on the server-side TTL (-1: unknown). */
  readonly ttlLeft: number;
  readonly waiters: number;
  /** When this console first saw this holder (this key with this token): the age as far as it can tell. */
  readonly firstSeen: string;
}

/** Any C0 control character or DEL. */
function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 127) return true;
  }
  return false;
}

function checkKey(field: string, v: string, allowEmpty: boolean): string {
  if ((!allowEmpty && v === '') || v.length > 512 || hasControl(v)) {
    throw badRequest(
      field,
      `must be ${allowEmpty ? '' : 'a non-empty '}string of at most 512 characters without control characters`,
    );
  }
  return v;
}

/** The Locks page: held locks of one or more lock spaces, stats with wait percentiles, force-release. */
export function locksModule(spaces: Readonly<Record<string, AdminLock>>): ConsoleModule {
  const names = Object.keys(spaces).sort();
  const rates = new Map(names.map((n) => [n, new AcquireRate()]));
  const firstSeen = new Map<string, Map<string, string>>(names.map((n) => [n, new Map()]));

  const space = (req: ConsoleRequest): { name: string; lock: AdminLock } => {
    const name = req.params['space']!;
    const lock = Object.hasOwn(spaces, name) ? spaces[name] : undefined;
    if (!lock) throw notFound(`lock space ${JSON.stringify(name)}`);
    return { name, lock };
  };
  const keyOf = (req: ConsoleRequest) => checkKey('key', req.params['key']!, false);

  const view = (name: string, locks: readonly LockInfo[], fullListing = true): HeldLockView[] => {
    const seen = firstSeen.get(name)!;
    const now = new Date().toISOString();
    const live = new Set<string>();
    const out = locks.map((l) => {
      const id = `${l.key}\u0000${l.token}`;
      live.add(id);
      let at = seen.get(id);
      if (!at) {
        at = now;
        seen.set(id, at);
      }
      return {
        key: l.key,
        owner: l.owner,
        token: l.token.toString(),
        ttlLeft: l.ttlLeft,
        waiters: l.waiters,
        firstSeen: at,
      };
    });
    // Forget holders no longer listed (a full listing only; a capped one may have left some out).
    if (fullListing && locks.length < LIST_LIMIT)
      for (const id of seen.keys()) if (!live.has(id)) seen.delete(id);
    return out;
  };

  const held = async (req: ConsoleRequest) => {
    const { name, lock } = space(req);
    const prefix = checkKey('prefix', req.query.get('prefix') ?? '', true);
    const page0 = pageOf([], req.query); // validates offset / limit before the backend is asked
    const all = view(name, await lock.list({ signal: req.signal, limit: LIST_LIMIT }))
      .filter((l) => l.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const page = pageOf(all, req.query, page0.limit);
    return {
      space: name,
      locks: page.items,
      total: page.total,
      offset: page.offset,
      limit: page.limit,
      at: new Date().toISOString(),
    };
  };
  const stats = (name: string, lock: AdminLock) => statsView(lock.stats(), rates.get(name)!);

  /** The holder a force-release would take the lock from: 404 when free, 409 when the token moved on. */
  const holder = async (req: ConsoleRequest): Promise<LockInfo> => {
    const { name, lock } = space(req);
    const key = keyOf(req);
    const expected = req.body['token'];
    if (expected !== undefined && (typeof expected !== 'string' || !/^\d{1,40}$/.test(expected))) {
      throw badRequest('token', 'must be the fencing token as a decimal string, or omitted');
    }
    const info = await lock.inspect(key, { signal: req.signal });
    if (!info) throw new HttpError(404, 'NOT_FOUND', `lock ${key} in ${name} is not held`);
    if (expected !== undefined && info.token.toString() !== expected) {
      throw new HttpError(
        409,
        'CONFLICT',
        `lock ${key} is now held by ${info.owner} with token ${info.token}, not token ${expected}: look again`,
        { owner: info.owner, token: info.token.toString() },
      );
    }
    return info;
  };
  const left = (ms: number) => (ms < 0 ? 'TTL unknown' : `${(ms / 1000).toFixed(1)} s left`);

  const routes: ConsoleRoute[] = [
    {
      method: 'GET',
      pattern: '/api/locks',
      handle: async () => ({
        spaces: names.map((n) => ({
          name: n,
          backend: spaces[n]!.name,
          capabilities: spaces[n]!.capabilities,
        })),
        refreshMs: REFRESH_MS,
      }),
    },
    { method: 'GET', pattern: '/api/locks/:space/held', handle: held },
    {
      method: 'GET',
      pattern: '/api/locks/:space/held/:key',
      async handle(req) {
        const { name, lock } = space(req);
        const key = keyOf(req);
        const info = await lock.inspect(key, { signal: req.signal });
        if (!info) throw new HttpError(404, 'NOT_FOUND', `lock ${key} in ${name} is not held`);
        return view(name, [info], false)[0];
      },
    },
    {
      method: 'GET',
      pattern: '/api/locks/:space/stats',
      handle: async (req) => {
        const { name, lock } = space(req);
        return { space: name, stats: stats(name, lock) };
      },
    },
    {
      // One stream per page view: the held-locks page and the stats, every REFRESH_MS.
      method: 'GET',
      pattern: '/api/locks/:space/live',
      async stream(req, send) {
        const { name, lock } = space(req);
        await held(req); // a bad prefix / offset / limit fails before the stream starts sending
        while (!req.signal.aborted) {
          try {
            send({ held: await held(req), stats: stats(name, lock) });
          } catch (error) {
            if (req.signal.aborted) return;
            throw error;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, REFRESH_MS);
            req.signal.addEventListener('abort', () => {
              clearTimeout(t);
              resolve();
            });
          });
        }
      },
    },
    {
      method: 'POST',
      pattern: '/api/locks/:space/held/:key/force-release',
      mutation: {
        target: (req) => `lock ${req.params['key']} in ${req.params['space']}`,
        async preview(req) {
          const info = await holder(req);
          return {
            summary: `force-release ${info.key} held by ${info.owner} (token ${info.token}, ${left(info.ttlLeft)}); its holder's lease is told it was lost`,
            details: {
              space: space(req).name,
              key: info.key,
              owner: info.owner,
              token: info.token.toString(),
              ttlLeft: info.ttlLeft,
              waiters: info.waiters,
              effect:
                info.waiters > 0
                  ? `one of ${info.waiters} waiter(s) acquires it next; fencing tokens keep increasing`
                  : 'the lock becomes free; fencing tokens keep increasing',
            },
          };
        },
        requireReason: true,
      },
      async handle(req) {
        const { lock } = space(req);
        const info = await holder(req);
        const released = await lock.forceRelease(info.key, { signal: req.signal });
        return { key: info.key, owner: info.owner, token: info.token.toString(), released };
      },
    },
  ];
  return { name: 'locks', title: 'Locks', routes };
}
